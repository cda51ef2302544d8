// bpf-to-bpf call frames of the interpreter. The register file is shared by
// every frame (as in the kernel's calling convention, r1..r5 pass arguments
// and r0 returns); a call saves what the callee must not change for its
// caller: r6..r9, the return pc and r10, which moves one stack frame down,
// and its may_goto budget (the callee starts a fresh one, as the kernel's
// per-function stack slot does).

import { STACK_SIZE } from '../../isa/fields.js';

/** Words per saved frame: r6..r9 as (lo, hi) halves, return pc, caller's r10, caller's may_goto budget. */
export const FRAME_WORDS = 11;

/** Enter a callee at depth + 1: save the caller's state in frame `depth`. */
export function pushFrame(frames: Int32Array, depth: number, regs: Int32Array, returnPc: number, loops: number): void {
  const f = depth * FRAME_WORDS;
  // unrolled: this runs on every local call
  frames[f] = regs[12]!;
  frames[f + 1] = regs[13]!;
  frames[f + 2] = regs[14]!;
  frames[f + 3] = regs[15]!;
  frames[f + 4] = regs[16]!;
  frames[f + 5] = regs[17]!;
  frames[f + 6] = regs[18]!;
  frames[f + 7] = regs[19]!;
  frames[f + 8] = returnPc;
  frames[f + 9] = regs[20]!;
  frames[f + 10] = loops;
  regs[20] = (regs[20]! - STACK_SIZE) | 0;
}

/** Return from a callee to frame `depth` (the caller's): restore its state, return its pc. */
export function popFrame(frames: Int32Array, depth: number, regs: Int32Array): number {
  const f = depth * FRAME_WORDS;
  regs[12] = frames[f]!;
  regs[13] = frames[f + 1]!;
  regs[14] = frames[f + 2]!;
  regs[15] = frames[f + 3]!;
  regs[16] = frames[f + 4]!;
  regs[17] = frames[f + 5]!;
  regs[18] = frames[f + 6]!;
  regs[19] = frames[f + 7]!;
  regs[20] = frames[f + 9]!;
  regs[21] = 0;
  return frames[f + 8]!;
}

/** The may_goto budget frame `depth` had when it made its call. */
export function savedLoops(frames: Int32Array, depth: number): number {
  return frames[depth * FRAME_WORDS + 10]!;
}
