// From Cond to classic instructions: build the block graph (blocks.ts),
// thread jumps (thread.ts) and pull tests up their or/and chains
// (pullup.ts) to a fixed point, drop loads that every predecessor has
// already done, merge blocks that emit the same code, and lay out. Layout
// is topological, so every jump between blocks goes forward (a backward
// jump only exists inside one block's statements: protochain's loop); a
// jump longer than the 8-bit jt/jf fields allow goes through a `ja`
// trampoline. Each step is one of libpcap's optimiser's, so `-d` prints
// what tcpdump -d prints for nearly every expression of the corpus.

import { BPF_CLASS, BPF_JMP_OP, BPF_MISCOP, BPF_MODE, classOf, insn, miscOpOf, modeOf, type ClassicInsn } from '../insn.js';
import { Builder, predecessors, reachable, sameStmts, type Block } from './blocks.js';
import type { Cond } from './cond.js';
import { pullups } from './pullup.js';
import { thread } from './thread.js';

export interface EmitOptions {
  /** Value returned for an accepted packet (libpcap returns the snapshot length). */
  readonly accept: number;
  /** Run jump threading and redundant-load removal (default true). */
  readonly optimize?: boolean;
}

/** The emitted program, and whether the filter rejects everything. */
export interface Emitted {
  readonly insns: ClassicInsn[];
  readonly rejectsAll: boolean;
}

/** The X-setting statement a block leaves in effect, when it depends on the packet alone. */
function xSource(b: Block): string | undefined {
  for (let i = b.stmts.length - 1; i >= 0; i--) {
    const s = b.stmts[i]!;
    const cls = classOf(s.code);
    if (cls === BPF_CLASS.MISC && miscOpOf(s.code) === BPF_MISCOP.TAX) return undefined;
    if (cls === BPF_CLASS.LDX) return modeOf(s.code) === BPF_MODE.MEM ? undefined : `${s.code}:${s.k}`;
  }
  return undefined;
}

/**
 * Whether A and X are each written at most once by the list. Only then does
 * every statement of a repeated list find its value already in place, which
 * is what libpcap's optimiser needs to drop it: after `ldb [16]; and #0xef`
 * A holds the AND, so a second `ldb [16]` changes A and both stay.
 */
function writesOnce(stmts: readonly ClassicInsn[]): boolean {
  let a = 0;
  let x = 0;
  for (const s of stmts) {
    const cls = classOf(s.code);
    if (cls === BPF_CLASS.LD || cls === BPF_CLASS.ALU || (cls === BPF_CLASS.MISC && miscOpOf(s.code) === BPF_MISCOP.TXA)) a++;
    else if (cls === BPF_CLASS.LDX || (cls === BPF_CLASS.MISC && miscOpOf(s.code) === BPF_MISCOP.TAX)) x++;
  }
  return a <= 1 && x <= 1;
}

/**
 * Skip statements whose effect every predecessor already left behind: the
 * whole list when all predecessors ran the same list, else a leading
 * `ldxb 4*([k]&0xf)` when all predecessors left X set by the same load.
 */
function dropRedundantLoads(order: Block[]): void {
  const preds = predecessors(order);
  for (const b of order) {
    const ps = preds.get(b);
    if (b.ret !== undefined || b.stmts.length === 0 || ps === undefined || hasInnerJumps(b)) continue;
    if (ps.every((p) => sameStmts(p.stmts, b.stmts)) && writesOnce(b.stmts)) {
      b.skip = b.stmts.length;
      continue;
    }
    const first = b.stmts[0]!;
    if (classOf(first.code) === BPF_CLASS.LDX && modeOf(first.code) !== BPF_MODE.MEM) {
      const key = `${first.code}:${first.k}`;
      if (ps.every((p) => xSource(p) === key)) b.skip = 1;
    }
  }
}

/**
 * Blocks that would emit the same instructions and jump to the same places
 * become one (libpcap's optimiser does the same, so `-d` listings agree):
 * `tcp or udp` ends in one `jeq #0x11` whichever path loaded A. Emitted
 * instructions, not statement lists, are compared: a block whose loads were
 * dropped (skip) relies on every predecessor having left A and X as its
 * statements would, and the instructions it runs are the same either way.
 * Blocks are visited successors first, so their targets are already merged.
 */
function mergeIdentical(root: Block, order: Block[]): Block {
  const canon = new Map<Block, Block>();
  const byKey = new Map<string, Block>();
  const rep = (b: Block): Block => canon.get(b) ?? b;
  for (let i = order.length - 1; i >= 0; i--) {
    const b = order[i]!;
    if (b.ret === undefined) {
      b.jt = rep(b.jt!);
      b.jf = rep(b.jf!);
    }
    const emitted = b.stmts.slice(b.skip).map((s) => `${s.code}:${s.k}:${s.jt}:${s.jf}`).join(',');
    const key = b.ret !== undefined ? `ret ${b.ret}` : `${emitted}|${b.code}:${b.k}|${b.jt!.id}|${b.jf!.id}`;
    const seen = byKey.get(key);
    if (seen !== undefined) canon.set(b, seen);
    else byKey.set(key, b);
  }
  return rep(root);
}

/** A block whose statements jump among themselves (protochain's loop): its list is emitted whole. */
function hasInnerJumps(b: Block): boolean {
  return b.stmts.some((s) => classOf(s.code) === BPF_CLASS.JMP);
}

/** Lay out blocks and resolve jumps, adding `ja` trampolines for jumps beyond 255. */
function layout(order: Block[]): ClassicInsn[] {
  const far = new Map<Block, { jt: boolean; jf: boolean }>();
  for (const b of order) far.set(b, { jt: false, jf: false });
  const start = new Map<Block, number>();
  const size = (b: Block): number => {
    const f = far.get(b)!;
    return b.stmts.length - b.skip + 1 + (f.jt ? 1 : 0) + (f.jf ? 1 : 0);
  };
  for (;;) {
    let pc = 0;
    for (const b of order) {
      start.set(b, pc);
      pc += size(b);
    }
    let grew = false;
    for (const b of order) {
      if (b.ret !== undefined) continue;
      const f = far.get(b)!;
      const jpc = start.get(b)! + b.stmts.length - b.skip;
      for (const side of ['jt', 'jf'] as const) {
        if (!f[side] && start.get(b[side]!)! - jpc - 1 > 255) {
          f[side] = true;
          grew = true;
        }
      }
    }
    if (!grew) break;
  }
  const out: ClassicInsn[] = [];
  for (const b of order) {
    // Jumps inside a statement list are relative to the list, which stays contiguous.
    for (const s of b.stmts.slice(b.skip)) out.push(insn(s.code, s.k, s.jt, s.jf));
    if (b.ret !== undefined) {
      out.push(insn(b.code, b.k));
      continue;
    }
    const f = far.get(b)!;
    const jpc = out.length;
    const tJt = jpc + 1;
    const tJf = jpc + 1 + (f.jt ? 1 : 0);
    const target = (s: 'jt' | 'jf'): number => start.get(b[s]!)!;
    const jt = (f.jt ? tJt : target('jt')) - jpc - 1;
    const jf = (f.jf ? tJf : target('jf')) - jpc - 1;
    out.push(insn(b.code, b.k, jt, jf));
    if (f.jt) out.push(insn(BPF_CLASS.JMP | BPF_JMP_OP.JA, target('jt') - tJt - 1));
    if (f.jf) out.push(insn(BPF_CLASS.JMP | BPF_JMP_OP.JA, target('jf') - tJf - 1));
  }
  return out;
}

/** Compile a Cond into a classic program ending in `ret #accept` / `ret #0`. */
export function emitProgram(c: Cond, opts: EmitOptions): Emitted {
  const bld = new Builder(opts.accept);
  let root = bld.build(c, bld.accept, bld.reject);
  if (opts.optimize !== false) root = pullups(thread(root), (r) => thread(r));
  let order = reachable(root);
  if (opts.optimize !== false) {
    dropRedundantLoads(order);
    root = mergeIdentical(root, order);
    order = reachable(root);
  }
  return { insns: layout(order), rejectsAll: root === bld.reject && provablyRejectsAll(c, opts.accept) };
}

/**
 * tcpdump refuses a filter its optimiser proves matches nothing. Value sets
 * let tsbpf prove more than libpcap does (`(ip or arp) and ip6`), so the
 * refusal uses a weaker analysis; a filter only tsbpf sees through still
 * compiles, to `ret #0`.
 */
function provablyRejectsAll(c: Cond, accept: number): boolean {
  const bld = new Builder(accept);
  return thread(bld.build(c, bld.accept, bld.reject), false) === bld.reject;
}
