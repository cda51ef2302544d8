// Recursive-descent parser for pcap-filter expressions, following libpcap's
// grammar: `and`/`or` have equal precedence and group left to right, `not`
// binds tightest, and a bare id after `and`/`or` reuses the qualifiers of the
// primitive before it (`tcp port 80 or 443`). Where libpcap's LALR parser
// decides by look-ahead (is `(` a group or arithmetic?), this parser tries
// the arithmetic reading first and backtracks on a syntax error. Arithmetic
// lives in parse-arith.ts, the token cursor in parse-cursor.ts.

import type { DirQual, Expr, Id, ProtoQual, Quals, TypeQual } from './ast.js';
import { FilterError } from './errors.js';
import { scan } from './lexer.js';
import { ArithParser, INDEXABLE, PREC, RELOPS, protoOf } from './parse-arith.js';
import { Backtrack, type LeafHandler } from './parse-cursor.js';

export type { LeafHandler } from './parse-cursor.js';

/** Keywords that are protocol qualifiers. */
const PROTO_KWS: ReadonlySet<string> = new Set([
  'link', 'ether', 'fddi', 'tr', 'wlan', 'ppp', 'slip', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'sctp', 'icmp',
  'icmp6', 'igmp', 'igrp', 'pim', 'vrrp', 'carp', 'ah', 'esp', 'radio', 'atalk', 'aarp', 'decnet', 'lat', 'sca',
  'moprc', 'mopdl', 'iso', 'esis', 'es-is', 'isis', 'is-is', 'clnp', 'stp', 'ipx', 'netbeui', 'l1', 'l2', 'iih',
  'lsp', 'snp', 'csnp', 'psnp',
]);

const TYPE_KWS: ReadonlySet<string> = new Set(['host', 'net', 'port', 'portrange', 'gateway']);

/** Token limit: the later stages recurse over the tree, so its size is bounded too. */
export const MAX_TOKENS = 8000;

class Parser extends ArithParser {
  parseAll(): Expr {
    try {
      const { node } = this.parseExpr(null);
      if (this.tok.kind !== 'eof') this.fail();
      return node;
    } catch (e) {
      // Backtracking is internal; should one ever escape, it is still a syntax error.
      if (e instanceof Backtrack) this.fail();
      throw e;
    }
  }

  /** expr: term { (and|or) (term | id) } */
  private parseExpr(q0: Quals | null): { node: Expr; q: Quals | null } {
    let { node, q } = this.parseTerm(q0);
    while (this.isKw(this.tok, 'and', 'or') || this.isOp(this.tok, '&&', '||')) {
      const op = this.tok.text === 'and' || this.tok.text === '&&' ? 'and' : 'or';
      this.i++;
      const bare = this.attempt(() => this.parseBareId(q));
      const rhs = bare ?? this.parseTerm(q);
      node = { t: op, l: node, r: rhs.node };
      q = rhs.q;
    }
    return { node, q };
  }

  /** A bare id after and/or, using the qualifiers in force; `not id` and `(id or id)` too. */
  private parseBareId(q: Quals | null): { node: Expr; q: Quals | null } {
    const t = this.tok;
    if (this.isKw(t, 'not') || this.isOp(t, '!')) {
      const odd = this.skipNots();
      const inner = this.parseBareId(q);
      return { node: odd ? { t: 'not', e: inner.node } : inner.node, q: inner.q };
    }
    if (this.isOp(t, '(')) {
      // A parenthesised arithmetic relation is a term, not an id.
      if (this.attempt(() => this.parseRelation()) !== undefined) throw new Backtrack();
      return { node: this.parseIdGroup(q), q };
    }
    if (t.kind === 'num' && (RELOPS.has(this.peek().text) || PREC.has(this.peek().text)) && this.peek().kind === 'op') throw new Backtrack();
    if (!['num', 'hid', 'hid6', 'eid', 'id'].includes(t.kind)) throw new Backtrack();
    if (q === null) throw new FilterError('syntax error in filter expression', t.pos, this.src);
    return { node: this.parseId(q), q };
  }

  /** ( id { (and|or) id } ) with inherited qualifiers (libpcap's `paren pid ')'`). */
  private parseIdGroup(q: Quals | null): Expr {
    this.enter();
    this.expectOp('(');
    // Inside the group only ids may appear: anything else is a syntax error here.
    const id = (): Expr => {
      try {
        return this.parseBareId(q).node;
      } catch (e) {
        if (e instanceof Backtrack) this.fail();
        throw e;
      }
    };
    let node = id();
    while (this.isKw(this.tok, 'and', 'or') || this.isOp(this.tok, '&&', '||')) {
      const op = this.tok.text === 'and' || this.tok.text === '&&' ? 'and' : 'or';
      this.i++;
      node = { t: op, l: node, r: id() };
    }
    this.expectOp(')');
    this.depth--;
    return node;
  }

  private parseTerm(q: Quals | null): { node: Expr; q: Quals | null } {
    const t = this.tok;
    if (this.isKw(t, 'not') || this.isOp(t, '!')) {
      const odd = this.skipNots();
      const inner = this.parseTerm(q);
      return { node: odd ? { t: 'not', e: inner.node } : inner.node, q: inner.q };
    }
    if (this.isOp(t, '(')) {
      const rel = this.attempt(() => this.parseRelation());
      if (rel !== undefined) return { node: rel, q: null };
      this.enter();
      this.i++;
      const inner = this.parseExpr(q);
      this.expectOp(')');
      this.depth--;
      // libpcap restores the qualifiers that were in force before the group.
      return { node: inner.node, q };
    }
    if (t.kind === 'num' || this.isOp(t, '-') || this.isKw(t, 'len') || (t.kind === 'kw' && INDEXABLE.has(t.text) && this.isOp(this.peek(), '['))) {
      return { node: this.parseRelation(), q: null };
    }
    if (t.kind !== 'kw') this.fail();
    switch (t.text) {
      case 'less':
      case 'greater': {
        this.i++;
        const n = this.tok;
        if (n.kind !== 'num') this.fail();
        this.i++;
        return { node: this.leaf({ t: 'length', kind: t.text, value: n.value, pos: t.pos }), q: null };
      }
      case 'vlan':
      case 'mpls':
      case 'pppoes':
      case 'geneve': {
        this.i++;
        const value = this.tok.kind === 'num' || this.isOp(this.tok, '(') ? this.attempt(() => this.parsePnum()) : undefined;
        return { node: this.leaf({ t: 'encap', kind: t.text, value, pos: t.pos }), q: null };
      }
      case 'pppoed':
        this.i++;
        return { node: this.leaf({ t: 'encap', kind: 'pppoed', pos: t.pos }), q: null };
      case 'broadcast':
      case 'multicast':
        this.i++;
        return { node: this.leaf({ t: 'cast', kind: t.text, proto: 'default', pos: t.pos }), q: null };
      case 'inbound':
      case 'outbound':
        this.i++;
        return { node: this.leaf({ t: 'direction', outbound: t.text === 'outbound', pos: t.pos }), q: null };
      case 'ifindex': {
        this.i++;
        const n = this.tok;
        if (n.kind !== 'num') this.fail();
        this.i++;
        return { node: this.leaf({ t: 'ifindex', index: n.value, pos: t.pos }), q: null };
      }
      case 'llc': {
        this.i++;
        // `llc TYPE`: the type is a name (`rnr` happens to be a keyword too).
        const sub = this.tok.kind === 'id' || this.isKw(this.tok, 'rnr') ? this.toks[this.i++]!.text : undefined;
        return { node: this.leaf(sub === undefined ? { t: 'llc', pos: t.pos } : { t: 'llc', subtype: sub, pos: t.pos }), q: null };
      }
      case 'lane':
        this.i++;
        return { node: this.leaf({ t: 'unsupported', what: t.text, pos: t.pos }), q: null };
    }
    return this.parseQualified();
  }

  /** [proto] [dir] [type] id, `proto broadcast`, `proto proto N`, or a bare protocol name. */
  private parseQualified(): { node: Expr; q: Quals | null } {
    const start = this.tok;
    let proto: ProtoQual = 'default';
    let dir: DirQual = 'default';
    let type: TypeQual = 'default';
    let qualified = false;
    if (this.tok.kind === 'kw' && PROTO_KWS.has(this.tok.text)) {
      proto = protoOf(this.tok.text);
      this.i++;
      qualified = true;
      if (this.isKw(this.tok, 'broadcast', 'multicast')) {
        const kind = this.tok.text as 'broadcast' | 'multicast';
        this.i++;
        return { node: this.leaf({ t: 'cast', kind, proto, pos: start.pos }), q: null };
      }
      if (this.isKw(this.tok, 'proto', 'protochain')) {
        type = this.tok.text as TypeQual;
        this.i++;
        const q: Quals = { proto, dir, type };
        return { node: this.parseId(q), q };
      }
    }
    if (this.isKw(this.tok, 'src', 'dst')) {
      const first = this.tok.text;
      this.i++;
      dir = first as DirQual;
      const other = first === 'src' ? 'dst' : 'src';
      if (this.isKw(this.tok, 'or', 'and') && this.isKw(this.peek(), other)) {
        dir = this.tok.text === 'or' ? 'src-or-dst' : 'src-and-dst';
        this.i += 2;
      }
      qualified = true;
    }
    if (this.tok.kind === 'kw' && TYPE_KWS.has(this.tok.text)) {
      type = this.tok.text as TypeQual;
      this.i++;
      qualified = true;
    } else if (this.isKw(this.tok, 'proto', 'protochain') && proto === 'default' && dir === 'default') {
      type = this.tok.text as TypeQual;
      this.i++;
      qualified = true;
    }
    if (!qualified) this.fail(start);
    if (type === 'default' && dir === 'default' && proto !== 'default') {
      // yacc decides that a protocol name stands alone only on seeing what follows it.
      const next = this.tok;
      if (!(next.kind === 'eof' || this.isKw(next, 'and', 'or') || this.isOp(next, '&&', '||', ')'))) this.fail();
      // A protocol name on its own (`tcp`) unless an id follows (`ether 1:2:3:4:5:6` is not valid either).
      return { node: this.leaf({ t: 'abbrev', proto, pos: start.pos }), q: null };
    }
    const q: Quals = { proto, dir, type };
    return { node: this.parseId(q), q };
  }

  /** The id after qualifiers, in any of its spellings. */
  private parseId(q: Quals): Expr {
    const t = this.tok;
    const prim = (id: Id): Expr => this.leaf({ t: 'prim', q, id, pos: t.pos });
    if (this.isKw(t, 'not') || this.isOp(t, '!')) {
      const odd = this.skipNots();
      const inner = this.parseId(q);
      return odd ? { t: 'not', e: inner } : inner;
    }
    if (this.isOp(t, '(')) {
      // `(5)` is a number; `(a or b)` a group of ids.
      const n = this.attempt(() => this.parsePnum());
      if (n !== undefined) return prim({ k: 'num', value: n, text: String(n) });
      return this.parseIdGroup(q);
    }
    this.i++;
    switch (t.kind) {
      case 'num':
        return prim({ k: 'num', value: t.value, text: t.text });
      case 'id':
        return prim({ k: 'name', text: t.text });
      case 'eid':
        return prim({ k: 'eid', text: t.text });
      case 'hid':
        if (this.isOp(this.tok, '/')) {
          this.i++;
          if (this.tok.kind !== 'num') this.fail();
          return prim({ k: 'hid-len', text: t.text, len: this.toks[this.i++]!.value });
        }
        if (this.isKw(this.tok, 'mask')) {
          this.i++;
          if (this.tok.kind !== 'hid') this.fail();
          return prim({ k: 'hid-mask', text: t.text, mask: this.toks[this.i++]!.text });
        }
        return prim({ k: 'hid', text: t.text });
      case 'hid6':
        if (this.isOp(this.tok, '/')) {
          this.i++;
          if (this.tok.kind !== 'num') this.fail();
          return prim({ k: 'hid6-len', text: t.text, len: this.toks[this.i++]!.value });
        }
        return prim({ k: 'hid6', text: t.text });
      default:
        this.i--;
        this.fail();
    }
  }
}

/** Parse a filter expression into its syntax tree. An empty expression is `undefined` (accept all). */
export function parseFilter(src: string, onLeaf?: LeafHandler): Expr | undefined {
  const toks = scan(src);
  if (toks.length === 1) return undefined;
  if (toks.length > MAX_TOKENS) throw new FilterError(`expression too long: ${toks.length - 1} tokens (limit ${MAX_TOKENS})`, toks[MAX_TOKENS]!.pos, src);
  return new Parser(toks, src, onLeaf).parseAll();
}
