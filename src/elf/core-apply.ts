// Applying CO-RE relocations to linked programs, as libbpf's
// bpf_object__relocate_core + bpf_core_patch_insn do. Each .BTF.ext record is
// resolved once, in file order with one candidate cache (so candidate pruning
// matches libbpf), and every linked copy of its instruction is then patched:
// an immediate (ALU), an offset and maybe the access size (LDX/ST/STX), or a
// 64-bit immediate (lddw). A relocation nothing in the target matches turns
// its instruction into `call 0xbad2310`, which the verifier rejects only if
// the instruction is reachable.

import type { Btf } from '../btf/btf.js';
import { resolveCoreRelo, type CandidateCache, type CoreReloResult } from '../btf/core-relo.js';
import type { BtfExt } from '../btf/parse-ext.js';
import { Class, Size, Src } from '../isa/fields.js';
import { ElfError, TsbpfError } from '../internal/errors.js';
import type { CoreReloSpec, ProgramSpec } from './spec.js';

/** The helper id libbpf writes into a poisoned instruction ("bad relo"). */
export const CORE_POISON_IMM = 0xbad2310;

const OPCODE_CALL = 0x85; // BPF_JMP | BPF_CALL
const OPCODE_LDDW = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const SHRT_MAX = 32767n;

/** Byte size of a load/store size field, and back. */
const SIZE_BYTES: Record<number, number> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };
const BYTES_SIZE: Record<number, number> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };

function key(section: string, insn: number): string {
  return `${section}\u0000${insn}`;
}

interface Resolved {
  readonly result: CoreReloResult;
  /** Index of the record within its section's core_relo table (libbpf's "relo #N"). */
  readonly index: number;
}

/**
 * Resolve the records the given programs use. Programs that are not
 * autoloaded (SEC("?...")) are skipped, like libbpf; their relocations stay
 * unresolved.
 */
function resolveAll(file: string, local: Btf, ext: BtfExt, programs: readonly ProgramSpec[], target: Btf): Map<string, Resolved> {
  const wanted = new Map<string, string>();
  for (const p of programs) {
    if (!p.autoload) continue;
    for (const r of p.coreRelos) if (!wanted.has(key(r.section, r.sectionInsn))) wanted.set(key(r.section, r.sectionInsn), p.name);
  }
  const cache: CandidateCache = new Map();
  // Identical requests (type, access, kind) resolve identically: the candidates a first one kept all
  // give the same value, and later pruning only keeps a subset of them. Big objects repeat them a lot.
  const same = new Map<string, CoreReloResult>();
  const out = new Map<string, Resolved>();
  for (const [section, records] of ext.coreRelos) {
    records.forEach((rec, index) => {
      const k = key(section, rec.insn);
      const program = wanted.get(k);
      if (program === undefined || out.has(k)) return;
      try {
        const req = `${rec.typeId}\u0000${rec.access}\u0000${rec.kind}`;
        let result = same.get(req);
        if (!result) same.set(req, (result = resolveCoreRelo(local, rec.typeId, rec.access, rec.kind, target, cache)));
        out.set(k, { result, index });
      } catch (e) {
        if (!(e instanceof TsbpfError)) throw e;
        const what = `${rec.kindName} ${local.describe(rec.typeId)} + ${rec.access}`;
        throw new ElfError(`program ${program}: CO-RE relocation #${index} (${what}) at instruction ${rec.insn} of the section: ${e.message.replace(/^\.BTF: /, '')}`, file, section, undefined);
      }
    });
  }
  return out;
}

/** Overwrite one slot (or both slots of an lddw) with libbpf's poison call. */
function poison(view: DataView, at: number, slots: number): void {
  for (let s = 0; s < slots; s++) {
    const p = (at + s) * 8;
    view.setUint8(p, OPCODE_CALL);
    view.setUint8(p + 1, 0);
    view.setInt16(p + 2, 0, true);
    view.setInt32(p + 4, CORE_POISON_IMM, true);
  }
}

/** bpf_core_patch_insn on a linked stream; returns whether the instruction was poisoned. Throws a reason string on mismatch. */
function patchInsn(view: DataView, at: number, res: CoreReloResult): boolean | string {
  const nslots = view.byteLength / 8;
  if (at >= nslots) return `instruction ${at} is outside the program (${nslots} instructions)`;
  const p = at * 8;
  const code = view.getUint8(p);
  const cls = code & 7;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      if ((code & Src.X) !== 0) return `instruction ${at} (0x${code.toString(16)}) has a register operand, not an immediate`;
      if (res.poison) return poison(view, at, 1), true;
      const imm = view.getInt32(p + 4, true);
      if (res.validate && BigInt.asUintN(64, BigInt(imm)) !== res.orig) return `instruction ${at} (ALU) has immediate ${imm >>> 0}, expected ${res.orig}`;
      view.setInt32(p + 4, Number(BigInt.asIntN(32, res.value)), true);
      return false;
    }
    case Class.LDX:
    case Class.ST:
    case Class.STX: {
      if (res.poison) return poison(view, at, 1), true;
      const off = view.getInt16(p + 2, true);
      if (res.validate && BigInt.asUintN(64, BigInt(off)) !== res.orig) return `instruction ${at} (load/store) has offset ${off}, expected ${res.orig}`;
      if (res.value > SHRT_MAX) return `instruction ${at} (load/store): offset ${res.value} does not fit in 16 bits`;
      // libbpf poisons a load/store whose size would change for a signed or composite field.
      if (res.failSizeAdjust) return poison(view, at, 1), true;
      view.setInt16(p + 2, Number(res.value), true);
      if (res.newSize !== res.origSize) {
        const bytes = SIZE_BYTES[code & 0x18]!;
        if (bytes !== res.origSize) return `instruction ${at} (load/store) accesses ${bytes} bytes, expected ${res.origSize}`;
        const size = BYTES_SIZE[res.newSize];
        if (size === undefined) return `instruction ${at} (load/store): the target field is ${res.newSize} bytes, not a load size`;
        view.setUint8(p, (code & ~0x18) | size);
      }
      return false;
    }
    case Class.LD: {
      const ok = code === OPCODE_LDDW && at + 1 < nslots && (view.getUint8(p + 1) & 0xf0) === 0 && view.getInt16(p + 2, true) === 0 &&
        view.getUint8(p + 8) === 0 && view.getUint8(p + 9) === 0 && view.getInt16(p + 10, true) === 0;
      if (!ok) return `instruction ${at} (lddw) has an unexpected form`;
      if (res.poison) return poison(view, at, 2), true;
      const imm = BigInt(view.getUint32(p + 4, true)) | (BigInt(view.getUint32(p + 12, true)) << 32n);
      if (res.validate && imm !== res.orig) return `instruction ${at} (lddw) has value ${imm}, expected ${res.orig}`;
      view.setUint32(p + 4, Number(res.value & 0xffffffffn), true);
      view.setUint32(p + 12, Number((res.value >> 32n) & 0xffffffffn), true);
      return false;
    }
    default:
      return `instruction ${at} (opcode 0x${code.toString(16)}) cannot carry a CO-RE relocation`;
  }
}

/**
 * Return copies of `programs` with their CO-RE relocations applied against
 * `target` (each CoreReloSpec gets its `result`). Throws ElfError naming the
 * program, relocation and instruction when libbpf would refuse the object.
 */
export function applyCoreRelos(file: string, local: Btf, ext: BtfExt, programs: readonly ProgramSpec[], target: Btf): ProgramSpec[] {
  const resolved = resolveAll(file, local, ext, programs, target);
  return programs.map((p) => {
    if (p.coreRelos.length === 0 || !resolved.has(key(p.coreRelos[0]!.section, p.coreRelos[0]!.sectionInsn))) return p;
    const insns = p.insns.slice();
    const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
    const relos: CoreReloSpec[] = p.coreRelos.map((r) => {
      const got = resolved.get(key(r.section, r.sectionInsn));
      if (!got) return r;
      const patched = patchInsn(view, r.insn, got.result);
      if (typeof patched === 'string') {
        throw new ElfError(`program ${p.name}: CO-RE relocation #${got.index} (${r.kindName} ${r.typeName} + ${r.access}): ${patched}`, file, r.section);
      }
      // A match whose load/store cannot change size is poisoned too (libbpf: "accesses field incorrectly").
      const target = patched && !got.result.poison
        ? `${got.result.target}: the access cannot change from ${got.result.origSize} to ${got.result.newSize} bytes for a signed or non-integer field`
        : got.result.target;
      return { ...r, result: { value: patched ? 0n : got.result.value, poisoned: patched, target } };
    });
    return { ...p, insns, coreRelos: relos };
  });
}

/**
 * What libbpf prints when the verifier meets a poisoned instruction
 * ("<invalid CO-RE relocation>" / "failed to resolve CO-RE relocation ..."):
 * the relocation that poisoned linked instruction `insn`, or undefined.
 */
export function corePoisonReason(program: ProgramSpec, insn: number): string | undefined {
  const r = program.coreRelos.find((x) => x.result?.poisoned && (x.insn === insn || x.insn + 1 === insn));
  if (!r) return undefined;
  return `invalid CO-RE relocation: failed to resolve CO-RE relocation ${r.kindName} ${r.typeName} + ${r.access} (${r.result!.target})`;
}
