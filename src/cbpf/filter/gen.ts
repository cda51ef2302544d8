// The semantic layer: turns the syntax tree into a Cond for one link type,
// with libpcap's meaning for every primitive (host, net, port, portrange,
// proto, broadcast, multicast, less/greater, vlan) and its error texts.

import { UnsupportedError } from '../../internal/errors.js';
import { BPF_CLASS, BPF_MEMWORDS, BPF_MODE, BPF_SIZE, stmt } from '../insn.js';
import { atoin, broadcast, decnetHost, etherHost, hostV4, hostV6, multicast, prefixMask } from './addresses.js';
import { relation } from './arith.js';
import type { Expr, Id, ProtoQual, Quals } from './ast.js';
import { JGE, JGT, and, not, or, test, type Cond } from './cond.js';
import type { GenContext } from './context.js';
import { direction, encap, ifindex } from './encap.js';
import { FilterError } from './errors.js';
import { parseIPv6, parseMac } from './lexer.js';
import type { LinkLayer } from './link.js';
import { ETHER_TYPES, IP_PROTOCOLS, SERVICES } from './names.js';
import { portProtos, portRange, ports, serviceQuals } from './ports.js';
import { Layers } from './protocols.js';
import { protochain } from './protochain.js';
import { resolveOffsets } from './geneve.js';

export interface GenOptions {
  /** IPv4 netmask for `ip broadcast`; undefined means unknown (then `ip broadcast` is an error). */
  readonly netmask?: number;
}

export class Gen implements GenContext {
  readonly layers: Layers;
  readonly netmask?: number;
  private pos = 0;
  /** libpcap's scratch-register allocator: which words are taken, and where the search starts. */
  private readonly regUsed = new Uint8Array(BPF_MEMWORDS);
  private curReg = 0;
  noOptimize = false;

  constructor(
    link: LinkLayer,
    private readonly src: string,
    opts: GenOptions,
  ) {
    this.layers = new Layers(link);
    if (opts.netmask !== undefined) this.netmask = opts.netmask;
  }

  fail(reason: string): never {
    throw new FilterError(reason, this.pos, this.src);
  }

  allocReg(): number {
    for (let n = 0; n < BPF_MEMWORDS; n++) {
      if (!this.regUsed[this.curReg]) {
        this.regUsed[this.curReg] = 1;
        return this.curReg;
      }
      this.curReg = (this.curReg + 1) % BPF_MEMWORDS;
    }
    return this.fail('too many registers needed to evaluate expression');
  }

  freeReg(reg: number): void {
    this.regUsed[reg] = 0;
  }

  /** The allocator's state before the first primitive generated at each text position. */
  private readonly regsAt = new Map<number, { cur: number; used: Uint8Array }>();

  /**
   * The parser may generate a primitive, backtrack, and generate it again
   * (`(a - b) != 0` is first tried as a group of ids). libpcap's parser
   * never does, so to number scratch words as it does, a primitive made
   * again at the same place starts from the allocator state of its first
   * making: everything made in between was thrown away with the attempt.
   */
  private rewindRegs(pos: number): void {
    const saved = this.regsAt.get(pos);
    if (saved === undefined) {
      this.regsAt.set(pos, { cur: this.curReg, used: this.regUsed.slice() });
      return;
    }
    this.curReg = saved.cur;
    this.regUsed.set(saved.used);
  }

  expr(e: Expr): Cond {
    switch (e.t) {
      case 'and': {
        const l = this.expr(e.l);
        return and(l, this.expr(e.r));
      }
      case 'or': {
        const l = this.expr(e.l);
        return or(l, this.expr(e.r));
      }
      case 'not':
        return not(this.expr(e.e));
      case 'done':
        return e.cond;
      default:
        this.rewindRegs(e.pos);
        // After `geneve`, offsets relative to the inner frame become loads through X.
        return resolveOffsets(this.leaf(e), this.layers.variable);
    }
  }

  /** One primitive. */
  private leaf(e: Exclude<Expr, { t: 'and' | 'or' | 'not' | 'done' }>): Cond {
    switch (e.t) {
      case 'abbrev':
        this.pos = e.pos;
        return this.guard(() => this.layers.abbrev(e.proto));
      case 'rel':
        this.pos = e.pos;
        return this.guard(() => relation(this.layers, this, e.op, e.l, e.r));
      case 'cast':
        this.pos = e.pos;
        return e.kind === 'broadcast' ? broadcast(this, e.proto) : multicast(this, e.proto);
      case 'length':
        return e.kind === 'less' ? not(test([lenLoad], JGT, e.value)) : test([lenLoad], JGE, e.value);
      case 'encap':
        this.pos = e.pos;
        return encap(this, e.kind, e.value);
      case 'direction':
        this.pos = e.pos;
        return direction(this, e.outbound);
      case 'ifindex':
        this.pos = e.pos;
        return ifindex(this, e.index);
      case 'llc':
        this.pos = e.pos;
        return this.guard(() => this.layers.anyLlc(e.subtype));
      case 'unsupported':
        throw new UnsupportedError(`filter: '${e.what}' is not supported by tsbpf's filter compiler`);
      case 'prim':
        this.pos = e.pos;
        return this.primitive(e.q, e.id);
    }
  }

  /** Attach the current position to errors raised by helpers that do not know it. */
  private guard(f: () => Cond): Cond {
    try {
      return f();
    } catch (err) {
      if (err instanceof FilterError && err.expression === undefined) throw new FilterError(err.reason, err.offset ?? this.pos, this.src);
      throw err;
    }
  }

  private primitive(q: Quals, id: Id): Cond {
    const type = q.type;
    switch (id.k) {
      case 'num':
        return this.numbered(q, id.value);
      case 'name':
        return this.named(q, id.text);
      case 'hid': {
        if (q.proto === 'link') this.fail('illegal link layer address');
        if (type !== 'default' && type !== 'host' && type !== 'net') {
          if (type === 'gateway') this.fail("'gateway' requires a name");
          this.fail(`'${type}' modifier applied to ip host`);
        }
        if (q.proto === 'decnet' && type !== 'net') return decnetHost(this, q.dir, id.text);
        const { v, bits } = atoin(id.text, (m) => this.fail(m));
        // A short address is a prefix: `host 10.1.2` matches 10.1.2.0/24.
        return hostV4(this, q, bits === 32 ? v : (v << (32 - bits)) >>> 0, prefixMask(bits));
      }
      case 'hid-len':
      case 'hid-mask': {
        if (type !== 'default' && type !== 'net') this.fail('Mask syntax for networks only');
        if (q.proto === 'link') this.fail('illegal link layer address');
        const { v, bits } = atoin(id.text, (m) => this.fail(m));
        const addr = bits === 32 ? v : (v << (32 - bits)) >>> 0;
        let mask: number;
        let shown: string;
        if (id.k === 'hid-len') {
          if (id.len > 32) this.fail('mask length must be <= 32');
          mask = prefixMask(id.len);
          shown = `${id.text}/${id.len}`;
        } else {
          const m = atoin(id.mask, (msg) => this.fail(msg));
          mask = m.bits === 32 ? m.v : (m.v << (32 - m.bits)) >>> 0;
          shown = `${id.text} mask ${id.mask}`;
        }
        if ((addr & ~mask) >>> 0 !== 0) this.fail(`non-network bits set in "${shown}"`);
        return hostV4(this, { ...q, type: 'net' }, addr, mask);
      }
      case 'hid6':
      case 'hid6-len': {
        if (q.proto === 'link') this.fail('illegal link layer address');
        const addr = parseIPv6(id.text);
        if (addr === null) this.fail(`invalid IPv6 address '${id.text}'`);
        let len = 128;
        if (id.k === 'hid6-len') {
          if (type !== 'default' && type !== 'net') this.fail('Mask syntax for networks only');
          if (id.len > 128) this.fail('mask length must be <= 128');
          len = id.len;
        } else if (type !== 'default' && type !== 'host' && type !== 'net') {
          this.fail(`'${type}' modifier applied to ip6 host`);
        }
        const mask = new Uint8Array(16);
        for (let i = 0; i < 16; i++) mask[i] = len >= 8 * (i + 1) ? 0xff : len <= 8 * i ? 0 : (0xff << (8 - (len - 8 * i))) & 0xff;
        if (addr.some((b, i) => (b & ~mask[i]!) !== 0)) this.fail(`non-network bits set in "${id.text}/${len}"`);
        return hostV6(this, q, addr, mask);
      }
      case 'eid': {
        if (q.proto !== 'link' || (type !== 'default' && type !== 'host')) this.fail('ethernet address used in non-ether expression');
        const mac = parseMac(id.text);
        if (mac === null) this.fail(`bogus ethernet address ${id.text}`);
        return etherHost(this, q.dir, mac);
      }
    }
  }

  /** An id that is a number: an IPv4 host or network, a port, or a protocol. */
  private numbered(q: Quals, value: number): Cond {
    switch (q.type) {
      case 'default':
      case 'host':
      case 'net': {
        if (q.proto === 'link') this.fail('illegal link layer address');
        let v = value;
        let mask = 0xffffffff;
        if (q.type === 'net') {
          // A short network number is promoted: `net 10` is 10.0.0.0/8.
          while (v !== 0 && (v & 0xff000000) === 0) {
            v = (v << 8) >>> 0;
            mask = (mask << 8) >>> 0;
          }
        }
        return hostV4(this, q, v, mask);
      }
      case 'port':
      case 'portrange':
        portProtos(this, q);
        if (value > 65535) this.fail(`illegal port number ${value} > 65535`);
        return ports(this, q, value, value, q.type === 'portrange');
      case 'proto':
        return this.protoNumber(q.proto, value);
      case 'protochain':
        return protochain(this, q.proto, value);
      case 'gateway':
        this.fail("'gateway' requires a name");
    }
  }

  /** An id that is a name: tsbpf resolves no host names, only protocol and service names. */
  private named(q: Quals, name: string): Cond {
    switch (q.type) {
      case 'default':
      case 'host':
        return this.fail(q.proto === 'link' ? `unknown ether host '${name}'` : `unknown host '${name}'`);
      case 'net':
        return this.fail(`unknown network '${name}'`);
      case 'port': {
        portProtos(this, q);
        const svc = SERVICES.get(name);
        if (svc === undefined) this.fail(`unknown port '${name}'`);
        return ports(this, serviceQuals(this, q, name, svc[1]), svc[0], svc[0], false);
      }
      case 'portrange': {
        portProtos(this, q);
        const r = portRange(this, name);
        return ports(this, q, r[0], r[1], true);
      }
      case 'proto': {
        if (q.proto === 'link') {
          const et = ETHER_TYPES.get(name);
          if (et === undefined) this.fail(`unknown ether proto '${name}'`);
          return this.protoNumber('link', et);
        }
        const p = IP_PROTOCOLS.get(name);
        if (p === undefined) this.fail(`unknown ip proto '${name}'`);
        return this.protoNumber(q.proto, p);
      }
      case 'protochain':
        return protochain(this, q.proto, this.protoName(q.proto, name));
      case 'gateway':
        this.fail("'gateway' not supported in this configuration");
    }
  }





  /** libpcap's lookup_proto for `protochain NAME`: the name's number under the qualifier, or its error. */
  private protoName(proto: ProtoQual, name: string): number {
    let v: number | undefined;
    switch (proto) {
      case 'default':
      case 'ip':
      case 'ip6':
        v = IP_PROTOCOLS.get(name);
        if (v === undefined) this.fail(`unknown ip proto '${name}'`);
        return v;
      case 'link':
        v = ETHER_TYPES.get(name);
        if (v === undefined) this.fail(`unknown ether proto '${name}'`);
        return v;
      case 'iso':
        // The OSI names libpcap knows (clnp, esis, isis) are keywords, so a name here is never one.
        return this.fail(`unknown osi proto '${name}'`);
      default:
        return this.fail(`unknown protocol: ${name}`);
    }
  }

  /** `ip proto N`, `ip6 proto N`, `proto N`, `ether proto N`. */
  private protoNumber(proto: ProtoQual, n: number): Cond {
    const L = this.layers;
    switch (proto) {
      case 'default': return or(L.ipProto(n), L.ip6Proto(n));
      case 'ip': return L.ipProto(n);
      case 'ip6': return L.ip6Proto(n);
      case 'link': return L.linkType(n);
      default: this.fail(`'${proto} proto' is bogus`);
    }
  }











}

/** `ld #pktlen` */
const lenLoad = stmt(BPF_CLASS.LD | BPF_SIZE.W | BPF_MODE.LEN);
