// The semantic layer: turns the syntax tree into a Cond for one link type,
// with libpcap's meaning for every primitive (host, net, port, portrange,
// proto, broadcast, multicast, less/greater, vlan) and its error texts.

import { UnsupportedError } from '../../internal/errors.js';
import { BPF_CLASS, BPF_MODE, BPF_SIZE, stmt, type ClassicInsn } from '../insn.js';
import { relation } from './arith.js';
import type { DirQual, Expr, Id, ProtoQual, Quals } from './ast.js';
import { FALSE, JEQ, JGE, JGT, JSET, TRUE, and, cmpField, loadAbs, loadInd, loadIpHeaderLen, not, or, test, type Cond } from './cond.js';
import { FilterError } from './errors.js';
import { parseIPv6, parseMac } from './lexer.js';
import type { LinkLayer } from './link.js';
import { ETHER_TYPES, IP_PROTOCOLS, SERVICES } from './names.js';
import { ETH, IPPROTO, Layers } from './protocols.js';

export interface GenOptions {
  /** IPv4 netmask for `ip broadcast`; undefined means unknown (then `ip broadcast` is an error). */
  readonly netmask?: number;
}

type Side = 'src' | 'dst';
const V4_ALLOWED: ReadonlySet<ProtoQual> = new Set(['default', 'ip', 'arp', 'rarp']);
const PORT_PROTOS: Readonly<Record<string, readonly number[]>> = {
  default: [IPPROTO.SCTP, IPPROTO.TCP, IPPROTO.UDP],
  tcp: [IPPROTO.TCP],
  udp: [IPPROTO.UDP],
  sctp: [IPPROTO.SCTP],
};

/** Parse a dotted IPv4 prefix (1 to 4 parts) as libpcap's __pcap_atoin does: value and bit length. */
function atoin(text: string, fail: (m: string) => never): { v: number; bits: number } {
  const parts = text.split('.');
  let v = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!/^[0-9]+$/.test(p) || n > 255) fail(`invalid IPv4 address '${text}'`);
    v = ((v << 8) | n) >>> 0;
  }
  return { v, bits: 8 * parts.length };
}

const prefixMask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

export class Gen {
  private readonly layers: Layers;
  private pos = 0;

  constructor(
    link: LinkLayer,
    private readonly src: string,
    private readonly opts: GenOptions,
  ) {
    this.layers = new Layers(link);
  }

  private fail(reason: string): never {
    throw new FilterError(reason, this.pos, this.src);
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
      case 'abbrev':
        this.pos = e.pos;
        return this.guard(() => this.layers.abbrev(e.proto));
      case 'rel':
        this.pos = e.pos;
        return this.guard(() => relation(this.layers, e.op, e.l, e.r));
      case 'cast':
        this.pos = e.pos;
        return e.kind === 'broadcast' ? this.broadcast(e.proto) : this.multicast(e.proto);
      case 'length':
        return e.kind === 'less' ? not(test([lenLoad], JGT, e.value)) : test([lenLoad], JGE, e.value);
      case 'encap':
        this.pos = e.pos;
        return this.encap(e.kind, e.value);
      case 'direction':
        this.pos = e.pos;
        return this.direction(e.outbound);
      case 'llc':
        this.pos = e.pos;
        return this.layers.anyLlc();
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
      if (err instanceof FilterError && err.offset === undefined) this.fail(err.reason);
      throw err;
    }
  }

  private dir(dir: DirQual, f: (side: Side) => Cond): Cond {
    switch (dir) {
      case 'src': return f('src');
      case 'dst': return f('dst');
      case 'src-and-dst': return and(f('src'), f('dst'));
      default: return or(f('src'), f('dst'));
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
        const { v, bits } = atoin(id.text, (m) => this.fail(m));
        // A short address is a prefix: `host 10.1.2` matches 10.1.2.0/24.
        return this.hostV4(q, bits === 32 ? v : (v << (32 - bits)) >>> 0, prefixMask(bits));
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
        return this.hostV4({ ...q, type: 'net' }, addr, mask);
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
        return this.hostV6(q, addr, mask);
      }
      case 'eid': {
        if (q.proto !== 'link' || (type !== 'default' && type !== 'host')) this.fail('ethernet address used in non-ether expression');
        const mac = parseMac(id.text);
        if (mac === null) this.fail(`bogus ethernet address ${id.text}`);
        return this.etherHost(q.dir, mac);
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
        return this.hostV4(q, v, mask);
      }
      case 'port':
      case 'portrange':
        this.portProtos(q);
        if (value > 65535) this.fail(`illegal port number ${value} > 65535`);
        return this.ports(q, value, value, q.type === 'portrange');
      case 'proto':
        return this.protoNumber(q.proto, value);
      case 'protochain':
        // libpcap's protochain code loops with a backward jump, which classic BPF checkers refuse.
        throw new UnsupportedError("filter: 'protochain' is not supported by tsbpf's filter compiler");
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
        this.portProtos(q);
        const svc = SERVICES.get(name);
        if (svc === undefined) this.fail(`unknown port '${name}'`);
        return this.ports(this.serviceQuals(q, name, svc[1]), svc[0], svc[0], false);
      }
      case 'portrange': {
        this.portProtos(q);
        const r = this.portRange(name);
        return this.ports(q, r[0], r[1], true);
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
        throw new UnsupportedError("filter: 'protochain' is not supported by tsbpf's filter compiler");
      case 'gateway':
        this.fail("'gateway' not supported in this configuration");
    }
  }

  /** A named service narrows the transport to the one it is registered for. */
  private serviceQuals(q: Quals, name: string, proto: 'tcp' | 'udp' | 'any'): Quals {
    if (proto === 'any') return q;
    if (q.proto === 'default') return { ...q, proto };
    if (q.proto !== proto) this.fail(`port '${name}' is ${proto}`);
    return q;
  }

  private portRange(text: string): [number, number] {
    const resolve = (s: string): number | undefined => {
      if (/^[0-9]+$/.test(s)) return Number(s);
      return SERVICES.get(s)?.[0];
    };
    for (let i = text.indexOf('-'); i > 0; i = text.indexOf('-', i + 1)) {
      const a = resolve(text.slice(0, i));
      const b = resolve(text.slice(i + 1));
      if (a !== undefined && b !== undefined) {
        if (a > 65535) this.fail(`illegal port number ${a} > 65535`);
        if (b > 65535) this.fail(`illegal port number ${b} > 65535`);
        return a <= b ? [a, b] : [b, a];
      }
    }
    const single = resolve(text);
    if (single !== undefined) return [single, single];
    this.fail(`unknown port in range '${text}'`);
  }

  private portProtos(q: Quals): readonly number[] {
    const p = PORT_PROTOS[q.proto];
    if (p === undefined) this.fail(`illegal qualifier of '${q.type}'`);
    return p;
  }

  /** `port`/`portrange` on IPv4 (first fragments only) and IPv6 (no header chasing). */
  private ports(q: Quals, lo: number, hi: number, range: boolean): Cond {
    const L = this.layers;
    const protos = this.portProtos(q);
    const net = L.offNet;
    const inRange = (stmts: ClassicInsn[]): Cond =>
      range ? and(test(stmts, JGE, lo), not(test(stmts, JGT, hi))) : test(stmts, JEQ, lo);
    const off = (side: Side): number => (side === 'src' ? 0 : 2);
    const v4 = and(
      L.linkType(ETH.IP),
      or(...protos.map((p) => cmpField(1, net + 9, p))),
      L.notFragment(),
      this.dir(q.dir, (s) => inRange([loadIpHeaderLen(net), loadInd(2, net + off(s))])),
    );
    const v6 = and(
      L.linkType(ETH.IP6),
      or(...protos.map((p) => cmpField(1, net + 6, p))),
      this.dir(q.dir, (s) => inRange([loadAbs(2, net + 40 + off(s))])),
    );
    return or(v4, v6);
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

  private hostV4(q: Quals, addr: number, mask: number): Cond {
    const word = q.type === 'net' ? 'net' : 'host';
    if (!V4_ALLOWED.has(q.proto)) this.fail(q.proto === 'ip6' ? "'ip6' modifier applied to ip host" : `'${q.proto}' modifier applied to ${word}`);
    const L = this.layers;
    const net = L.offNet;
    const at = (types: number[], srcOff: number, dstOff: number): Cond =>
      and(or(...types.map((t) => L.linkType(t))), this.dir(q.dir, (s) => (mask === 0 ? TRUE : cmpField(4, net + (s === 'src' ? srcOff : dstOff), addr & mask, JEQ, mask))));
    switch (q.proto) {
      case 'ip': return at([ETH.IP], 12, 16);
      case 'arp': return at([ETH.ARP], 14, 24);
      case 'rarp': return at([ETH.RARP], 14, 24);
      // ARP and RARP share a layout, so one address test serves both.
      // Inside MPLS only IP can be recognised, so libpcap leaves ARP out there.
      default: return this.layers.mode === 'mpls' ? at([ETH.IP], 12, 16) : or(at([ETH.IP], 12, 16), at([ETH.ARP, ETH.RARP], 14, 24));
    }
  }

  private hostV6(q: Quals, addr: Uint8Array, mask: Uint8Array): Cond {
    if (q.proto === 'ip') this.fail("'ip' modifier applied to ip6 host");
    if (q.proto !== 'default' && q.proto !== 'ip6') this.fail(`'${q.proto}' modifier applied to ip6 ${q.type === 'net' ? 'net' : 'host'}`);
    const L = this.layers;
    const net = L.offNet;
    const word = (b: Uint8Array, i: number): number => ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>> 0;
    const match = (base: number): Cond => {
      const parts: Cond[] = [];
      for (let i = 0; i < 4; i++) {
        const m = word(mask, i);
        if (m !== 0) parts.push(cmpField(4, base + 4 * i, word(addr, i) & m, JEQ, m));
      }
      return and(...parts);
    };
    return and(L.linkType(ETH.IP6), this.dir(q.dir, (s) => match(net + (s === 'src' ? 8 : 24))));
  }

  private requireEther(): void {
    if (this.layers.link.kind !== 'ether') {
      this.fail('ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel');
    }
  }

  private etherHost(dir: DirQual, mac: Uint8Array): Cond {
    this.requireEther();
    const lo = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
    const hi = (mac[0]! << 8) | mac[1]!;
    return this.dir(dir, (s) => {
      const off = s === 'src' ? 6 : 0;
      return and(cmpField(4, off + 2, lo), cmpField(2, off, hi));
    });
  }

  private broadcast(proto: ProtoQual): Cond {
    if (proto === 'default' || proto === 'link') {
      if (this.layers.link.kind !== 'ether') this.fail('not a broadcast link');
      return and(cmpField(4, 2, 0xffffffff), cmpField(2, 0, 0xffff));
    }
    if (proto !== 'ip') this.fail('only link-layer/IP broadcast filters supported');
    if (this.opts.netmask === undefined) this.fail("netmask not known, so 'ip broadcast' not supported");
    const hostmask = ~this.opts.netmask >>> 0;
    const dst = this.layers.offNet + 16;
    return and(this.layers.linkType(ETH.IP), or(cmpField(4, dst, 0, JEQ, hostmask), cmpField(4, dst, hostmask, JEQ, hostmask)));
  }

  private multicast(proto: ProtoQual): Cond {
    const L = this.layers;
    if (proto === 'ip') return and(L.linkType(ETH.IP), cmpField(1, L.offNet + 16, 224, JGE));
    if (proto === 'ip6') return and(L.linkType(ETH.IP6), cmpField(1, L.offNet + 24, 255));
    if (L.link.kind !== 'ether') {
      this.fail('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
    }
    if (proto !== 'default' && proto !== 'link') {
      this.fail('link-layer multicast filters supported only on ethernet/FDDI/token ring/ARCNET/802.11/ATM LANE/Fibre Channel');
    }
    return test([loadAbs(1, 0)], JSET, 1);
  }

  private encap(kind: 'vlan' | 'mpls' | 'pppoed' | 'pppoes', value: number | undefined): Cond {
    const L = this.layers;
    switch (kind) {
      case 'pppoed':
        return L.linkType(0x8863);
      case 'vlan':
        return this.vlan(value);
      case 'mpls':
        return this.mpls(value);
      case 'pppoes':
        return this.pppoes(value);
    }
  }

  private vlan(value: number | undefined): Cond {
    const L = this.layers;
    if (L.link.kind !== 'ether') this.fail(`no VLAN support for ${L.link.label}`);
    if (L.mode !== 'link') throw new UnsupportedError("filter: 'vlan' inside MPLS or PPPoE is not supported by tsbpf's filter compiler");
    if (value !== undefined && value > 4095) this.fail(`VLAN tag ${value} greater than maximum 4095`);
    const lt = L.offLinkType;
    const tagged = or(cmpField(2, lt, ETH.VLAN), cmpField(2, lt, ETH.QINQ), cmpField(2, lt, ETH.QINQ_OLD));
    const c = value === undefined ? tagged : and(tagged, cmpField(2, lt + 2, value, JEQ, 0x0fff));
    // Everything written after this `vlan` looks one tag deeper.
    L.offLinkType += 4;
    L.offNet += 4;
    return c;
  }

  private mpls(label: number | undefined): Cond {
    const L = this.layers;
    if (L.link.kind !== 'ether') this.fail(`no MPLS support for ${L.link.label}`);
    if (label !== undefined && label > 0xfffff) this.fail(`MPLS label ${label} greater than maximum 1048575`);
    if (L.mode === 'ppp') throw new UnsupportedError("filter: 'mpls' inside PPPoE is not supported by tsbpf's filter compiler");
    // The first label follows the MPLS Ethernet type; a further one needs the previous label not to be the last.
    const here = L.mode === 'mpls' ? not(test([loadAbs(1, L.offNet - 2)], JSET, 1)) : L.linkType(0x8847);
    const c = label === undefined ? here : and(here, cmpField(4, L.offNet, (label << 12) >>> 0, JEQ, 0xfffff000));
    L.mode = 'mpls';
    L.offNet += 4;
    return c;
  }

  private pppoes(session: number | undefined): Cond {
    const L = this.layers;
    if (L.mode !== 'link') throw new UnsupportedError("filter: 'pppoes' inside MPLS or PPPoE is not supported by tsbpf's filter compiler");
    if (session !== undefined && session > 0xffff) this.fail(`PPPoE session number ${session} greater than maximum 65535`);
    const base = L.linkType(0x8864);
    const c = session === undefined ? base : and(base, cmpField(4, L.offNet, session, JEQ, 0xffff));
    // From here on the "link type" is the PPP protocol field, and IP starts after the PPPoE and PPP headers.
    L.mode = 'ppp';
    L.offLinkType = L.offNet + 6;
    L.offNet += 8;
    return c;
  }

  /** `inbound`/`outbound`: the packet type of Linux cooked captures. */
  private direction(outbound: boolean): Cond {
    const L = this.layers;
    const PACKET_OUTGOING = 4;
    let c: Cond;
    if (L.link.kind === 'sll') c = cmpField(2, 0, PACKET_OUTGOING);
    else if (L.link.kind === 'sll2') c = cmpField(1, 10, PACKET_OUTGOING);
    else this.fail(`inbound/outbound not supported on ${L.link.label} when reading savefiles`);
    return outbound ? c : not(c);
  }
}

/** `ld #pktlen` */
const lenLoad = stmt(BPF_CLASS.LD | BPF_SIZE.W | BPF_MODE.LEN);
