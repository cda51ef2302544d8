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
// and the same down the false side of an `and` chain. Only blocks the start
// of the chain dominates move, so no other path sees a change. Reordering
// the tests of one chain does not change where a packet goes, except when a
// skipped test's load would have failed (the packet is shorter than the
// capture needs): the result then changes exactly as libpcap's, which is
// what tsbpf wants (it selects what tcpdump selects). Run to a fixed point
// with jump threading, as libpcap repeats its passes.

import { reachable, type Block } from './blocks.js';

/** The value a block leaves in A: blocks with the same statements load the same value. */
const aValue = (b: Block): string => b.stmtsKey;

/** Bounds the quadratic dominator sets: larger graphs are left as they are. */
const MAX_BLOCKS = 3000;

interface Graph {
  readonly order: Block[];
  readonly preds: Map<Block, Block[]>;
  readonly dom: Map<Block, Set<Block>>;
}

function analyse(root: Block): Graph {
  const order = reachable(root);
  const preds = new Map<Block, Block[]>();
  for (const b of order) {
    for (const s of [b.jt, b.jf]) {
      if (s === undefined) continue;
      const l = preds.get(s) ?? [];
      if (!l.includes(b)) l.push(b);
      preds.set(s, l);
    }
  }
  // Dominators in topological order: every predecessor is done first.
  const dom = new Map<Block, Set<Block>>();
  for (const b of order) {
    const ps = preds.get(b) ?? [];
    let d: Set<Block> | undefined;
    for (const p of ps) {
      const pd = dom.get(p)!;
      d = d === undefined ? new Set(pd) : new Set([...d].filter((x) => pd.has(x)));
    }
    const mine = d ?? new Set<Block>();
    mine.add(b);
    dom.set(b, mine);
  }
  return { order, preds, dom };
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
 * One pullup at b: `same` is the side all the chain's tests share (jt for
 * or_pullup), the chain goes down the other side. Returns the new root when
 * something moved, undefined otherwise.
 */
function pullup(g: Graph, root: Block, b: Block, same: Side): Block | undefined {
  const down: Side = same === 'jt' ? 'jf' : 'jt';
  const ps = g.preds.get(b);
  if (ps === undefined || ps.length === 0) return undefined;
  const val = aValue(ps[0]!);
  if (ps.some((p) => aValue(p) !== val)) return undefined;
  const dominated = (x: Block): boolean => g.dom.get(x)!.has(b);
  const sameTarget = (x: Block): boolean => x.ret === undefined && x[same] === b[same] && dominated(x);
  // diff: the first block of the chain (from b) that leaves another value in A.
  let diffParent: Block | undefined;
  let diff = b;
  for (;;) {
    if (!sameTarget(diff)) return undefined;
    if (aValue(diff) !== val) break;
    diffParent = diff;
    diff = diff[down]!;
  }
  // pull: a later block of the chain that tests the value of A again.
  let pullParent = diff;
  let pull = diff[down]!;
  for (;;) {
    if (!sameTarget(pull)) return undefined;
    if (aValue(pull) === val) break;
    pullParent = pull;
    pull = pull[down]!;
  }
  pullParent[down] = pull[down];
  pull[down] = diff;
  if (diffParent !== undefined) {
    diffParent[down] = pull;
    return root;
  }
  // At the top of the chain every predecessor of b now goes to pull.
  for (const p of ps) {
    if (p.jt === b) p.jt = pull;
    if (p.jf === b) p.jf = pull;
  }
  return root === b ? pull : root;
}

/** Apply or_pullup and and_pullup until nothing moves, threading in between (`thread` is jump threading). */
export function pullups(root: Block, thread: (r: Block) => Block): Block {
  for (let rounds = 0; rounds < 1000; rounds++) {
    const g = analyse(root);
    if (g.order.length > MAX_BLOCKS) return root;
    let moved: Block | undefined;
    for (const b of levels(g.order)) {
      moved = pullup(g, root, b, 'jt') ?? pullup(g, root, b, 'jf');
      if (moved !== undefined) break;
    }
    if (moved === undefined) return root;
    root = thread(moved);
  }
  return root;
}
