// `port` and `portrange`: TCP, UDP and SCTP ports on IPv4 (first fragments
// only) and IPv6 (the next header directly, no chasing), numbers or names.

import type { ClassicInsn } from '../insn.js';
import type { Quals } from './ast.js';
import { JEQ, JGE, JGT, and, cmpField, loadAbs, loadInd, loadIpHeaderLen, not, or, test, type Cond } from './cond.js';
import { byDir, type GenContext, type Side } from './context.js';
import { SERVICES } from './names.js';
import { ETH, IPPROTO } from './protocols.js';

const PORT_PROTOS: Readonly<Record<string, readonly number[]>> = {
  default: [IPPROTO.SCTP, IPPROTO.TCP, IPPROTO.UDP],
  tcp: [IPPROTO.TCP],
  udp: [IPPROTO.UDP],
  sctp: [IPPROTO.SCTP],
};

/** A named service narrows the transport to the one it is registered for. */
export function serviceQuals(ctx: GenContext, q: Quals, name: string, proto: 'tcp' | 'udp' | 'any'): Quals {
  if (proto === 'any') return q;
  if (q.proto === 'default') return { ...q, proto };
  if (q.proto !== proto) ctx.fail(`port '${name}' is ${proto}`);
  return q;
}

export function portRange(ctx: GenContext, text: string): [number, number] {
  const resolve = (s: string): number | undefined => {
    if (/^[0-9]+$/.test(s)) return Number(s);
    return SERVICES.get(s)?.[0];
  };
  for (let i = text.indexOf('-'); i > 0; i = text.indexOf('-', i + 1)) {
    const a = resolve(text.slice(0, i));
    const b = resolve(text.slice(i + 1));
    if (a !== undefined && b !== undefined) {
      if (a > 65535) ctx.fail(`illegal port number ${a} > 65535`);
      if (b > 65535) ctx.fail(`illegal port number ${b} > 65535`);
      return a <= b ? [a, b] : [b, a];
    }
  }
  const single = resolve(text);
  if (single !== undefined) return [single, single];
  ctx.fail(`unknown port in range '${text}'`);
}

export function portProtos(ctx: GenContext, q: Quals): readonly number[] {
  const p = PORT_PROTOS[q.proto];
  if (p === undefined) ctx.fail(`illegal qualifier of '${q.type}'`);
  return p;
}

/** `port`/`portrange` on IPv4 (first fragments only) and IPv6 (no header chasing). */
export function ports(ctx: GenContext, q: Quals, lo: number, hi: number, range: boolean): Cond {
  const L = ctx.layers;
  const protos = portProtos(ctx, q);
  const net = L.offNet;
  const inRange = (stmts: ClassicInsn[]): Cond =>
    range ? and(test(stmts, JGE, lo), not(test(stmts, JGT, hi))) : test(stmts, JEQ, lo);
  const off = (side: Side): number => (side === 'src' ? 0 : 2);
  // libpcap's shape (gen_port/gen_portop): each transport protocol with its
  // own fragment test and port tests; the optimiser shares what repeats.
  const v4 = and(
    L.linkType(ETH.IP),
    or(...protos.map((p) => and(cmpField(1, net + 9, p), L.notFragment(), byDir(q.dir, (s) => inRange([loadIpHeaderLen(net), loadInd(2, net + off(s))]))))),
  );
  const v6 = and(L.linkType(ETH.IP6), or(...protos.map((p) => and(cmpField(1, net + 6, p), byDir(q.dir, (s) => inRange([loadAbs(2, net + 40 + off(s))]))))));
  // IPv6 first, as libpcap orders it (so -d output lines up with tcpdump -d).
  return or(v6, v4);
}
