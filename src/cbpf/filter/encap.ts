// Encapsulations that move the offsets of everything written after them
// (vlan, mpls, pppoes, geneve: see geneve.ts), PPPoE discovery, and the inbound/outbound direction
// and interface index of Linux cooked captures.

import { JEQ, JSET, and, cmpField, loadAbs, not, or, test, type Cond } from './cond.js';
import type { GenContext } from './context.js';
import { ETH } from './protocols.js';
import { geneve } from './geneve.js';

/** PPP protocol number of MPLS unicast. */
const PPP_MPLS_UNICAST = 0x0281;

export function encap(ctx: GenContext, kind: 'vlan' | 'mpls' | 'pppoed' | 'pppoes' | 'geneve', value: number | undefined): Cond {
  const L = ctx.layers;
  switch (kind) {
    case 'geneve':
      return geneve(ctx, value);
    case 'pppoed':
      return L.linkType(0x8863);
    case 'vlan':
      return vlan(ctx, value);
    case 'mpls':
      return mpls(ctx, value);
    case 'pppoes':
      return pppoes(ctx, value);
  }
}

export function vlan(ctx: GenContext, value: number | undefined): Cond {
  const L = ctx.layers;
  if (L.mode === 'mpls') ctx.fail('no VLAN match after MPLS');
  if (L.kind !== 'ether') ctx.fail(`no VLAN support for ${L.label}`);
  if (value !== undefined && value > 4095) ctx.fail(`VLAN tag ${value} greater than maximum 4095`);
  const lt = L.offLinkType;
  const tagged = or(cmpField(2, lt, ETH.VLAN), cmpField(2, lt, ETH.QINQ), cmpField(2, lt, ETH.QINQ_OLD));
  const c = value === undefined ? tagged : and(tagged, cmpField(2, lt + 2, value, JEQ, 0x0fff));
  // Everything written after this `vlan` looks one tag deeper.
  L.offLinkType += 4;
  L.offNet += 4;
  return c;
}

export function mpls(ctx: GenContext, label: number | undefined): Cond {
  const L = ctx.layers;
  if (label !== undefined && label > 0xfffff) ctx.fail(`MPLS label ${label} greater than maximum 1048575`);
  let here: Cond;
  if (L.mode === 'mpls') {
    // A further label: the previous one must not have been the bottom of the stack.
    here = not(test([loadAbs(1, L.offNet - 2)], JSET, 1));
  } else if (L.kind === 'ether') {
    here = L.linkType(0x8847);
  } else if (L.kind === 'ppp') {
    here = cmpField(2, L.offLinkType, PPP_MPLS_UNICAST);
  } else {
    return ctx.fail(`no MPLS support for ${L.label}`);
  }
  const c = label === undefined ? here : and(here, cmpField(4, L.offNet, (label << 12) >>> 0, JEQ, 0xfffff000));
  L.mode = 'mpls';
  L.offNet += 4;
  return c;
}

export function pppoes(ctx: GenContext, session: number | undefined): Cond {
  const L = ctx.layers;
  if (session !== undefined && session > 0xffff) ctx.fail(`PPPoE session number ${session} greater than maximum 65535`);
  // Inside MPLS this fails as libpcap's does ("unsupported protocol over mpls").
  const base = L.linkType(0x8864);
  const c = session === undefined ? base : and(base, cmpField(4, L.offNet, session, JEQ, 0xffff));
  // From here on the link layer is PPP: its header follows the 6-byte PPPoE header,
  // its protocol field is the "link type", and IP starts after it.
  L.mode = 'ppp';
  L.inPpp = true;
  L.offLinkHdr = L.offNet + 6;
  L.offLinkType = L.offNet + 6;
  L.offNet += 8;
  return c;
}

/** `inbound`/`outbound`: the packet type of Linux cooked captures. */
export function direction(ctx: GenContext, outbound: boolean): Cond {
  const L = ctx.layers;
  const PACKET_OUTGOING = 4;
  let c: Cond;
  if (L.kind === 'sll') c = cmpField(2, 0, PACKET_OUTGOING);
  else if (L.kind === 'sll2') c = cmpField(1, 10, PACKET_OUTGOING);
  else ctx.fail(`inbound/outbound not supported on ${L.label} when reading savefiles`);
  return outbound ? c : not(c);
}

/** `ifindex N`: the interface index of Linux cooked v2 captures (a savefile has it nowhere else). */
export function ifindex(ctx: GenContext, index: number): Cond {
  const L = ctx.layers;
  if (L.kind !== 'sll2') ctx.fail(`ifindex not supported on ${L.label} when reading savefiles`);
  // libpcap takes the number as a C int, so 4294967295 is -1 is 0xffffffff.
  return cmpField(4, L.offLinkHdr + 4, index >>> 0);
}
