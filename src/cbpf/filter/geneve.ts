// `geneve [VNI]`: Geneve (UDP port 6081) over IPv4 or IPv6, version 0,
// optionally with a given VNI; everything written after it looks inside the
// tunnel, as libpcap's gen_geneve does it.
//
// The inner frame starts at a place only the packet knows (after the outer
// IP header and the Geneve options), so from here on offsets have a
// variable part, kept in scratch memory like libpcap keeps it: M[lt] the
// offset of the protocol type, M[lh] of the inner link header, M[net] of the
// inner network header. The primitives keep computing constant offsets: the
// layers hold symbolic bases (BASE) instead of numbers, and resolveOffsets
// rewrites every load relative to a base into a load through X after
// `ldx M[reg]` (`ldh [x + 0]`), and `ldxb 4*([base + k]&0xf)` into libpcap's
// long form that adds the variable part. Only a load whose offset lies
// within 64 KiB of a base is rewritten: an index written in the expression
// that lands near another base (2^28 bytes away) would be misread, and no
// packet is that long.
//
// The code after the checks computes the offsets from A (the outer IP header
// length), so the check blocks end with an always-true `jeq x` that leaves A
// set, and the offsets are stored by the statements of an always-true block
// (`ld #0; jeq #0`), statement for statement libpcap's. libpcap turns its
// optimiser off for such expressions, and so does tsbpf (noOptimize).

import { BPF_ALU_OP, BPF_CLASS, BPF_JMP_OP, BPF_MISCOP, BPF_MODE, BPF_SIZE, BPF_SRC, classOf, insn, modeOf, sizeOf, stmt, type ClassicInsn } from '../insn.js';
import { JEQ, and, andK, cmpField, loadInd, loadIpHeaderLen, not, or, test, type Cond } from './cond.js';
import type { GenContext } from './context.js';
import { LINKTYPE, linkLayer } from './link.js';
import { ETH, IPPROTO, type Layers } from './protocols.js';

/** The scratch words holding the variable parts of the offsets after `geneve`. */
export interface VariableOffsets {
  readonly linkType: number;
  readonly linkHdr: number;
  readonly net: number;
}

const GENEVE_PORT = 6081;
/** Transparent Ethernet bridging: the Geneve payload is an Ethernet frame. */
const ETHERTYPE_TEB = 0x6558;
const GENEVE_MAX_VNI = 0xffffff;
const IP6_HDR_LEN = 40;

/** Symbolic bases of the variable offsets (see above). */
const BASE: Readonly<Record<keyof VariableOffsets, number>> = { linkType: 0x4000_0000, linkHdr: 0x5000_0000, net: 0x6000_0000 };
const WINDOW = 0x10000;

const LD_IMM = BPF_CLASS.LD | BPF_MODE.IMM;
const LDX_MEM = BPF_CLASS.LDX | BPF_MODE.MEM;
const ST = BPF_CLASS.ST;
const STX = BPF_CLASS.STX;
const TAX = BPF_CLASS.MISC | BPF_MISCOP.TAX;
const TXA = BPF_CLASS.MISC | BPF_MISCOP.TXA;
const JEQ_X = BPF_CLASS.JMP | BPF_JMP_OP.JEQ | BPF_SRC.X;
const aluK = (op: number, k: number): ClassicInsn => stmt(BPF_CLASS.ALU | op | BPF_SRC.K, k);
const ADD_X = BPF_CLASS.ALU | BPF_ALU_OP.ADD | BPF_SRC.X;

/** `geneve [VNI]` (libpcap's gen_geneve). */
export function geneve(ctx: GenContext, vni: number | undefined): Cond {
  if (vni !== undefined && vni > GENEVE_MAX_VNI) ctx.fail(`Geneve VNI ${vni} greater than maximum ${GENEVE_MAX_VNI}`);
  ctx.noOptimize = true;
  const L = ctx.layers;
  const net = L.offNet;
  // IPv4: A = X = the IP header length (with any variable part).
  const v4 = and(check(L, 'ip', vni), test([loadIpHeaderLen(net), stmt(TXA)], JEQ_X, 0));
  // IPv6: A = X = 40 plus the variable part.
  const v6Len = L.variable ? [stmt(LDX_MEM, L.variable.net), stmt(LD_IMM, IP6_HDR_LEN), stmt(ADD_X), stmt(TAX)] : [stmt(LD_IMM, IP6_HDR_LEN), stmt(TAX)];
  const v6 = and(check(L, 'ip6', vni), test(v6Len, JEQ_X, 0));
  const found = resolveOffsets(or(v4, v6), L.variable);
  const offsets = offsetStmts(ctx, L);
  return and(found, test([...offsets, stmt(LD_IMM, 0)], JEQ, 0));
}

/** UDP destination port 6081 (first fragment for IPv4), version 0, and the VNI when given. */
function check(L: Layers, ip: 'ip' | 'ip6', vni: number | undefined): Cond {
  const net = L.offNet;
  if (ip === 'ip') {
    const atUdp = (size: 1 | 2 | 4, off: number): ClassicInsn[] => [loadIpHeaderLen(net), loadInd(size, net + off)];
    return and(
      L.linkType(ETH.IP),
      cmpField(1, net + 9, IPPROTO.UDP),
      L.notFragment(),
      test(atUdp(2, 2), JEQ, GENEVE_PORT),
      test([...atUdp(1, 8), andK(0xc0)], JEQ, 0),
      vni === undefined ? and() : test([...atUdp(4, 12), andK(0xffffff00)], JEQ, (vni << 8) >>> 0),
    );
  }
  const udp = net + IP6_HDR_LEN;
  return and(
    L.linkType(ETH.IP6),
    cmpField(1, net + 6, IPPROTO.UDP),
    cmpField(2, udp + 2, GENEVE_PORT),
    cmpField(1, udp + 8, 0, JEQ, 0xc0),
    vni === undefined ? and() : cmpField(4, udp + 12, (vni << 8) >>> 0, JEQ, 0xffffff00),
  );
}

/**
 * From A = the outer IP header length: store where the inner protocol type,
 * link header and network header are, and make the layers point there.
 */
function offsetStmts(ctx: GenContext, L: Layers): ClassicInsn[] {
  const netConst = L.variable ? L.offNet - BASE.net : L.offNet;
  const lt = ctx.allocReg();
  const lh = ctx.allocReg();
  const s: ClassicInsn[] = [
    aluK(BPF_ALU_OP.ADD, netConst + 8), // A = the Geneve header
    stmt(TAX),
    aluK(BPF_ALU_OP.ADD, 2),
    stmt(ST, lt), // the protocol type is 2 bytes in
    loadInd(1, 0),
    aluK(BPF_ALU_OP.AND, 0x3f),
    aluK(BPF_ALU_OP.MUL, 4), // options length in bytes
    aluK(BPF_ALU_OP.ADD, 8),
    stmt(ADD_X),
    stmt(ST, lh), // the inner frame
    loadInd(2, 2),
    stmt(LDX_MEM, lh),
    // Ethernet inside: its type is 12 bytes in and the network header 14; otherwise both are at the inner start.
    insn(JEQ, ETHERTYPE_TEB, 0, 5),
    stmt(TXA),
    aluK(BPF_ALU_OP.ADD, 12),
    stmt(ST, lt),
    aluK(BPF_ALU_OP.ADD, 2),
    stmt(TAX),
  ];
  const net = ctx.allocReg();
  s.push(stmt(STX, net));
  L.link = linkLayer(LINKTYPE.ETHERNET);
  L.mode = 'link';
  L.inPpp = false;
  L.offLinkType = BASE.linkType;
  L.offLinkHdr = BASE.linkHdr;
  L.offNet = BASE.net;
  L.variable = { linkType: lt, linkHdr: lh, net };
  return s;
}

/**
 * Inside Geneve only an Ethernet payload has a link header: ether host,
 * broadcast and multicast first check that the link header does not start
 * where the network header does (libpcap's gen_geneve_ll_check). TRUE
 * outside Geneve.
 */
export function innerLinkHeaderCheck(L: Layers): Cond {
  if (L.variable === undefined) return and();
  return not(test([stmt(BPF_CLASS.LD | BPF_MODE.MEM, L.variable.linkHdr), stmt(LDX_MEM, L.variable.net)], JEQ_X, 0));
}

/** The base an offset is relative to, and the offset from it; undefined for a plain offset. */
function baseOf(k: number, vars: VariableOffsets): { base: keyof VariableOffsets; reg: number; off: number } | undefined {
  for (const base of ['linkType', 'linkHdr', 'net'] as const) {
    const d = (k - BASE[base]) | 0;
    if (d >= -WINDOW && d < WINDOW) return { base, reg: vars[base], off: d >>> 0 };
  }
  return undefined;
}

/** Rewrite the loads of every test in c that are relative to a symbolic base (see above). */
export function resolveOffsets(c: Cond, vars: VariableOffsets | undefined): Cond {
  if (vars === undefined) return c;
  switch (c.t) {
    case 'const':
      return c;
    case 'not':
      return { t: 'not', a: resolveOffsets(c.a, vars) };
    case 'and':
    case 'or':
      return { t: c.t, a: resolveOffsets(c.a, vars), b: resolveOffsets(c.b, vars) };
    case 'test':
      return { ...c, stmts: resolveStmts(c.stmts, vars) };
  }
}

/**
 * One statement list. X and A are followed to know whether X already holds
 * a base's variable part when an indexed load relative to that base comes
 * (after the long form of `ldxb`, or `add x; tax` following it); when it
 * does not (an index computed into X), the variable part is added first.
 */
function resolveStmts(stmts: readonly ClassicInsn[], vars: VariableOffsets): ClassicInsn[] {
  const out: ClassicInsn[] = [];
  let xBase: string | undefined;
  let aBase: string | undefined;
  for (const s of stmts) {
    const cls = classOf(s.code);
    const mode = modeOf(s.code);
    const r = (cls === BPF_CLASS.LD || cls === BPF_CLASS.LDX) && (mode === BPF_MODE.ABS || mode === BPF_MODE.IND || mode === BPF_MODE.MSH) ? baseOf(s.k, vars) : undefined;
    if (r !== undefined && cls === BPF_CLASS.LD && mode === BPF_MODE.ABS) {
      out.push(stmt(LDX_MEM, r.reg), stmt(BPF_CLASS.LD | sizeOf(s.code) | BPF_MODE.IND, r.off));
      xBase = r.base;
      aBase = undefined;
      continue;
    }
    if (r !== undefined && cls === BPF_CLASS.LDX) {
      // X = variable part + 4 * (P[variable part + k] & 0xf) (libpcap's gen_loadx_iphdrlen).
      out.push(stmt(LDX_MEM, r.reg), stmt(BPF_CLASS.LD | BPF_SIZE.B | BPF_MODE.IND, r.off), aluK(BPF_ALU_OP.AND, 0xf), aluK(BPF_ALU_OP.LSH, 2), stmt(ADD_X), stmt(TAX));
      xBase = aBase = r.base;
      continue;
    }
    if (r !== undefined) {
      if (xBase !== r.base) out.push(stmt(TXA), stmt(LDX_MEM, r.reg), stmt(ADD_X), stmt(TAX));
      out.push(stmt(BPF_CLASS.LD | sizeOf(s.code) | BPF_MODE.IND, r.off));
      xBase = r.base;
      aBase = undefined;
      continue;
    }
    out.push(s);
    if (cls === BPF_CLASS.LD) aBase = undefined;
    else if (cls === BPF_CLASS.LDX) xBase = undefined;
    else if (s.code === TAX) xBase = aBase;
    else if (s.code === TXA) aBase = xBase;
    else if (s.code === ADD_X) aBase = aBase ?? xBase;
  }
  return out;
}
