// libpcap's or_pullup and and_pullup (optimize.c), written for tsbpf's
// block graph: in a chain of tests that all jump to the same place on true
// (an `or` chain: `port 8080 or 443` on one side), a test of the value A
// already holds is moved up, before the tests that load something else, so
// that it needs no load of its own:
//
//   ldh [54]; jeq #8080 -> T        ldh [54]; jeq #8080 -> T
//   ldh [56]; jeq #8080 -> T   =>             jeq #443  -> T
//   ldh [54]; jeq #443  -> T        ldh [56]; jeq #8080 -> T
//
// and the same down the false side of an `and` chain. Only blocks entered
// from nowhere else move, so no other path sees a change. Reordering
// the tests of one chain does not change where a packet goes, except when a
// skipped test's load would have failed (the packet is shorter than the
// capture needs): the result then changes exactly as libpcap's, which is
// what tsbpf wants (it selects what tcpdump selects). Run to a fixed point
// with jump threading, as libpcap repeats its passes.

import { predecessors, reachable, type Block } from './blocks.js';

/** The value a block leaves in A: blocks with the same statements load the same value. */
const aValue = (b: Block): string => b.stmtsKey;

interface Graph {
  readonly order: Block[];
  /** Predecessors, kept up to date as blocks move. */
  readonly preds: Map<Block, Block[]>;
}

function analyse(root: Block): Graph {
  const order = reachable(root);
  const preds = predecessors(order);
  return { order, preds };
}

/** Height above the returns: libpcap visits blocks by level, lowest first. */
function levels(order: Block[]): Block[] {
  const level = new Map<Block, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const b = order[i]!;
    level.set(b, b.ret !== undefined ? 0 : 1 + Math.max(level.get(b.jt!)!, level.get(b.jf!)!));
  }
  return order.filter((b) => b.ret === undefined).sort((x, y) => level.get(x)! - level.get(y)!);
}

type Side = 'jt' | 'jf';

/**
 * The pullups at b: `same` is the side all the chain's tests share (jt for
 * or_pullup), the chain goes down the other side. libpcap pulls one block
 * at a time and starts again; pulling every later block of the value at
 * once, each behind the one pulled before, gives the same order in one walk.
 * libpcap asks that b dominate the blocks it moves; tsbpf asks a little
 * more, which is what makes the move sound: every block from `diff` down to
 * a pulled one is entered only from the block above it in the chain (b
 * itself may have several predecessors: they all go to the first pulled
 * block afterwards). A packet then meets the same tests in another order,
 * and all of them lead to the same place when true. Returns whether
 * something moved.
 */
function pullup(g: Graph, b: Block, same: Side): boolean {
  const down: Side = same === 'jt' ? 'jf' : 'jt';
  const ps = g.preds.get(b);
  if (ps === undefined || ps.length === 0) return false;
  const val = aValue(ps[0]!);
  if (ps.some((p) => aValue(p) !== val)) return false;
  const onlyFrom = (x: Block, parent: Block): boolean => {
    const xp = g.preds.get(x)!;
    return xp.length === 1 && xp[0] === parent;
  };
  const inChain = (x: Block): boolean => x.ret === undefined && x[same] === b[same];
  // diff: the first block of the chain (from b) that leaves another value in A; last: the block above it.
  let last: Block | undefined;
  let diff = b;
  for (;;) {
    if (!inChain(diff) || (last !== undefined && aValue(diff) !== val && !onlyFrom(diff, last))) return false;
    if (aValue(diff) !== val) break;
    last = diff;
    diff = diff[down]!;
  }
  // Every later block of the chain that tests the value of A again moves up behind `last`.
  let moved = false;
  let prev = diff;
  let cur = diff[down]!;
  while (inChain(cur) && onlyFrom(cur, prev)) {
    if (aValue(cur) !== val) {
      prev = cur;
      cur = cur[down]!;
      continue;
    }
    const after = cur[down]!;
    prev[down] = after;
    const afterPreds = g.preds.get(after)!;
    afterPreds[afterPreds.indexOf(cur)] = prev;
    cur[down] = diff;
    if (last !== undefined) {
      last[down] = cur;
      g.preds.set(cur, [last]);
    } else {
      // At the top of the chain every predecessor of b now goes to the pulled block.
      for (const p of ps) {
        if (p.jt === b) p.jt = cur;
        if (p.jf === b) p.jf = cur;
      }
      g.preds.set(cur, ps);
    }
    g.preds.set(diff, [cur]);
    last = cur;
    moved = true;
    cur = after;
  }
  return moved;
}

/**
 * Chain walks make a pass quadratic in the worst case: larger graphs (a
 * list of some 300 hosts) are left as threading made them. Forgetting only
 * costs optimisation, never correctness.
 */
const MAX_BLOCKS = 3000;

/** Apply or_pullup and and_pullup until nothing moves, threading after each pass (`thread` is jump threading). */
export function pullups(root: Block, thread: (r: Block) => Block): Block {
  for (let pass = 0; pass < 100; pass++) {
    const g = analyse(root);
    if (g.order.length > MAX_BLOCKS) return root;
    let moved = false;
    for (const b of levels(g.order)) {
      if (pullup(g, b, 'jt')) moved = true;
      if (pullup(g, b, 'jf')) moved = true;
    }
    if (!moved) return root;
    // The root has no predecessors, so no move replaced it.
    root = thread(root);
  }
  return root;
}
