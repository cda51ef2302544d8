// tsbpf inspect FILE.o [--json]: what an object holds, as the loader sees it.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadObject } from '../elf/load.js';
import { KERNEL_BTF_PATH, readTargetBtf } from '../elf/target-btf.js';
import type { CoreReloSpec } from '../elf/spec.js';
import type { MapSpec, ObjectSpec } from '../elf/spec.js';
import { btfValue, toJsonText } from '../btf/print.js';
import { BtfKind } from '../btf/types.js';
import { ElfError, TsbpfError, UsageError } from '../internal/errors.js';
import { EXIT_OK, type Command } from './command.js';

const HELP = `usage: tsbpf inspect FILE.o [--json] [--btf FILE|kernel]

Load a BPF object file the way libbpf does and list its programs (name,
section, type, instruction count, license), maps (type, key/value size, max
entries, flags), global data, externs, CO-RE relocations and a BTF summary.

  --json        machine-readable output; type names as the kernel spells them
  --btf FILE    apply CO-RE relocations against this BTF (raw BTF, or an ELF
                file's .BTF section); 'kernel' means ${KERNEL_BTF_PATH}.
                Each relocation then shows the value patched in, or why its
                instruction was poisoned (call 0xbad2310, as libbpf does)

Exit status: 0 when the object loads, 1 with a one-line reason when it does not.`;

/** A 64-bit value as a JSON number when exact, else as a decimal string. */
function bigJson(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** One relocation line: what it asks for and, once applied, what it got. */
function coreLine(r: CoreReloSpec): string {
  const base = `  ${r.program} insn ${r.insn}: ${r.kindName} ${r.typeName} access ${r.access}`;
  if (!r.result) return base;
  return r.result.poisoned ? `${base} -> poisoned (${r.result.target})` : `${base} -> ${r.result.value} (${r.result.target})`;
}

/** The --json document. Keys use the kernel's snake_case, like bpftool. */
export function inspectJson(spec: ObjectSpec): Record<string, unknown> {
  const map = (m: MapSpec): Record<string, unknown> => ({
    name: m.name,
    type: m.type,
    key_size: m.keySize,
    value_size: m.valueSize,
    max_entries: m.maxEntries,
    flags: m.flags,
    ...(m.pinning ? { pinning: m.pinning } : {}),
    ...(m.innerMap ? { inner_map: map(m.innerMap) } : {}),
    ...(m.initValues ? { init_values: m.initValues.map((v) => ({ index: v.index, ...(v.map ? { map: v.map } : { program: v.program }) })) } : {}),
    section: m.section,
  });
  return {
    file: spec.file,
    endianness: spec.endianness,
    license: spec.license,
    gpl_compatible: spec.gplCompatible,
    ...(spec.version !== undefined ? { version: spec.version } : {}),
    programs: spec.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type,
      ...(p.expectedAttachType ? { expected_attach_type: p.expectedAttachType } : {}),
      ...(p.attachTo ? { attach_to: p.attachTo } : {}),
      insns: p.insns.length / 8,
      license: p.license,
      ...(p.autoload ? {} : { autoload: false }),
      functions: p.functions.map((f) => f.name),
      ...(p.coreRelos.length ? { core_relos: p.coreRelos.length } : {}),
      ...(p.externs.length ? { externs: p.externs } : {}),
    })),
    maps: spec.maps.map(map),
    global_data: spec.maps.filter((m) => m.origin === 'data').map((m) => ({ name: m.name, size: m.valueSize, readonly: m.frozen === true })),
    externs: spec.externs.map((e) => ({ name: e.name, kind: e.kind })),
    notes: spec.notes,
    core_relos: spec.coreRelos.map((r) => ({
      program: r.program, section: r.section, insn: r.insn, kind: r.kindName, type: r.typeName, access: r.access,
      ...(r.result ? { value: bigJson(r.result.value), poisoned: r.result.poisoned, target: r.result.target } : {}),
    })),
    btf: spec.btf
      ? {
          types: spec.btf.types.length - 1,
          kinds: spec.btf.summary(),
          func_info: countRecords(spec.btfExt?.funcInfo),
          line_info: countRecords(spec.btfExt?.lineInfo),
          core_relo: countRecords(spec.btfExt?.coreRelos),
        }
      : null,
  };
}

function countRecords(m: ReadonlyMap<string, readonly unknown[]> | undefined): number {
  let n = 0;
  for (const v of m?.values() ?? []) n += v.length;
  return n;
}

function pushAll(out: string[], lines: readonly string[]): void {
  for (const l of lines) out.push(l); // not push(...lines): counts come from the file
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

const MAX_SHOWN = 12;

function clip(text: string): string {
  const one = text.replace(/\s*\n\s*/g, ' ');
  return one.length > 72 ? one.slice(0, 69) + '...' : one;
}

/** `name = value` per variable of a global data map (from its BTF DATASEC), or its strings. */
function globalValues(spec: ObjectSpec, m: MapSpec): string[] {
  const init = m.initial ?? new Uint8Array(0);
  const btf = spec.btf;
  const sec = btf && m.valueTypeId !== undefined ? btf.type(m.valueTypeId) : undefined;
  const lines: string[] = [];
  if (btf && sec && sec.kind === BtfKind.DATASEC) {
    for (const v of sec.vars.slice(0, MAX_SHOWN + 1)) {
      const name = btf.type(v.type).name;
      let text: string;
      try {
        text = toJsonText(btfValue(btf, v.type, init, v.offset), '');
      } catch (e) {
        text = `<${e instanceof TsbpfError ? e.message : String(e)}>`;
      }
      lines.push(`${name} = ${clip(text)}`);
    }
  } else {
    // String literal sections have no BTF: show the NUL-separated strings.
    const strings = new TextDecoder().decode(init).split('\0').filter((x) => x !== '');
    if (strings.length > 0 && strings.every((x) => /^[\x20-\x7e\t\n]*$/.test(x))) {
      for (const x of strings.slice(0, MAX_SHOWN + 1)) lines.push(clip(JSON.stringify(x)));
    }
    else lines.push(`${init.length} bytes, no BTF description`);
  }
  return lines.length > MAX_SHOWN ? [...lines.slice(0, MAX_SHOWN), '...'] : lines;
}

export function inspectText(spec: ObjectSpec): string {
  const out: string[] = [];
  out.push(`${spec.file}: ${spec.endianness}-endian BPF object, license ${spec.license ? JSON.stringify(spec.license) : '(none)'}${spec.gplCompatible ? ' (GPL-compatible)' : ' (not GPL-compatible: GPL-only helpers unavailable)'}${spec.version !== undefined ? `, version 0x${spec.version.toString(16)}` : ''}`);
  out.push('', `programs (${spec.programs.length}):`);
  if (spec.programs.length) {
    pushAll(out, table([
      ['NAME', 'SECTION', 'TYPE', 'INSNS', 'ATTACH', 'NOTES'],
      ...spec.programs.map((p) => [
        p.name,
        p.section,
        p.type,
        String(p.insns.length / 8),
        [p.expectedAttachType, p.attachTo].filter(Boolean).join(' ') || '-',
        [
          p.functions.length > 1 ? `calls ${p.functions.slice(1).map((f) => f.name).join(',')}` : '',
          p.coreRelos.length ? (p.coreRelos.every((r) => r.result) ? `CO-RE applied (${p.coreRelos.length})` : `needs CO-RE (${p.coreRelos.length} relocations)`) : '',
          p.externs.length ? `externs ${p.externs.join(',')}` : '',
          p.legacySectionName ? 'legacy section name' : '',
          p.autoload ? '' : 'not auto-loaded (SEC("?..."))',
        ].filter(Boolean).join('; '),
      ]),
    ]));
  }
  out.push('', `maps (${spec.maps.length}):`);
  if (spec.maps.length) {
    pushAll(out, table([
      ['NAME', 'TYPE', 'KEY', 'VALUE', 'MAX_ENTRIES', 'FLAGS', 'FROM'],
      ...spec.maps.map((m) => [
        m.name,
        m.type + (m.innerMap ? `(${m.innerMap.type})` : ''),
        String(m.keySize),
        String(m.valueSize),
        String(m.maxEntries),
        '0x' + m.flags.toString(16),
        m.origin === 'data'
          ? `global data${m.frozen ? ', read-only' : ''}`
          : m.section + (m.pinning ? ', pinned by name' : '') + (m.initValues ? `, init ${m.initValues.map((v) => `[${v.index}]=${v.map ?? v.program}`).join(' ')}` : ''),
      ]),
    ]));
  }
  const data = spec.maps.filter((m) => m.origin === 'data');
  if (data.length) {
    out.push('', 'global data:');
    for (const m of data) out.push(`  ${m.name} (${m.valueSize} bytes${m.frozen ? ', read-only' : ''}):`, ...globalValues(spec, m).map((l) => `    ${l}`));
  }
  if (spec.subprograms.length) out.push('', `sub-programs (linked into the programs that call them): ${spec.subprograms.join(', ')}`);
  if (spec.externs.length) {
    out.push('', `externs (${spec.externs.length}, not supported by the runtime yet):`);
    for (const e of spec.externs) out.push(`  ${e.name} (${e.kind}) used by ${[...new Set(e.refs.map((r) => r.program))].join(', ')}`);
  }
  if (spec.notes.length) out.push('', 'not supported:', ...spec.notes.map((n) => `  ${n}`));
  if (spec.coreRelos.length) {
    const applied = spec.coreRelos.filter((r) => r.result);
    const poisoned = applied.filter((r) => r.result!.poisoned).length;
    out.push('', applied.length
      ? `CO-RE relocations (${spec.coreRelos.length}; ${applied.length} applied, ${poisoned} poisoned):`
      : `CO-RE relocations (${spec.coreRelos.length}; need a target BTF before running, see --btf):`);
    for (const r of spec.coreRelos.slice(0, 20)) out.push(coreLine(r));
    if (spec.coreRelos.length > 20) out.push(`  ... ${spec.coreRelos.length - 20} more`);
  }
  if (spec.btf) {
    const kinds = Object.entries(spec.btf.summary()).map(([k, n]) => `${k} ${n}`).join(', ');
    out.push('', `BTF: ${spec.btf.types.length - 1} types (${kinds})`);
    if (spec.btfExt) {
      out.push(`BTF.ext: func_info ${countRecords(spec.btfExt.funcInfo)}, line_info ${countRecords(spec.btfExt.lineInfo)}, core_relo ${countRecords(spec.btfExt.coreRelos)}`);
    }
  } else {
    out.push('', 'BTF: none');
  }
  return out.join('\n');
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'list the programs, maps, global data and BTF of a BPF object file',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' }, btf: { type: 'string' } }, allowPositionals: true });
    if (positionals.length !== 1) throw new UsageError('expected exactly one object file');
    const file = positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      throw new ElfError(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
    }
    const target = values.btf === undefined ? undefined : readTargetBtf(values.btf === 'kernel' ? KERNEL_BTF_PATH : values.btf);
    const spec = loadObject(bytes, { file, ...(target ? { coreTarget: target } : {}) });
    io.out(values.json ? JSON.stringify(inspectJson(spec), null, 2) : inspectText(spec));
    return EXIT_OK;
  },
};
