// Jump threading over the block graph: on every edge, remember what the
// tests taken so far say about the values the statements load, and route
// the edge past tests whose outcome is already decided (`ip and tcp` checks
// the Ethernet type once; `ip6[6] = 6 and tcp[0] = 1` is found to reject
// everything). Statements are pure functions of the packet, so the same
// statement list loads the same value wherever it runs.

import { BPF_JMP_OP, BPF_SRC, opOf, srcOf } from '../insn.js';
import { reachable, type Block } from './blocks.js';

/** Outcome of a K-form jump when A is known to equal `a`. */
function evalK(code: number, k: number, a: number): boolean | undefined {
  if (srcOf(code) !== BPF_SRC.K) return undefined;
  switch (opOf(code)) {
    case BPF_JMP_OP.JEQ: return a === k;
    case BPF_JMP_OP.JGT: return a > k;
    case BPF_JMP_OP.JGE: return a >= k;
    case BPF_JMP_OP.JSET: return (a & k) !== 0;
    default: return undefined;
  }
}

/**
 * What is known on an edge. Statements are pure functions of the packet, so
 * a value loaded by one statement list is the same wherever that list runs
 * again: `vals` holds the possible values per statement list (after jeq
 * outcomes), `neq` values it cannot have, `outs` outcomes of tests already taken.
 */
interface Facts {
  readonly vals: Map<string, ReadonlySet<number>>;
  readonly neq: Map<string, ReadonlySet<number>>;
  readonly outs: Map<string, boolean>;
}

const stmtsKey = (b: Block): string => b.stmtsKey;
const testKey = (b: Block): string => b.testKey;

/**
 * Bounds on what an edge remembers, so that threading stays linear on long
 * filters (`host a or host b or ...` would otherwise copy ever-growing sets).
 * Forgetting only costs optimisation, never correctness.
 */
const MAX_VALUES = 16;
const MAX_OUTCOMES = 32;

function capped<K, V>(m: Map<K, V>, max: number): Map<K, V> {
  while (m.size > max) m.delete(m.keys().next().value as K);
  return m;
}
const isJeqK = (code: number): boolean => opOf(code) === BPF_JMP_OP.JEQ && srcOf(code) === BPF_SRC.K;

function decide(f: Facts, b: Block): boolean | undefined {
  const known = f.outs.get(testKey(b));
  if (known !== undefined) return known;
  const sk = stmtsKey(b);
  const possible = f.vals.get(sk);
  if (possible !== undefined && possible.size > 0) {
    let out: boolean | undefined;
    for (const v of possible) {
      const o = evalK(b.code, b.k, v);
      if (o === undefined || (out !== undefined && o !== out)) return undefined;
      out = o;
    }
    return out;
  }
  if (isJeqK(b.code) && f.neq.get(sk)?.has(b.k)) return false;
  return undefined;
}

function extend(f: Facts, b: Block, out: boolean): Facts {
  const g: Facts = { vals: new Map(f.vals), neq: new Map(f.neq), outs: new Map(f.outs) };
  if (!isJeqK(b.code)) {
    // jeq outcomes are kept as values below; other tests (jset, jgt...) by identity.
    g.outs.delete(testKey(b));
    g.outs.set(testKey(b), out);
    capped(g.outs, MAX_OUTCOMES);
  } else {
    const sk = stmtsKey(b);
    if (out) g.vals.set(sk, new Set([b.k]));
    else {
      const prev = [...(f.neq.get(sk) ?? [])].slice(-(MAX_VALUES - 1));
      g.neq.set(sk, new Set([...prev, b.k]));
      const possible = f.vals.get(sk);
      if (possible !== undefined) g.vals.set(sk, new Set([...possible].filter((v) => v !== b.k)));
    }
  }
  return g;
}

/**
 * Facts that hold on both of two incoming edges. With `valueSets` false only
 * a value known on both edges survives (a weaker analysis, closer to what
 * libpcap's optimiser can prove).
 */
function meet(a: Facts, b: Facts, valueSets: boolean): Facts {
  const g: Facts = { vals: new Map(), neq: new Map(), outs: new Map() };
  for (const [k, s] of a.vals) {
    const t = b.vals.get(k);
    if (t !== undefined) {
      const union = new Set([...s, ...t]);
      if (union.size <= (valueSets ? MAX_VALUES : 1)) g.vals.set(k, union);
    }
  }
  for (const [k, v] of a.outs) if (b.outs.get(k) === v) g.outs.set(k, v);
  for (const [k, s] of a.neq) {
    const t = b.neq.get(k);
    if (t) {
      const both = new Set([...s].filter((x) => t.has(x)));
      if (both.size > 0) g.neq.set(k, both);
    }
  }
  return g;
}

/** Jump threading: route each edge past tests whose outcome the path already decides. */
export function thread(root: Block, valueSets = true): Block {
  for (let changed = true; changed; ) {
    changed = false;
    while (root.ret === undefined && root.jt === root.jf) {
      root = root.jt!;
      changed = true;
    }
    const factsIn = new Map<Block, Facts>([[root, { vals: new Map(), neq: new Map(), outs: new Map() }]]);
    for (const p of reachable(root)) {
      const f = factsIn.get(p);
      if (p.ret !== undefined || f === undefined) continue;
      for (const side of ['jt', 'jf'] as const) {
        let fe = extend(f, p, side === 'jt');
        let b = p[side]!;
        while (b.ret === undefined) {
          if (b.jt === b.jf) {
            b = b.jt!;
          } else {
            const d = decide(fe, b);
            if (d === undefined) break;
            fe = extend(fe, b, d);
            b = d ? b.jt! : b.jf!;
          }
          changed = true;
        }
        p[side] = b;
        const prev = factsIn.get(b);
        factsIn.set(b, prev ? meet(prev, fe, valueSets) : fe);
      }
    }
  }
  return root;
}
