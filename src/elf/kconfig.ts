// `.kconfig` externs (`extern int CONFIG_HZ __kconfig;`,
// LINUX_KERNEL_VERSION), resolved as libbpf does: every variable of the
// object's .kconfig DATASEC gets a slot in one read-only array map (largest
// alignment first, then smaller size, then name), filled from kernel-config
// values ("y", "m", "n", numbers, "quoted strings") typed by the extern's C
// type: bool, enum libbpf_tristate, char, integers, char arrays. A missing
// value is an error unless the extern is __weak, which reads as zero.

import type { Btf } from '../btf/btf.js';
import { BtfIntEncoding, BtfKind } from '../btf/types.js';
import { ElfError } from '../internal/errors.js';
import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG } from './maps.js';
import type { MapSpec } from './spec.js';

type KcfgType = 'bool' | 'tristate' | 'char' | 'int' | 'chars';

interface KcfgVar {
  readonly name: string;
  readonly type: KcfgType;
  readonly size: number;
  readonly align: number;
  readonly signed: boolean;
  offset: number;
}

/** Parse .config text: `CONFIG_X=value` lines; `# CONFIG_X is not set` means n. */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) {
      out.set(unset[1]!, 'n');
      continue;
    }
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** KERNEL_VERSION(a, b, c) from a release string ("6.12.9-amd64"), the patch level capped at 255 like libbpf. */
export function kernelVersionCode(release: string): number | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return undefined;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

/** libbpf's find_kcfg_type, with size, alignment and signedness. */
function classify(btf: Btf, typeId: number, name: string, file: string): Omit<KcfgVar, 'name' | 'offset'> {
  const t = btf.skipModifiers(typeId);
  const fail = (): ElfError => new ElfError(`extern (kcfg) '${name}': type ${btf.describe(typeId)} is not supported (bool, tristate, char, integers and char arrays are)`, file, '.kconfig');
  switch (t.kind) {
    case BtfKind.INT: {
      if ((t.encoding & BtfIntEncoding.BOOL) !== 0) {
        if (t.size !== 1) throw fail();
        return { type: 'bool', size: 1, align: 1, signed: false };
      }
      const signed = (t.encoding & BtfIntEncoding.SIGNED) !== 0;
      if (t.size === 1) return { type: 'char', size: 1, align: 1, signed };
      if (![2, 4, 8].includes(t.size)) throw fail();
      return { type: 'int', size: t.size, align: t.size, signed };
    }
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      if (t.name !== 'libbpf_tristate' || (t.kind === BtfKind.ENUM && t.size !== 4)) throw fail();
      return { type: 'tristate', size: t.size, align: t.size, signed: false };
    case BtfKind.ARRAY: {
      const e = btf.skipModifiers(t.type);
      if (t.nelems === 0 || e.kind !== BtfKind.INT || e.size !== 1 || (e.encoding & BtfIntEncoding.BOOL) !== 0) throw fail();
      return { type: 'chars', size: t.nelems, align: 1, signed: false };
    }
    default:
      throw fail();
  }
}

/** The .kconfig variables with libbpf's offsets, or undefined when the object declares none. */
function layout(btf: Btf, file: string): { vars: KcfgVar[]; size: number; datasecId: number } | undefined {
  const id = btf.idsByName('.kconfig').find((i) => btf.type(i).kind === BtfKind.DATASEC);
  if (id === undefined) return undefined;
  const sec = btf.type(id);
  if (sec.kind !== BtfKind.DATASEC) return undefined;
  const vars: KcfgVar[] = sec.vars.map((v) => {
    const variable = btf.type(v.type);
    if (variable.kind !== BtfKind.VAR) throw new ElfError(`.kconfig DATASEC entry ${v.type} is not a variable`, file, '.kconfig');
    return { name: variable.name, ...classify(btf, variable.type, variable.name, file), offset: 0 };
  });
  vars.sort((a, b) => b.align - a.align || a.size - b.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let off = 0;
  for (const v of vars) {
    v.offset = Math.ceil(off / v.align) * v.align;
    off = v.offset + v.size;
  }
  // Like libbpf, write the layout back into the DATASEC, so the map's BTF (printing, the kernel) agrees with it.
  const at = new Map(vars.map((v) => [v.name, v]));
  btf.replaceType({ ...sec, size: off, vars: sec.vars.map((v) => ({ ...v, offset: at.get(btf.type(v.type).name)!.offset, size: at.get(btf.type(v.type).name)!.size })) });
  return { vars, size: off, datasecId: id };
}

/** Write one value (libbpf's set_kcfg_value_tri/_str/_num). */
function store(v: KcfgVar, value: string, data: DataView, file: string): void {
  const fail = (why: string): ElfError => new ElfError(`extern (kcfg) '${v.name}': value '${value}' ${why}`, file, '.kconfig');
  const c = value[0];
  if (c === 'y' || c === 'n' || c === 'm') {
    if (v.type === 'bool') {
      if (c === 'm') throw fail('is a module, not a bool');
      data.setUint8(v.offset, c === 'y' ? 1 : 0);
    } else if (v.type === 'tristate') {
      data.setUint32(v.offset, c === 'y' ? 1 : c === 'm' ? 2 : 0, true);
    } else if (v.type === 'char') {
      data.setUint8(v.offset, c.charCodeAt(0));
    } else {
      throw fail('implies a tristate or char type');
    }
    return;
  }
  if (c === '"') {
    if (v.type !== 'chars') throw fail('implies a char array type');
    if (value.length < 2 || !value.endsWith('"')) throw fail('is not a complete string');
    const bytes = new TextEncoder().encode(value.slice(1, -1)).subarray(0, v.size - 1);
    for (let i = 0; i < bytes.length; i++) data.setUint8(v.offset + i, bytes[i]!);
    data.setUint8(v.offset + bytes.length, 0);
    return;
  }
  // strtoull base 0: decimal, 0x hex, leading-0 octal; a leading '-' wraps, as in C.
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(value);
  if (!m) throw fail('is not a number');
  const digits = m[2]!;
  let n = digits.length > 1 && digits[0] === '0' && digits[1] !== 'x' && digits[1] !== 'X' ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
  if (n > 0xffffffffffffffffn) throw fail('does not fit in 64 bits');
  if (m[1] === '-') n = BigInt.asUintN(64, -n);
  if (v.type !== 'int' && v.type !== 'char' && v.type !== 'bool') throw fail('implies an integer, char or bool type');
  if (v.type === 'bool' && n > 1n) throw fail('is not a bool');
  const bits = BigInt(v.size * 8);
  const fits = v.size === 8 || (v.signed ? n + (1n << (bits - 1n)) < 1n << bits : n >> bits === 0n);
  if (!fits) throw fail(`does not fit in ${v.size} bytes`);
  switch (v.size) {
    case 1: data.setUint8(v.offset, Number(n & 0xffn)); break;
    case 2: data.setUint16(v.offset, Number(n & 0xffffn), true); break;
    case 4: data.setUint32(v.offset, Number(n & 0xffffffffn), true); break;
    default: data.setBigUint64(v.offset, n, true);
  }
}

export interface KconfigMap {
  readonly spec: MapSpec;
  /** Byte offset of each extern in the map value. */
  readonly offsets: ReadonlyMap<string, number>;
}

/**
 * Build the .kconfig map from `values` (CONFIG_* and LINUX_* names). Only
 * externs some program uses must have a value unless weak; `weak` names the
 * externs declared __weak.
 */
export function kconfigMap(btf: Btf, values: ReadonlyMap<string, string>, used: ReadonlySet<string>, weak: ReadonlySet<string>, file: string): KconfigMap | undefined {
  const l = layout(btf, file);
  if (!l) return undefined;
  const initial = new Uint8Array(Math.max(l.size, 1));
  const data = new DataView(initial.buffer);
  for (const v of l.vars) {
    const value = values.get(v.name);
    if (value === undefined) {
      if (used.has(v.name) && !weak.has(v.name)) throw new ElfError(`extern (kcfg) '${v.name}': value not found (not in the kernel config given, and not __weak)`, file, '.kconfig');
      continue;
    }
    store(v, value, data, file);
  }
  return {
    spec: {
      // libbpf's .kconfig map: read-only for programs, mmapable, frozen after it is filled.
      name: '.kconfig', type: 'array', typeId: BPF_MAP_TYPE['array']!, keySize: 4, valueSize: initial.length, maxEntries: 1,
      flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE, pinning: 0, valueTypeId: l.datasecId, initial, frozen: true, section: '.kconfig', origin: 'data',
    },
    offsets: new Map(l.vars.map((v) => [v.name, v.offset])),
  };
}
