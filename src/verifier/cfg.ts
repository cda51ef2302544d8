// Control-flow checks before the path walk (the kernel's check_subprogs and
// check_cfg): subprogram boundaries, jumps that leave their subprogram or
// the program, jumps into the middle of lddw, falling off the end,
// unreachable instructions, back-edges (refused only without privilege),
// and two things the walk needs: prune points and static register liveness.

import { LDDW_SECOND_HALF, type Program } from '../isa/decode.js';
import { INSNS, Shape, isJump, type InsnDef } from '../isa/table.js';
import { AtomicOp, PseudoLd } from '../isa/fields.js';
import { reject } from './env.js';
import { isCallbackHelper } from './callbacks.js';

export interface Cfg {
  /** First instruction of each subprogram, ascending (0 first). */
  readonly subprogs: readonly number[];
  /** Prune points: jump targets, fall-throughs of conditional jumps, returns from calls, may_goto. */
  readonly prunePoint: Uint8Array;
  /** Prune points where a state is always stored (the kernel's force_checkpoint): may_goto and calls of callback helpers, where loops converge. */
  readonly forceCheckpoint: Uint8Array;
  /** Registers (bit i = ri) that may be read before written, from each instruction on, within its frame. */
  readonly liveIn: Uint16Array;
}

function jumpTarget(prog: Program, i: number, def: InsnDef): number {
  return i + 1 + (def.shape === Shape.Ja32 ? prog.imm[i]! : prog.off[i]!);
}

export function subprogEnd(cfg: Cfg, start: number, n: number): number {
  const k = cfg.subprogs.indexOf(start);
  return k + 1 < cfg.subprogs.length ? cfg.subprogs[k + 1]! : n;
}

export function analyzeCfg(prog: Program, privileged: boolean): Cfg {
  const n = prog.length;
  if (n === 0) reject('no bpf program');
  // Subprograms: call targets and lddw func targets.
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const op = prog.op[i]!;
    if (op === LDDW_SECOND_HALF) continue;
    const def = INSNS[op]!;
    const isFunc = def.shape === Shape.Lddw && prog.src[i] === PseudoLd.FUNC;
    if (def.shape === Shape.CallLocal || isFunc) {
      const t = i + 1 + prog.imm[i]!;
      if (t < 0 || t >= n) reject(`call to invalid destination`);
      starts.add(t);
    }
  }
  const subprogs = [...starts].sort((a, b) => a - b);
  // Jumps stay inside their subprogram; each subprogram ends with exit or goto.
  for (let k = 0; k < subprogs.length; k++) {
    const lo = subprogs[k]!;
    const hi = k + 1 < subprogs.length ? subprogs[k + 1]! : n;
    for (let i = lo; i < hi; i++) {
      const op = prog.op[i]!;
      if (op === LDDW_SECOND_HALF) continue;
      const def = INSNS[op]!;
      if (isJump(def.shape)) {
        const t = jumpTarget(prog, i, def);
        if (t < lo || t >= hi) reject(`jump out of range from insn ${i} to ${t}`);
      }
      const last = i + def.slots - 1 === hi - 1;
      if (last && def.shape !== Shape.Exit && def.shape !== Shape.Ja && def.shape !== Shape.Ja32) {
        if (def.slots === 2 && i + 1 >= hi) reject('invalid bpf_ld_imm64 insn');
        reject('last insn is not an exit or jmp');
      }
    }
  }
  // Depth-first walk: reachability and back-edges.
  const prunePoint = new Uint8Array(n);
  const forceCheckpoint = new Uint8Array(n);
  const state = new Uint8Array(n); // 0 unseen, 1 on the DFS stack, 2 done
  const edge = (from: number, to: number, fresh: number[]): void => {
    if (to < 0 || to >= n) reject(`jump out of range from insn ${from} to ${to}`);
    if (prog.op[to] === LDDW_SECOND_HALF) reject(`jump into the middle of ldimm64 insn ${to - 1}`);
    if (state[to] === 1) {
      if (!privileged) reject(`back-edge from insn ${from} to ${to}`);
      prunePoint[to] = 1;
    } else if (state[to] === 0) {
      fresh.push(to);
    }
  };
  for (const entry of subprogs) {
    if (state[entry] !== 0) continue;
    // Iterative DFS with explicit post-order marking.
    const visit = (i: number): number[] => {
      const op = prog.op[i]!;
      const def = INSNS[op];
      // A subprogram may start on bytes the table does not know (lddw func target inside an lddw, unvalidated decode).
      if (def === undefined) reject(`unknown opcode ${prog.opcode[i]!.toString(16).padStart(2, '0')}`);
      const succ: number[] = [];
      if (def.shape === Shape.Exit) return succ;
      if (def.shape === Shape.Ja || def.shape === Shape.Ja32) {
        const t = jumpTarget(prog, i, def);
        prunePoint[t] = 1;
        succ.push(t);
        return succ;
      }
      if (def.shape === Shape.JmpImm || def.shape === Shape.JmpReg || def.shape === Shape.MayGoto) {
        const t = jumpTarget(prog, i, def);
        prunePoint[t] = 1;
        // may_goto is itself a prune point with a forced checkpoint: its loop converges there.
        if (def.shape === Shape.MayGoto) prunePoint[i] = forceCheckpoint[i] = 1;
        if (i + 1 < n) prunePoint[i + 1] = 1;
        succ.push(i + 1, t);
        return succ;
      }
      if (def.shape === Shape.CallLocal || def.shape === Shape.Call || def.shape === Shape.CallKfunc) {
        if (i + 1 < n) prunePoint[i + 1] = 1;
      }
      // A helper that calls a callback is walked again after each callback body: its iterations converge there.
      if (def.shape === Shape.Call && isCallbackHelper(prog.imm[i]!)) prunePoint[i] = forceCheckpoint[i] = 1;
      succ.push(i + def.slots);
      return succ;
    };
    // Recursive structure emulated: frames of (insn, successors, next index).
    const frames: { i: number; succ: number[]; k: number }[] = [];
    state[entry] = 1;
    frames.push({ i: entry, succ: visit(entry), k: 0 });
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      if (f.k < f.succ.length) {
        const to = f.succ[f.k++]!;
        const pending: number[] = [];
        edge(f.i, to, pending);
        if (pending.length > 0) {
          state[to] = 1;
          frames.push({ i: to, succ: visit(to), k: 0 });
        }
      } else {
        state[f.i] = 2;
        frames.pop();
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if (prog.op[i] === LDDW_SECOND_HALF) continue;
    if (state[i] === 0) reject(`unreachable insn ${i}`);
  }
  return { subprogs, prunePoint, forceCheckpoint, liveIn: liveness(prog) };
}

const ARGS = 0b111110; // r1..r5
const CALLER_SAVED = 0b111111; // r0..r5

/** Registers instruction i reads and writes (bit i = ri), and its successors within the frame. */
export function useDef(prog: Program, i: number, succ?: number[]): { use: number; def: number } {
    const op = prog.op[i]!;
    if (op === LDDW_SECOND_HALF) return { use: 0, def: 0 };
    const d = INSNS[op]!;
    const n = prog.length;
    const dst = 1 << prog.dst[i]!;
    const src = 1 << prog.src[i]!;
    let u = 0, w = 0;
    let next = true;
    succ ??= [];
    switch (d.shape) {
      case Shape.AluImm: u = d.llvm === '=' ? 0 : dst; w = dst; break;
      case Shape.AluReg: u = (d.llvm === '=' ? 0 : dst) | src; w = dst; break;
      case Shape.Neg: case Shape.Endian: u = dst; w = dst; break;
      case Shape.MovSx: case Shape.AddrSpaceCast: u = src; w = dst; break;
      case Shape.Load: case Shape.LoadSx: u = src; w = dst; break;
      case Shape.Store: u = dst; break;
      case Shape.StoreReg: u = dst | src; break;
      case Shape.Atomic: {
        const imm = prog.imm[i]!;
        u = dst | src;
        if (imm === AtomicOp.CMPXCHG) { u |= 1; w = 1; } else if (imm & AtomicOp.FETCH) w = src;
        break;
      }
      case Shape.Lddw: w = dst; break;
      case Shape.LdAbs: u = 1 << 6; w = CALLER_SAVED; break;
      case Shape.LdInd: u = (1 << 6) | src; w = CALLER_SAVED; break;
      case Shape.JmpImm: u = dst; succ.push(i + 1 + prog.off[i]!); break;
      case Shape.JmpReg: u = dst | src; succ.push(i + 1 + prog.off[i]!); break;
      case Shape.MayGoto: succ.push(i + 1 + prog.off[i]!); break;
      case Shape.Ja: succ.push(i + 1 + prog.off[i]!); next = false; break;
      case Shape.Ja32: succ.push(i + 1 + prog.imm[i]!); next = false; break;
      case Shape.Call: case Shape.CallLocal: case Shape.CallKfunc: u = ARGS; w = CALLER_SAVED; break;
      case Shape.Callx: u = ARGS | dst; w = CALLER_SAVED; break;
      case Shape.Exit: u = 1; next = false; break;
    }
    if (next && i + d.slots < n) succ.push(i + d.slots);
    return { use: u, def: w };
}

/** Backward may-read analysis per instruction (registers only, within a frame). */
export function liveness(prog: Program): Uint16Array {
  const n = prog.length;
  const use = new Uint16Array(n);
  const def = new Uint16Array(n);
  const succ: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    succ[i] = [];
    const ud = useDef(prog, i, succ[i]);
    use[i] = ud.use;
    def[i] = ud.def;
  }
  const live = new Uint16Array(n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      if (prog.op[i] === LDDW_SECOND_HALF) continue;
      let out = 0;
      for (const s of succ[i]!) if (s >= 0 && s < n) out |= live[s]!;
      const v = (use[i]! | (out & ~def[i]!)) & 0x7ff;
      if (v !== live[i]) {
        live[i] = v;
        changed = true;
      }
    }
  }
  return live;
}
