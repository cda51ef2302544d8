// Static stack-slot liveness: which 8-byte slots of a frame's own stack may
// still be read from each instruction on. Pruning ignores slots nobody reads
// again, as the kernel does (its read marks, then static stack liveness in
// 6.18): programs that reuse stack scratch space, such as falco's, otherwise
// differ at every prune point in bytes that no longer matter.
//
// Conservative by construction. A forward pass tracks which registers may
// hold a pointer into the frame's own stack (fp + a constant, or at an
// unknown offset); loads, atomics and calls through them read slots; only
// an aligned 8-byte store through r10 itself kills a slot, or a helper that
// fills memory (probe_read's destination) when its pointer and constant size
// are set just before the call (`r1 = r10; r1 += -K; r2 = N` in the same
// straight-line code: a must-fact, where the forward pass only knows
// "maybe"), as the kernel's liveness counts such a call as a write. A stack
// pointer passed to a helper makes everything from it to the top of the frame live
// there (unless the helper only fills that memory); passed to code (a
// function, a callback, a kfunc), the whole frame. A stack pointer spilled
// to the frame's own stack (clang does this for a pointer it keeps across
// calls) is tracked in that slot and comes back with the load; stored
// anywhere else, no slot is considered dead.

import { INSNS, Shape } from '../isa/table.js';
import { LDDW_SECOND_HALF, type Program } from '../isa/decode.js';
import { STACK_SIZE } from '../isa/fields.js';
import { AtomicOp } from '../isa/fields.js';
import { useDef, type Cfg } from './cfg.js';
import { isCallbackHelper } from './callbacks.js';
import { BPF_FUNC } from '../internal/uapi.gen.js';
import { helperProto, type ArgKind } from '../helpers/protos.js';

/** Not a pointer into this frame's stack. */
const NOT = 0x40000000;
/** A pointer into this frame's stack at an offset not known statically. */
const UNK = 0x40000001;
const R10 = 10;
const NREGS = 11;
const SLOTS = STACK_SIZE / 8;
/** Forward state width when spilled stack pointers are tracked: the registers, then one entry per slot. */
const WIDE = NREGS + SLOTS;

/** Other helpers that run program code with the pointers they are given (whether or not the verifier takes them). */
const CODE_HELPERS = new Set(['timer_set_callback', 'find_vma', 'user_ringbuf_drain'].map((n) => BPF_FUNC[n] ?? -1));

/** Helper argument kinds whose memory the helper writes without reading it. */
const WRITE_ONLY: ReadonlySet<ArgKind> = new Set<ArgKind>(['uninit_mem', 'uninit_map_value', 'out_u32', 'out_u64']);

/** Live slots before each instruction: slot s (offset (s*8 - STACK_SIZE) from fp) is bit s of lo (s < 32) or bit s-32 of hi. */
export interface StackLiveness {
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
}

/** Slots [from, to) of a mask pair as one call; off/size in bytes from fp. */
function addRange(lo: Uint32Array, hi: Uint32Array, i: number, start: number, end: number): void {
  const a = Math.max(0, Math.floor((STACK_SIZE + start) / 8));
  const b = Math.min(SLOTS - 1, Math.floor((STACK_SIZE + end - 1) / 8));
  for (let s = a; s <= b; s++) {
    if (s < 32) lo[i] = (lo[i]! | (1 << s)) >>> 0;
    else hi[i] = (hi[i]! | (1 << (s - 32))) >>> 0;
  }
}

const isStack = (v: number): boolean => v !== NOT;

/**
 * Paths meet: a register that is fp+k on one path and no stack pointer on
 * the other stays fp+k (reads through it read at most that), two different
 * offsets become unknown. So a register is only "maybe" a stack pointer,
 * and only stores through r10 itself kill slots.
 */
function join(a: number, b: number): number {
  if (a === b || b === NOT) return a;
  if (a === NOT) return b;
  return UNK;
}

/** Everything live at every instruction (liveness disabled). */
function allLive(n: number): StackLiveness {
  return { lo: new Uint32Array(n).fill(0xffffffff), hi: new Uint32Array(n).fill(0xffffffff) };
}

/**
 * Forward pass: which registers (and, when `width` is WIDE, which spilled
 * slots) may hold own-stack pointers before each instruction. Null when a
 * stack pointer escapes where it is not tracked; 'wide' when it was spilled
 * to the stack and this pass did not track slots (run again with WIDE).
 */
function stackPointers(prog: Program, cfg: Cfg, succ: readonly number[][], seen: Uint8Array, width: number): Int32Array | null | 'wide' {
  const n = prog.length;
  const regs = new Int32Array(n * width).fill(NOT);
  seen.fill(0);
  const work: number[] = [];
  for (const s of cfg.subprogs) {
    if (s < 0 || s >= n) continue;
    seen[s] = 1;
    regs[s * width + R10] = 0;
    work.push(s);
  }
  const out = new Int32Array(width);
  while (work.length > 0) {
    const i = work.pop()!;
    for (let r = 0; r < width; r++) out[r] = regs[i * width + r]!;
    const t = transfer(prog, i, out, width === WIDE);
    if (t !== Flow.OK) return t === Flow.SPILLED ? 'wide' : null;
    for (const s of succ[i]!) {
      if (s < 0 || s >= n) continue;
      let changed = seen[s] === 0;
      for (let r = 0; r < width; r++) {
        const cur = regs[s * width + r]!;
        const v = seen[s] === 0 ? out[r]! : join(cur, out[r]!);
        if (v !== cur) changed = true;
        regs[s * width + r] = v;
      }
      seen[s] = 1;
      if (changed) work.push(s);
    }
  }
  return regs;
}

/** Per-instruction live-in stack slots of the instruction's own frame. */
export function stackLiveness(prog: Program, cfg: Cfg): StackLiveness {
  const n = prog.length;
  const seen = new Uint8Array(n);
  const succ: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    succ[i] = [];
    if (prog.op[i] !== LDDW_SECOND_HALF) useDef(prog, i, succ[i]);
  }
  // Most programs never spill a stack pointer: registers only, then slots too when one does.
  let width = NREGS;
  let regs = stackPointers(prog, cfg, succ, seen, width);
  if (regs === 'wide') regs = stackPointers(prog, cfg, succ, seen, (width = WIDE));
  if (regs === null || regs === 'wide') return allLive(n);
  // Where another path may come in (jump targets, function starts): must-facts end there.
  const entry = new Uint8Array(n + 1);
  for (const s of cfg.subprogs) if (s >= 0 && s < n) entry[s] = 1;
  for (let i = 0; i < n; i++) {
    const next = i + (prog.op[i + 1] === LDDW_SECOND_HALF ? 2 : 1);
    for (const s of succ[i]!) if (s >= 0 && s < n && s !== next) entry[s] = 1;
  }
  // Uses and kills per instruction, then backward may-read.
  const useLo = new Uint32Array(n), useHi = new Uint32Array(n), defLo = new Uint32Array(n), defHi = new Uint32Array(n);
  for (let i = 0; i < n; i++) if (seen[i]) usesAndKills(prog, entry, i, regs.subarray(i * width, i * width + NREGS), useLo, useHi, defLo, defHi);
  const lo = new Uint32Array(n), hi = new Uint32Array(n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      if (prog.op[i] === LDDW_SECOND_HALF) continue;
      let ol = 0, oh = 0;
      for (const s of succ[i]!) if (s >= 0 && s < n) { ol |= lo[s]!; oh |= hi[s]!; }
      const vl = (useLo[i]! | (ol & ~defLo[i]!)) >>> 0;
      const vh = (useHi[i]! | (oh & ~defHi[i]!)) >>> 0;
      if (vl !== lo[i] || vh !== hi[i]) {
        lo[i] = vl;
        hi[i] = vh;
        changed = true;
      }
    }
  }
  return { lo, hi };
}

/** What a forward step found. */
const enum Flow {
  OK,
  /** A stack pointer went to the stack and slots are not tracked in this pass. */
  SPILLED,
  /** A stack pointer went somewhere it is not tracked. */
  ESCAPED,
}

/** Slot index of fp-relative byte offset `at` (callers check the range). */
const slotOf = (at: number): number => (STACK_SIZE + at) >> 3;

/** Join `v` into every slot (a store through a stack pointer at an unknown offset). */
function joinAllSlots(r: Int32Array, v: number): void {
  for (let s = 0; s < SLOTS; s++) r[NREGS + s] = join(r[NREGS + s]!, v);
}

/** What an 8-byte load through `base` + off may give back: a spilled stack pointer, or not one. */
function fill(r: Int32Array, base: number, off: number): number {
  if (base === NOT) return NOT;
  if (base === UNK) {
    let v = NOT;
    for (let s = 0; s < SLOTS; s++) v = join(v, r[NREGS + s]!);
    return v;
  }
  const at = base + off;
  return at >= -STACK_SIZE && at < 0 ? r[NREGS + slotOf(at)]! : NOT;
}

/**
 * A store of `v` (a stack pointer or NOT) through `base` + off, `size`
 * bytes. Through r10 itself the slot is certainly the one written (strong
 * update); through another register only maybe (joined). A narrow store
 * leaves the slot as it was: at most that keeps a dead pointer in it.
 */
function store(r: Int32Array, base: number, off: number, size: number, v: number, viaR10: boolean): void {
  if (base === NOT) return;
  if (base === UNK) {
    if (v !== NOT) joinAllSlots(r, v);
    return;
  }
  const at = base + off;
  if (at < -STACK_SIZE || at >= 0) return;
  const k = NREGS + slotOf(at);
  if (viaR10 && size === 8 && (at & 7) === 0) r[k] = v;
  else if (v !== NOT) r[k] = join(r[k]!, v);
}

/**
 * Apply instruction i to the abstraction (r: the registers, then with
 * `slots` one entry per 8-byte slot of the frame's own stack).
 */
function transfer(prog: Program, i: number, r: Int32Array, slots: boolean): Flow {
  const op = prog.op[i]!;
  if (op === LDDW_SECOND_HALF) return Flow.OK;
  const d = INSNS[op]!;
  const dst = prog.dst[i]!;
  const src = prog.src[i]!;
  switch (d.shape) {
    case Shape.AluImm:
      if (d.llvm === '=' || d.width !== 64) r[dst] = NOT;
      else if (isStack(r[dst]!)) r[dst] = r[dst] === UNK ? UNK : d.llvm === '+=' ? r[dst]! + prog.imm[i]! : d.llvm === '-=' ? r[dst]! - prog.imm[i]! : UNK;
      return Flow.OK;
    case Shape.AluReg:
      if (d.llvm === '=') r[dst] = d.width === 64 ? r[src]! : NOT;
      else if (d.width !== 64) r[dst] = NOT;
      else r[dst] = isStack(r[dst]!) || isStack(r[src]!) ? UNK : NOT;
      return Flow.OK;
    case Shape.Neg: case Shape.Endian:
      r[dst] = isStack(r[dst]!) ? UNK : NOT;
      return Flow.OK;
    case Shape.Load:
      // Only a whole 8-byte fill gives a pointer back (a narrower one is refused or a scalar).
      r[dst] = slots && d.width === 64 ? fill(r, r[src]!, prog.off[i]!) : NOT;
      return Flow.OK;
    case Shape.MovSx: case Shape.AddrSpaceCast: case Shape.Lddw: case Shape.LoadSx:
      r[dst] = NOT;
      return Flow.OK;
    case Shape.Store:
      if (slots) store(r, r[dst]!, prog.off[i]!, d.width / 8, NOT, dst === R10);
      return Flow.OK;
    case Shape.StoreReg: {
      const v = r[src]!;
      if (v !== NOT && !isStack(r[dst]!)) return Flow.ESCAPED;
      if (v !== NOT && !slots) return Flow.SPILLED;
      if (slots) store(r, r[dst]!, prog.off[i]!, d.width / 8, v, dst === R10);
      return Flow.OK;
    }
    case Shape.Atomic: {
      if (isStack(r[src]!)) return Flow.ESCAPED;
      const imm = prog.imm[i]!;
      // An atomic fetch from a stack slot may return whatever was spilled there.
      const old = slots && isStack(r[dst]!) ? UNK : NOT;
      if (imm === AtomicOp.CMPXCHG) r[0] = old;
      else if (imm & AtomicOp.FETCH) r[src] = old;
      return Flow.OK;
    }
    case Shape.LdAbs: case Shape.LdInd: case Shape.Call: case Shape.CallKfunc: case Shape.Callx: case Shape.CallLocal: {
      // A function handed a pointer to this frame may hand it back in r0.
      const back = d.shape === Shape.CallLocal && [1, 2, 3, 4, 5].some((k) => isStack(r[k]!));
      for (let k = 0; k <= 5; k++) r[k] = NOT;
      if (back) r[0] = UNK;
      return Flow.OK;
    }
    default:
      return Flow.OK;
  }
}

/** Slots instruction i reads (use) and overwrites whole (def), given the registers before it. */
function usesAndKills(prog: Program, entry: Uint8Array, i: number, r: Int32Array, useLo: Uint32Array, useHi: Uint32Array, defLo: Uint32Array, defHi: Uint32Array): void {
  const op = prog.op[i]!;
  if (op === LDDW_SECOND_HALF) return;
  const d = INSNS[op]!;
  const size = d.width / 8;
  const read = (base: number, off: number, len: number): void => {
    if (base === NOT) return;
    if (base === UNK) addRange(useLo, useHi, i, -STACK_SIZE, 0);
    else addRange(useLo, useHi, i, base + off, base + off + len);
  };
  switch (d.shape) {
    case Shape.Load: case Shape.LoadSx:
      read(r[prog.src[i]!]!, prog.off[i]!, size);
      return;
    case Shape.Atomic:
      read(r[prog.dst[i]!]!, prog.off[i]!, size);
      return;
    case Shape.Store: case Shape.StoreReg: {
      const at = prog.off[i]!;
      if (prog.dst[i] === R10 && size === 8 && at % 8 === 0 && at >= -STACK_SIZE && at < 0) addRange(defLo, defHi, i, at, at + 8);
      return;
    }
    case Shape.Call: case Shape.CallKfunc: case Shape.Callx: case Shape.CallLocal: {
      // A helper reads upwards from the pointer it gets, at most to the top
      // of the frame; code (functions, callbacks, kfuncs) may read anywhere.
      const helper = d.shape === Shape.Call && prog.src[i] === 0 && !isCallbackHelper(prog.imm[i]!) && !CODE_HELPERS.has(prog.imm[i]!);
      const args = helper ? helperProto(prog.imm[i]!)?.args : undefined;
      for (let k = 1; k <= 5; k++) {
        const base = r[k]!;
        if (base === NOT) continue;
        // Memory the helper only fills is written, not read (the kernel's raw_mode arguments);
        // whole slots of it are overwritten when pointer and size are certain.
        if (args !== undefined && WRITE_ONLY.has(args[k - 1] ?? 'anything')) {
          if (args[k - 1] === 'uninit_mem' && SIZES.has(args[k] ?? 'anything')) killFilled(prog, entry, i, k, defLo, defHi);
          continue;
        }
        if (helper && base !== UNK) addRange(useLo, useHi, i, base, 0);
        else addRange(useLo, useHi, i, -STACK_SIZE, 0);
      }
      return;
    }
    default:
  }
}

const SIZES: ReadonlySet<ArgKind> = new Set<ArgKind>(['const_size', 'const_size_or_zero']);

/**
 * A helper at i fills r`k` with r`k+1` bytes: if r`k` is certainly r10 + K and
 * r`k+1` certainly N (both set in the straight-line code just before the
 * call), the whole 8-byte slots of [K, K + N) are overwritten there.
 */
function killFilled(prog: Program, entry: Uint8Array, i: number, k: number, defLo: Uint32Array, defHi: Uint32Array): void {
  const at = mustValue(prog, entry, i, k, true);
  const len = mustValue(prog, entry, i, k + 1, false);
  if (at === undefined || len === undefined || len <= 0) return;
  const start = Math.max(Math.ceil(at / 8) * 8, -STACK_SIZE);
  const end = Math.min(Math.floor((at + len) / 8) * 8, 0);
  if (end > start) addRange(defLo, defHi, i, start, end);
}

/**
 * The value register `reg` certainly holds before instruction i, scanning
 * back through straight-line code (no instruction in between where another
 * path comes in, no call or jump): with `fp`, the K of `reg = r10; reg += K`;
 * without, the N of `reg = N`. Undefined when not certain.
 */
function mustValue(prog: Program, entry: Uint8Array, i: number, reg: number, fp: boolean): number | undefined {
  let add = 0;
  for (let j = i - 1; j >= 0; j--) {
    if (entry[j + 1]) return undefined;
    const op = prog.op[j]!;
    if (op === LDDW_SECOND_HALF) continue;
    const d = INSNS[op]!;
    switch (d.shape) {
      case Shape.Store: case Shape.StoreReg:
        continue;
      case Shape.AluImm: case Shape.AluReg: case Shape.Neg: case Shape.Endian: case Shape.MovSx: case Shape.AddrSpaceCast:
      case Shape.Load: case Shape.LoadSx: case Shape.Lddw:
        if (prog.dst[j] !== reg) continue;
        if (d.width !== 64) return undefined;
        if (fp && d.shape === Shape.AluImm && d.llvm === '+=') {
          add += prog.imm[j]!;
          continue;
        }
        if (fp) return d.shape === Shape.AluReg && d.llvm === '=' && prog.src[j] === R10 ? add : undefined;
        return d.shape === Shape.AluImm && d.llvm === '=' ? prog.imm[j]! : undefined;
      default:
        // Jumps, calls, exits, atomics, packet loads: stop.
        return undefined;
    }
  }
  return undefined;
}
