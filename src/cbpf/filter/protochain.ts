// `ip protochain N`, `ip6 protochain N`, `protochain N`: the protocol N
// anywhere in the chain of IPv6 extension headers (hop-by-hop, destination
// options, routing, fragment) and IPsec AH headers, as libpcap's
// gen_protochain finds it: a loop over the headers with a backward `ja`
// (libpcap's dialect of classic BPF, see ../check.ts).
//
// The loop is one statement list with jumps inside it, ending with A = the
// last next-header value seen, and the test `A == N` after it. The list is
// emitted as one block, so its internal jumps are relative offsets inside
// the list (emit.ts copies them as they are). Statement for statement it is
// libpcap's code, including two of its quirks, reproduced so that tsbpf
// selects the packets tcpdump selects:
//  - the AH step sets X to (AH length + 2) * 4 without adding the AH
//    header's own offset (so a chain after AH is looked for at the wrong
//    place, and a chain can revisit one header: the eBPF translation bounds
//    such loops, see ../translate.ts);
//  - on IPv4 the chain starts at the IPv4 protocol field and only AH is
//    followed.

import { BPF_ALU_OP, BPF_CLASS, BPF_JMP_OP, BPF_MISCOP, BPF_MODE, BPF_SIZE, BPF_SRC, insn, stmt, type ClassicInsn } from '../insn.js';
import type { ProtoQual } from './ast.js';
import { JEQ, and, loadAbs, loadInd, loadIpHeaderLen, or, test, type Cond } from './cond.js';
import type { GenContext } from './context.js';
import { ETH, IPPROTO } from './protocols.js';

/** Next-header values the loop knows (netinet/in.h). */
const HOPOPTS = 0;
const ROUTING = 43;
const NONE = 59;
const DSTOPTS = 60;
/** sizeof(struct ip6_hdr) */
const IP6_HDR_LEN = 40;

const ST = BPF_CLASS.ST;
const LD_MEM = BPF_CLASS.LD | BPF_MODE.MEM;
const LDX_IMM = BPF_CLASS.LDX | BPF_MODE.IMM | BPF_SIZE.W;
const TAX = BPF_CLASS.MISC | BPF_MISCOP.TAX;
const TXA = BPF_CLASS.MISC | BPF_MISCOP.TXA;
const JA = BPF_CLASS.JMP | BPF_JMP_OP.JA;
const aluK = (op: number, k: number): ClassicInsn => stmt(BPF_CLASS.ALU | op | BPF_SRC.K, k);
const ADD_X = stmt(BPF_CLASS.ALU | BPF_ALU_OP.ADD | BPF_SRC.X);

/** `protochain N` with its protocol qualifier (none: IPv4 or IPv6). */
export function protochain(ctx: GenContext, proto: ProtoQual, v: number): Cond {
  if (proto === 'default') {
    // libpcap allocates a scratch register here and never frees it (its
    // Q_DEFAULT branch returns before free_reg), so the two loops below use
    // the next one: `protochain 6` stores to M[1]. Reproduced for `-d`.
    ctx.allocReg();
    return or(protochain(ctx, 'ip', v), protochain(ctx, 'ip6', v));
  }
  if (proto !== 'ip' && proto !== 'ip6') ctx.fail("bad protocol applied for 'protochain'");
  if (ctx.layers.variable) ctx.fail("'protochain' not supported with variable length headers");
  const reg = ctx.allocReg();
  // libpcap's optimiser assumes an acyclic graph, so it turns itself off for
  // the whole expression; tsbpf's (thread.ts) would cope, but keeping the
  // code as libpcap emits it keeps `-d` the same as tcpdump's.
  ctx.noOptimize = true;
  const L = ctx.layers;
  const net = L.offNet;
  const head: ClassicInsn[] =
    proto === 'ip'
      ? [loadAbs(1, net + 9), loadIpHeaderLen(net)] // A = protocol, X = header length
      : [loadAbs(1, net + 6), stmt(LDX_IMM, IP6_HDR_LEN)]; // A = next header, X = 40
  const c = and(L.linkType(proto === 'ip' ? ETH.IP : ETH.IP6), test(chainStmts(head, proto === 'ip6', net, reg, v), JEQ, v));
  ctx.freeReg(reg);
  return c;
}

/**
 * The loop. Jumps name their targets by label while the list is built and
 * become offsets relative to the list at the end. `again` is the loop head,
 * `end` the final no-op the exits go to.
 */
function chainStmts(head: ClassicInsn[], v6: boolean, net: number, reg: number, v: number): ClassicInsn[] {
  type Label = 'again' | 'end' | 'advance' | 'ahcheck' | 'next';
  const out: { ins: ClassicInsn; jt?: Label; jf?: Label }[] = head.map((ins) => ({ ins }));
  const labels = new Map<Label, number>();
  const place = (l: Label): void => void labels.set(l, out.length);
  const jeq = (k: number, jt: Label, jf: Label): void => void out.push({ ins: insn(JEQ, k), jt, jf });
  const s = (...ins: ClassicInsn[]): void => void out.push(...ins.map((i) => ({ ins: i })));
  const ja = (to: Label): void => void out.push({ ins: insn(JA), jt: to });

  place('again');
  jeq(v, 'end', 'next');
  jeq(NONE, 'end', 'next');
  if (v6) {
    for (const h of [HOPOPTS, DSTOPTS, ROUTING]) jeq(h, 'advance', 'next');
    jeq(IPPROTO.FRAGMENT, 'advance', 'ahcheck');
    place('advance');
    // A = next header at X; X += (header length + 1) * 8; A back from M[reg].
    s(loadInd(1, net), stmt(ST, reg), loadInd(1, net + 1), aluK(BPF_ALU_OP.ADD, 1), aluK(BPF_ALU_OP.MUL, 8), ADD_X, stmt(TAX), stmt(LD_MEM, reg));
    ja('again');
  } else {
    s(aluK(BPF_ALU_OP.ADD, 0));
  }
  place('ahcheck');
  jeq(IPPROTO.AH, 'next', 'end');
  // A = next header at X; X = (AH length + 2) * 4 (libpcap's arithmetic, see above).
  s(stmt(TXA), loadInd(1, net), stmt(ST, reg), stmt(TXA), aluK(BPF_ALU_OP.ADD, 1), stmt(TAX), loadInd(1, net), aluK(BPF_ALU_OP.ADD, 2), aluK(BPF_ALU_OP.MUL, 4), stmt(TAX), stmt(LD_MEM, reg));
  ja('again');
  place('end');
  s(aluK(BPF_ALU_OP.ADD, 0));

  return out.map(({ ins, jt, jf }, i) => {
    const rel = (l: Label | undefined): number => (l === undefined || l === 'next' ? 0 : labels.get(l)! - i - 1);
    if (ins.code === JA) return insn(JA, rel(jt) >>> 0);
    return jt === undefined ? ins : insn(ins.code, ins.k, rel(jt), rel(jf));
  });
}
