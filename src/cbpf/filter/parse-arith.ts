// Arithmetic and relations of pcap-filter expressions: `ip[2:2] - ((ip[0] &
// 0xf) << 2) > 40`. An operator-precedence parse that reproduces the choices
// yacc makes for libpcap's grammar.

import type { Arith, ArithOp, Expr, ProtoQual, RelOp } from './ast.js';
import { FilterError } from './errors.js';
import { TokenCursor } from './parse-cursor.js';

/** Protocols that may be indexed with `proto[expr:size]`. */
export const INDEXABLE: ReadonlySet<string> = new Set([
  'link', 'ether', 'fddi', 'tr', 'wlan', 'ppp', 'slip', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'sctp', 'icmp',
  'icmp6', 'igmp', 'igrp', 'pim', 'vrrp', 'carp', 'radio', 'atalk', 'decnet', 'lat', 'sca', 'moprc', 'mopdl',
]);

export const RELOPS: ReadonlySet<string> = new Set(['>', '<', '>=', '<=', '=', '==', '!=']);

/**
 * Binary operator precedence as in libpcap's grammar. `%` and `^` have no
 * declared precedence there, so yacc resolves every conflict that involves
 * them by shifting: they group to the right against any neighbour.
 */
export const PREC: ReadonlyMap<string, number> = new Map([
  ['|', 1], ['&', 2], ['<<', 3], ['>>', 3], ['+', 4], ['-', 4], ['*', 5], ['/', 5], ['%', 0], ['^', 0],
]);

/** Link-layer spellings that all mean "the link layer". */
const LINK_ALIASES: ReadonlySet<string> = new Set(['link', 'ether', 'fddi', 'tr', 'wlan', 'ppp', 'slip']);

/** The protocol qualifier a keyword stands for. */
export function protoOf(kw: string): ProtoQual {
  if (LINK_ALIASES.has(kw)) return 'link';
  if (kw === 'es-is') return 'esis';
  if (kw === 'is-is') return 'isis';
  return kw as ProtoQual;
}

export abstract class ArithParser extends TokenCursor {
  /** A number, possibly in parentheses (libpcap's `pnum`). */
  protected parsePnum(): number {
    if (this.isOp(this.tok, '(')) {
      this.i++;
      const v = this.parsePnum();
      this.expectOp(')');
      return v;
    }
    if (this.tok.kind !== 'num') this.fail();
    return this.toks[this.i++]!.value;
  }

  /** arith relop arith */
  protected parseRelation(): Expr {
    const start = this.tok;
    const l = this.parseArith();
    const opTok = this.tok;
    if (opTok.kind !== 'op' || !RELOPS.has(opTok.text)) this.fail();
    this.i++;
    const r = this.parseArith();
    const op = (opTok.text === '=' ? '==' : opTok.text) as RelOp;
    return this.leaf({ t: 'rel', op, l, r, pos: start.pos });
  }

  /**
   * Operator-precedence parse that reproduces yacc's choices for libpcap's
   * grammar, including the right grouping around `%` and `^`.
   */
  protected parseArith(): Arith {
    type Pending = { op: string; pos: number };
    const vals: Arith[] = [];
    const ops: Pending[] = [];
    const reduce = (): void => {
      const p = ops.pop()!;
      if (p.op === 'neg') {
        // - - x is x (mod 2^32): folding keeps long runs of minus signs shallow.
        const v = vals.pop()!;
        vals.push(v.t === 'neg' ? v.e : { t: 'neg', e: v });
        return;
      }
      const r = vals.pop()!;
      const l = vals.pop()!;
      vals.push({ t: 'bin', op: p.op as ArithOp, l, r, pos: p.pos });
    };
    const shouldReduce = (top: string, next: string): boolean => {
      const pn = PREC.get(next)!;
      if (top === 'neg') return pn !== 0;
      const pt = PREC.get(top)!;
      if (pt === 0 || pn === 0) return false;
      return pt >= pn;
    };
    for (;;) {
      while (this.isOp(this.tok, '-')) {
        ops.push({ op: 'neg', pos: this.tok.pos });
        this.i++;
      }
      vals.push(this.parseArithPrimary());
      const t = this.tok;
      if (t.kind !== 'op' || !PREC.has(t.text)) break;
      while (ops.length > 0 && shouldReduce(ops[ops.length - 1]!.op, t.text)) reduce();
      ops.push({ op: t.text, pos: t.pos });
      this.i++;
    }
    while (ops.length > 0) reduce();
    return vals[0]!;
  }

  protected parseArithPrimary(): Arith {
    const t = this.tok;
    if (t.kind === 'num') {
      this.i++;
      return { t: 'num', value: t.value };
    }
    if (this.isKw(t, 'len')) {
      this.i++;
      return { t: 'len' };
    }
    if (this.isOp(t, '(')) {
      this.enter();
      this.i++;
      const e = this.parseArith();
      this.expectOp(')');
      this.depth--;
      return e;
    }
    if (t.kind === 'kw' && INDEXABLE.has(t.text) && this.isOp(this.peek(), '[')) {
      this.i += 2;
      const index = this.parseArith();
      let size = 1;
      if (this.isOp(this.tok, ':')) {
        this.i++;
        if (this.tok.kind !== 'num') this.fail();
        size = this.toks[this.i++]!.value;
      }
      this.expectOp(']');
      if (size !== 1 && size !== 2 && size !== 4) throw new FilterError('data size must be 1, 2, or 4', t.pos, this.src);
      return { t: 'load', proto: protoOf(t.text), index, size, pos: t.pos };
    }
    this.fail();
  }
}
