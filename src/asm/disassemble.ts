// Instructions -> text, exactly as llvm-objdump-19 prints them (default) or
// as the Linux verifier log does (syntax: 'kernel'); both are checked against
// the real tools' output committed in test/fixtures/llvm/. One printer,
// driven by each row's shape, llvm operator and width; symbol callbacks
// (helper names, map names, target labels) let the verifier log and
// `tsbpf dis` share it, as the kernel's disasm.c does.

import { INSN_SIZE } from '../isa/fields.js';
import { BPF_FUNC, nameOf } from '../internal/uapi.gen.js';
import { LDDW_SECOND_HALF, type Program } from '../isa/decode.js';
import { INSNS, Shape, isJump, type InsnDef } from '../isa/table.js';
import { atomicCallName, hexJump, hexSigned, hexSigned64, is32BitClass, isLockAssign, memOperand } from './syntax.js';

/** Callbacks that put names where llvm-objdump prints numbers. Return undefined to keep the number. */
export interface SymbolHooks {
  /** `call 0x1` (helper, src 0) becomes `call NAME`. */
  helper?(id: number): string | undefined;
  /** An lddw with a pseudo source (src 1..6, e.g. a map fd) prints as `rN = TEXT ll` instead of `ld_pseudo`. */
  pseudo?(src: number, imm: number, immHi: number, slot: number): string | undefined;
  /** Target of a jump at slot `from`: appended as ` <TEXT>`, like objdump's ` <.text+0x28>` (llvm syntax only). */
  target?(targetSlot: number, from: number): string | undefined;
  /** Kernel syntax: name of a kfunc call (src 2) by BTF id; the default is `kernel-function`. */
  kfunc?(btfId: number): string | undefined;
}

export interface FormatOptions {
  /**
   * Print as llvm-objdump does with --mcpu=v3 or later (the default, true):
   * narrow loads, stores and 32-bit atomics use wN registers. With false,
   * print as plain `llvm-objdump -d` (cpu v1): rN registers, and, as LLVM
   * does, `lock *(u32 *)... += rN` for 32-bit add and fetch-add and
   * `<unknown>` for the other 32-bit atomics.
   */
  alu32?: boolean;
  /**
   * 'llvm' (default): llvm-objdump's text. 'kernel': the Linux verifier log's
   * text (kernel/bpf/disasm.c), opcode prefix included: `(07) r1 += -8`,
   * `(61) r2 = *(u32 *)(r1 +4)`, `(15) if r1 == 0x0 goto pc+3`,
   * `(85) call bpf_map_lookup_elem#1`. Helper names default to the kernel's.
   */
  syntax?: 'llvm' | 'kernel';
  symbols?: SymbolHooks;
  /** Label name for a jump or local-call target slot (used instead of the numeric offset). */
  labelOf?(slot: number): string | undefined;
}

export const UNKNOWN = '<unknown>';

function r(n: number): string {
  return `r${n}`;
}

/** `rN` or, for 32-bit class rows, `wN`. */
function reg(def: InsnDef, n: number): string {
  return is32BitClass(def) ? `w${n}` : `r${n}`;
}

/** Text of the instruction at slot i (the first slot of an lddw); `<unknown>` if it is not one. */
export function formatInsn(prog: Program, i: number, opts: FormatOptions = {}): string {
  const op = prog.op[i]!;
  if (op === LDDW_SECOND_HALF) return UNKNOWN;
  const def = INSNS[op]!;
  if (opts.syntax === 'kernel') return formatKernel(def, prog, i, opts.symbols);
  const alu32 = opts.alu32 ?? true;
  const dst = prog.dst[i]!;
  const src = prog.src[i]!;
  const off = prog.off[i]!;
  const imm = prog.imm[i]!;
  const narrow = (width: number, n: number): string => (alu32 && width < 64 ? `w${n}` : `r${n}`);
  const jump = (rel: number): string => {
    const t = i + 1 + rel;
    const label = opts.labelOf?.(t);
    if (label !== undefined) return label;
    const sym = opts.symbols?.target?.(t, i);
    return sym === undefined ? hexJump(rel) : `${hexJump(rel)} <${sym}>`;
  };
  switch (def.shape) {
    case Shape.AluImm:
      return `${reg(def, dst)} ${def.llvm} ${hexSigned(imm)}`;
    case Shape.AluReg:
      return `${reg(def, dst)} ${def.llvm} ${reg(def, src)}`;
    case Shape.Neg:
      return `${reg(def, dst)} = -${reg(def, dst)}`;
    case Shape.MovSx:
      return `${reg(def, dst)} = ${def.llvm}${reg(def, src)}`;
    case Shape.Endian:
      return `${r(dst)} = ${def.llvm} ${r(dst)}`;
    case Shape.Load:
      return `${narrow(def.width, dst)} = *(${def.llvm} *)(${memOperand(src, off)})`;
    case Shape.LoadSx:
      return `${r(dst)} = *(${def.llvm} *)(${memOperand(src, off)})`;
    case Shape.Store:
      return `*(${def.llvm} *)(${memOperand(dst, off)}) = ${hexSigned(imm)}`;
    case Shape.StoreReg:
      return `*(${def.llvm} *)(${memOperand(dst, off)}) = ${narrow(def.width, src)}`;
    case Shape.Atomic:
      return formatAtomic(def, dst, src, off, alu32);
    case Shape.Lddw: {
      const hi = prog.imm64hi[i]!;
      if (src === 0) return `${r(dst)} = ${hexSigned64(imm, hi)} ll`;
      const text = opts.symbols?.pseudo?.(src, imm, hi, i);
      if (text !== undefined) return `${r(dst)} = ${text} ll`;
      return `ld_pseudo\t${r(dst)}, 0x${src.toString(16)}, 0x${(imm >>> 0).toString(16)}`;
    }
    case Shape.LdAbs:
      return `r0 = *(${def.llvm} *)skb[${hexSigned(imm)}]`;
    case Shape.LdInd:
      // LLVM prints `skb[r2]` and drops imm; we add it when non-zero so nothing is lost.
      return `r0 = *(${def.llvm} *)skb[${r(src)}${imm === 0 ? '' : imm < 0 ? ` - 0x${(-imm).toString(16)}` : ` + 0x${imm.toString(16)}`}]`;
    case Shape.Ja:
      return `goto ${jump(off)}`;
    case Shape.Ja32:
      return `gotol ${jump(imm)}`;
    case Shape.JmpImm:
      return `if ${reg(def, dst)} ${def.llvm} ${hexSigned(imm)} goto ${jump(off)}`;
    case Shape.JmpReg:
      return `if ${reg(def, dst)} ${def.llvm} ${reg(def, src)} goto ${jump(off)}`;
    case Shape.Call: {
      const name = opts.symbols?.helper?.(imm);
      return `call ${name ?? hexSigned(imm)}`;
    }
    case Shape.CallLocal:
      return `call ${opts.labelOf?.(i + 1 + imm) ?? hexSigned(imm)}`;
    case Shape.CallKfunc:
      return `call ${hexSigned(imm)}`;
    case Shape.Callx:
      return `callx ${r(dst)}`;
    case Shape.Exit:
      return 'exit';
    case Shape.MayGoto:
      return `may_goto ${jump(off)}`;
    case Shape.AddrSpaceCast: {
      const [dstAs, srcAs] = addrSpaces(imm);
      return `${r(dst)} = addr_space_cast(${r(src)}, 0x${dstAs.toString(16)}, 0x${srcAs.toString(16)})`;
    }
  }
}

/** addr_space_cast's imm: [destination address space, source address space]. */
function addrSpaces(imm: number): [number, number] {
  return [imm >>> 16, imm & 0xffff];
}

function formatAtomic(def: InsnDef, dst: number, src: number, off: number, alu32: boolean): string {
  const m = memOperand(dst, off);
  if (def.width === 32 && !alu32) {
    // Without alu32 LLVM 19 decodes only the old XADD form, for imm 0 and 1 alike.
    return def.llvm === '+=' || def.llvm === 'atomic_fetch_add' ? `lock *(u32 *)(${m}) += ${r(src)}` : UNKNOWN;
  }
  const v = (n: number): string => (def.width === 32 ? `w${n}` : `r${n}`);
  if (isLockAssign(def)) return `lock *(u${def.width} *)(${m}) ${def.llvm} ${v(src)}`;
  if (def.llvm === 'cmpxchg') return `${v(0)} = ${atomicCallName(def)}(${m}, ${v(0)}, ${v(src)})`;
  if (def.llvm === 'xchg') return `${v(src)} = ${atomicCallName(def)}(${m}, ${v(src)})`;
  return `${v(src)} = ${def.llvm}((u${def.width} *)(${m}), ${v(src)})`;
}

/** Kernel-style memory operand: `r10 -8`, `r1 +0` (printf's %+d). */
function kmem(base: number, off: number): string {
  return `r${base} ${off < 0 ? off : `+${off}`}`;
}

const kpc = (rel: number): string => `pc${rel < 0 ? rel : `+${rel}`}`;

/**
 * The verifier log's text, as checked against a 6.18 kernel's log (see
 * test/fixtures/llvm/kernel-insns.txt). Its rules differ from LLVM's:
 * decimal immediates except in conditional jumps (0x%x, unsigned), `%+d`
 * offsets, `pc+N` targets, rN for every load, store and atomic operand,
 * `atomic64_` names for 64-bit fetch/xchg/cmpxchg, unsigned 64-bit lddw.
 */
function formatKernel(def: InsnDef, prog: Program, i: number, symbols?: SymbolHooks): string {
  const code = `(${def.opcode.toString(16).padStart(2, '0')}) `;
  const dst = prog.dst[i]!;
  const src = prog.src[i]!;
  const off = prog.off[i]!;
  const imm = prog.imm[i]!;
  const R = (n: number): string => reg(def, n);
  const size = `u${def.width}`;
  let text: string;
  switch (def.shape) {
    case Shape.AluImm:
      text = `${R(dst)} ${def.llvm} ${imm}`;
      break;
    case Shape.AluReg:
      text = `${R(dst)} ${def.llvm} ${R(src)}`;
      break;
    case Shape.Neg:
      text = `${R(dst)} = -${R(dst)}`;
      break;
    case Shape.MovSx:
      text = `${R(dst)} = ${def.llvm}${R(src)}`;
      break;
    case Shape.Endian:
      text = `r${dst} = ${def.llvm} r${dst}`;
      break;
    case Shape.Load:
    case Shape.LoadSx:
      text = `r${dst} = *(${def.llvm} *)(${kmem(src, off)})`;
      break;
    case Shape.Store:
      text = `*(${size} *)(${kmem(dst, off)}) = ${imm}`;
      break;
    case Shape.StoreReg:
      text = `*(${size} *)(${kmem(dst, off)}) = r${src}`;
      break;
    case Shape.Atomic: {
      const m = `(${size} *)(${kmem(dst, off)})`;
      const a = def.width === 64 ? 'atomic64' : 'atomic';
      if (isLockAssign(def)) text = `lock *${m} ${def.llvm} r${src}`;
      else if (def.llvm === 'cmpxchg') text = `r0 = ${a}_cmpxchg(${m}, r0, r${src})`;
      else if (def.llvm === 'xchg') text = `r${src} = ${a}_xchg(${m}, r${src})`;
      else text = `r${src} = ${def.llvm.replace('atomic_', `${a}_`)}(${m}, r${src})`;
      break;
    }
    case Shape.Lddw: {
      const hi = prog.imm64hi[i]!;
      const named = src === 0 ? undefined : symbols?.pseudo?.(src, imm, hi, i);
      text = `r${dst} = ${named ?? `0x${((BigInt(hi >>> 0) << 32n) | BigInt(imm >>> 0)).toString(16)}`}`;
      break;
    }
    case Shape.LdAbs:
      text = `r0 = *(${def.llvm} *)skb[${imm}]`;
      break;
    case Shape.LdInd:
      text = `r0 = *(${def.llvm} *)skb[r${src} + ${imm}]`;
      break;
    case Shape.Ja:
      text = `goto ${kpc(off)}`;
      break;
    case Shape.Ja32:
      text = `gotol ${kpc(imm)}`;
      break;
    case Shape.JmpImm:
      text = `if ${R(dst)} ${def.llvm} 0x${(imm >>> 0).toString(16)} goto ${kpc(off)}`;
      break;
    case Shape.JmpReg:
      text = `if ${R(dst)} ${def.llvm} ${R(src)} goto ${kpc(off)}`;
      break;
    case Shape.Call: {
      const known = nameOf(BPF_FUNC, imm);
      text = `call ${symbols?.helper?.(imm) ?? (known !== undefined ? `bpf_${known}` : 'unknown')}#${imm}`;
      break;
    }
    case Shape.CallLocal:
      text = `call ${kpc(imm)}`;
      break;
    case Shape.CallKfunc:
      // disasm.c's spelling; not checked against a kernel here (needs BTF).
      text = `call ${symbols?.kfunc?.(imm) ?? 'kernel-function'}#${imm}`;
      break;
    case Shape.Callx:
      // Linux has no callx; this follows the LLVM spelling.
      text = `callx r${dst}`;
      break;
    case Shape.Exit:
      text = 'exit';
      break;
    case Shape.MayGoto:
      text = `may_goto ${kpc(off)}`;
      break;
    case Shape.AddrSpaceCast: {
      const [dstAs, srcAs] = addrSpaces(imm);
      text = `r${dst} = addr_space_cast(r${src}, ${dstAs}, ${srcAs})`;
      break;
    }
  }
  return code + text;
}

export interface DisassembleOptions extends FormatOptions {
  /** Prefix the slot index: objdump's `%8d:\t`, or the verifier log's `N: ` in kernel syntax (default false). */
  index?: boolean;
  /** Add objdump's raw bytes column, `b7 01 00 00 ff ff ff ff\t` (default false). */
  rawBytes?: boolean;
  /**
   * Emit `L<slot>:` lines before jump and local-call targets and use those
   * names as targets, so the text re-assembles to the same bytes even for
   * local calls (which LLVM prints as a bare `call -0x5`).
   */
  labels?: boolean;
  /** Source text for a slot (e.g. from BTF line info), printed before it as `; text`. */
  lineInfo?(slot: number): string | undefined;
}

/** Disassemble a whole program, one line per instruction (lddw takes one line for two slots). */
export function disassembleProgram(prog: Program, opts: DisassembleOptions = {}): string[] {
  const targets = opts.labels === true ? collectTargets(prog) : undefined;
  const fmt: FormatOptions = { ...opts };
  if (targets !== undefined) fmt.labelOf = (slot) => (targets.has(slot) ? `L${slot}` : undefined);
  const out: string[] = [];
  for (let i = 0; i < prog.length; ) {
    const width = slotsAt(prog, i);
    const src = opts.lineInfo?.(i);
    if (src !== undefined) out.push(`; ${src}`);
    if (targets?.has(i)) out.push(`L${i}:`);
    const kernel = opts.syntax === 'kernel';
    let line = width !== 0 ? formatInsn(prog, i, fmt) : kernel ? `(${prog.opcode[i]!.toString(16).padStart(2, '0')}) ${UNKNOWN}` : UNKNOWN;
    const n = width === 0 ? 1 : width;
    if (opts.rawBytes === true) line = `${hexBytes(prog.bytes, i, n)}\t${line}`;
    if (opts.index === true) line = kernel ? `${i}: ${line}` : `${String(i).padStart(8)}:\t${line}`;
    out.push(line);
    i += n;
  }
  // A target just past the end is legal to write (the decoder rejects it later).
  if (targets?.has(prog.length)) out.push(`L${prog.length}:`);
  return out;
}

/** Slots taken by the instruction at i, or 0 if i holds no instruction. */
function slotsAt(prog: Program, i: number): number {
  const op = prog.op[i]!;
  if (op === LDDW_SECOND_HALF) return 0;
  const def = INSNS[op]!;
  return def.slots === 2 && i + 1 >= prog.length ? 0 : def.slots;
}

function hexBytes(bytes: Uint8Array, slot: number, n: number): string {
  const parts: string[] = [];
  for (let k = slot * INSN_SIZE; k < (slot + n) * INSN_SIZE; k++) parts.push(bytes[k]!.toString(16).padStart(2, '0'));
  return parts.join(' ');
}

/** Slots that some jump or local call targets. */
function collectTargets(prog: Program): Set<number> {
  const t = new Set<number>();
  for (let i = 0; i < prog.length; i++) {
    const op = prog.op[i]!;
    if (op === LDDW_SECOND_HALF) continue;
    const def = INSNS[op]!;
    let target = -1;
    if (def.shape === Shape.Ja32 || def.shape === Shape.CallLocal) target = i + 1 + prog.imm[i]!;
    else if (isJump(def.shape)) target = i + 1 + prog.off[i]!;
    // Out-of-range targets keep their numeric offset: there is no line to label.
    if (target >= 0 && target <= prog.length) t.add(target);
    if (def.slots === 2) i++;
  }
  return t;
}
