// From Cond to classic instructions. The formula becomes a DAG of blocks by
// continuation passing (each test knows where "true" and "false" go, so
// `and`/`or`/`not` need no code of their own). Two cheap optimisations
// follow: jump threading, which skips a test whose outcome is already known
// because an earlier test loaded the same packet bytes (`ip and tcp` checks
// the Ethernet type once), and dropping loads that every predecessor has
// already done. Layout is topological, so every jump goes forward; a jump
// longer than the 8-bit jt/jf fields allow goes through a `ja` trampoline.

import { BPF_CLASS, BPF_JMP_OP, BPF_RVAL, BPF_SRC, insn, opOf, srcOf, type ClassicInsn } from '../insn.js';
import type { Cond } from './cond.js';

interface Block {
  readonly id: number;
  /** Statements that set A and X for the test; pure functions of the packet. */
  readonly stmts: readonly ClassicInsn[];
  /** `stmts` as a string, and the whole test as a string (for the threading facts). */
  readonly stmtsKey: string;
  readonly testKey: string;
  readonly code: number;
  readonly k: number;
  /** Return blocks: the value returned. */
  readonly ret?: number;
  jt?: Block;
  jf?: Block;
  /** False when every predecessor leaves A and X exactly as `stmts` would. */
  emitStmts: boolean;
}

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

class Builder {
  private nextId = 0;
  readonly accept: Block;
  readonly reject: Block;

  constructor(acceptValue: number) {
    this.accept = this.ret(acceptValue);
    this.reject = this.ret(0);
  }

  private ret(v: number): Block {
    return { id: this.nextId++, stmts: [], stmtsKey: '', testKey: `ret ${v}`, code: BPF_CLASS.RET | BPF_RVAL.K, k: v >>> 0, ret: v >>> 0, emitStmts: true };
  }

  build(c: Cond, t: Block, f: Block): Block {
    switch (c.t) {
      case 'const':
        return c.v ? t : f;
      case 'and':
        return this.build(c.a, this.build(c.b, t, f), f);
      case 'or':
        return this.build(c.a, t, this.build(c.b, t, f));
      case 'not':
        return this.build(c.a, f, t);
      case 'test': {
        const stmtsKey = c.stmts.map((s) => `${s.code}:${s.k}`).join(',');
        return { id: this.nextId++, stmts: c.stmts, stmtsKey, testKey: `${stmtsKey}|${c.code}:${c.k}`, code: c.code, k: c.k, jt: t, jf: f, emitStmts: true };
      }
    }
  }
}

function sameStmts(a: readonly ClassicInsn[], b: readonly ClassicInsn[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.code !== b[i]!.code || a[i]!.k !== b[i]!.k) return false;
  return true;
}

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

/** Facts that hold on both of two incoming edges. */
function meet(a: Facts, b: Facts): Facts {
  const g: Facts = { vals: new Map(), neq: new Map(), outs: new Map() };
  for (const [k, s] of a.vals) {
    const t = b.vals.get(k);
    if (t !== undefined) {
      const union = new Set([...s, ...t]);
      if (union.size <= MAX_VALUES) g.vals.set(k, union);
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

function reachable(root: Block): Block[] {
  const seen = new Set<Block>();
  const order: Block[] = [];
  // Iterative post-order DFS (jt explored last so it tends to be laid out next).
  const stack: { b: Block; state: number }[] = [{ b: root, state: 0 }];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const next = top.state === 0 ? top.b.jf : top.state === 1 ? top.b.jt : undefined;
    top.state++;
    if (top.state > 2) {
      stack.pop();
      order.push(top.b);
    } else if (next !== undefined && !seen.has(next)) {
      seen.add(next);
      stack.push({ b: next, state: 0 });
    }
  }
  return order.reverse();
}

/** Jump threading: route each edge past tests whose outcome the path already decides. */
function thread(root: Block): Block {
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
        factsIn.set(b, prev ? meet(prev, fe) : fe);
      }
    }
  }
  return root;
}

function dropRedundantLoads(order: Block[]): void {
  const preds = new Map<Block, Block[]>();
  for (const b of order) {
    for (const s of [b.jt, b.jf]) {
      if (s === undefined) continue;
      const l = preds.get(s) ?? [];
      if (!l.includes(b)) l.push(b);
      preds.set(s, l);
    }
  }
  for (const b of order) {
    const ps = preds.get(b);
    if (b.ret === undefined && b.stmts.length > 0 && ps !== undefined && ps.every((p) => sameStmts(p.stmts, b.stmts))) b.emitStmts = false;
  }
}

/** Lay out blocks and resolve jumps, adding `ja` trampolines for jumps beyond 255. */
function layout(order: Block[]): ClassicInsn[] {
  const far = new Map<Block, { jt: boolean; jf: boolean }>();
  for (const b of order) far.set(b, { jt: false, jf: false });
  const start = new Map<Block, number>();
  const size = (b: Block): number => {
    const f = far.get(b)!;
    return (b.emitStmts ? b.stmts.length : 0) + 1 + (f.jt ? 1 : 0) + (f.jf ? 1 : 0);
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
      const jpc = start.get(b)! + (b.emitStmts ? b.stmts.length : 0);
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
    if (b.emitStmts) out.push(...b.stmts.map((s) => insn(s.code, s.k)));
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
  if (opts.optimize !== false) root = thread(root);
  const order = reachable(root);
  if (opts.optimize !== false) dropRedundantLoads(order);
  return { insns: layout(order), rejectsAll: root === bld.reject };
}
