// The block graph classic code is made of: each block runs pure statements
// and ends in a conditional jump (or is a return). Cond formulas become
// blocks by continuation passing: each test knows where "true" and "false"
// go, so `and`/`or`/`not` need no code of their own.

import { BPF_CLASS, BPF_RVAL, type ClassicInsn } from '../insn.js';
import type { Cond } from './cond.js';

export interface Block {
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
  /** Leading statements not emitted because every predecessor already leaves their effect in A/X. */
  skip: number;
}

export class Builder {
  private nextId = 0;
  readonly accept: Block;
  readonly reject: Block;

  constructor(acceptValue: number) {
    this.accept = this.ret(acceptValue);
    this.reject = this.ret(0);
  }

  private ret(v: number): Block {
    return { id: this.nextId++, stmts: [], stmtsKey: '', testKey: `ret ${v}`, code: BPF_CLASS.RET | BPF_RVAL.K, k: v >>> 0, ret: v >>> 0, skip: 0 };
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
        return { id: this.nextId++, stmts: c.stmts, stmtsKey, testKey: `${stmtsKey}|${c.code}:${c.k}`, code: c.code, k: c.k, jt: t, jf: f, skip: 0 };
      }
    }
  }
}

export function sameStmts(a: readonly ClassicInsn[], b: readonly ClassicInsn[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.code !== b[i]!.code || a[i]!.k !== b[i]!.k) return false;
  return true;
}

/** Each block's distinct predecessors among `order` (blocks no jump reaches have no entry). */
export function predecessors(order: readonly Block[]): Map<Block, Block[]> {
  const preds = new Map<Block, Block[]>();
  for (const b of order) {
    for (const s of [b.jt, b.jf]) {
      if (s === undefined) continue;
      const l = preds.get(s) ?? [];
      if (!l.includes(b)) l.push(b);
      preds.set(s, l);
    }
  }
  return preds;
}

/** Blocks reachable from root in topological order (every edge goes forward). */
export function reachable(root: Block): Block[] {
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
