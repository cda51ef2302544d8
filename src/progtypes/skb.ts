// socket_filter, sched_cls/sched_act (tc) and cgroup_skb: struct __sk_buff
// around a packet, as BPF_PROG_TEST_RUN builds an skb from data_in.
//
// As for XDP (see xdp.ts), the UAPI struct is laid out in memory with data,
// data_end and data_meta holding 32-bit packet addresses, instead of the
// kernel's rewriting of ctx loads into sk_buff loads. The struct is writable
// (mark, cb, priority... are; which fields a program may touch is the
// verifier's business, ctx.ts); after the run only the fields the kernel
// copies back are read from it, so a stray write elsewhere changes nothing.
//
// Like the kernel's test run, the skb comes from the loopback device: the
// frame's Ethernet header gives protocol and pkt_type (eth_type_trans), and
// ifindex is 1. tc programs (layer 2) see the packet from the Ethernet
// header; socket filters and cgroup_skb see it from the network header, and
// their data_out has the Ethernet header zeroed, as the kernel returns it.

import type { HelperContextOptions } from '../helpers/context.js';
import { arg, argHi, helper, retInt } from '../helpers/define.js';
import type { HelperEnv } from '../helpers/registry.js';
import type { RuntimeMemory } from '../vm/memory.js';
import { ProgramError } from '../internal/errors.js';
import { EFAULT, EINVAL } from './errno.js';
import { ENOMEM } from '../maps/errno.js';
import { TestRunError } from './errors.js';
import { ETH_HLEN, LOOPBACK_IFINDEX } from './xdp.js';
import { ProgRunContext } from './run-context.js';
import { SKB, SKB_SIZE } from './skb-layout.js';
import { BPF_SOCK, BPF_SOCK_SIZE } from './sock.js';

export { SKB, SKB_SIZE };

/** The kernel's test-run buffer is a page with NET_SKB_PAD + NET_IP_ALIGN (66) of headroom and 320 of tailroom: the input limit. */
export const SKB_MAX_DATA = 4096 - 66 - 320;
/** TCP_CLOSE: the dummy socket's state (sock_init_data). */
const TCP_CLOSE = 7;
/** Socket cookies given out so far in this process. */
let lastCookie = 0n;
/** __bpf_skb_max_len on the loopback device: mtu 65536 + hard_header_len 14. */
export const SKB_MAX_LEN = 65536 + ETH_HLEN;
/**
 * Here the buffer is larger so that bpf_skb_change_head/tail can grow the
 * packet as far as the kernel (which reallocates) lets them: room in front
 * for pushed headers, and the largest packet after it.
 */
const SKB_HEADROOM = 512;
const SKB_BUFFER = SKB_HEADROOM + SKB_MAX_LEN + 512;


/** sk_buff pkt_type values (linux/if_packet.h). */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;

/** The byte ranges of __sk_buff a ctx_in may set (convert___skb_to_skb); everything else must be zero. */
const CTX_IN_ALLOWED: readonly (readonly [number, number])[] = [
  [SKB.mark, 4], [SKB.priority, 4], [SKB.ingress_ifindex, 4], [SKB.ifindex, 4], [SKB.cb, 20],
  [SKB.tstamp, 8], [SKB.wire_len, 4], [SKB.gso_segs, 4], [SKB.gso_size, 4], [SKB.hwtstamp, 8],
];

/** GSO_MAX_SEGS and GSO_LEGACY_MAX_SIZE. */
const GSO_MAX_SEGS = 65535;
const GSO_LEGACY_MAX_SIZE = 65536;

/** eth_type_trans: skb->protocol (as the __be16 the program reads) and pkt_type, for the loopback device (MAC 0). */
export function ethTypeTrans(frame: Uint8Array): { protocol: number; pktType: number } {
  let pktType = PACKET_HOST;
  if ((frame[0]! & 1) !== 0) {
    pktType = frame.subarray(0, 6).every((b) => b === 0xff) ? PACKET_BROADCAST : PACKET_MULTICAST;
  } else if (!frame.subarray(0, 6).every((b) => b === 0)) {
    pktType = PACKET_OTHERHOST;
  }
  const proto = (frame[12]! << 8) | frame[13]!;
  let host: number;
  if (proto >= 0x600) host = proto;
  else if (frame.length >= 16 && frame[14] === 0xff && frame[15] === 0xff) host = 0x0001; // ETH_P_802_3 (raw IPX)
  else host = 0x0004; // ETH_P_802_2
  // __be16 in memory; a program's u32 load reads the bytes in little-endian order
  return { protocol: ((host & 0xff) << 8) | (host >>> 8), pktType };
}

export interface SkbRunOptions {
  /** Layer 2 programs (tc) see the Ethernet header; others start at the network header. */
  readonly l2: boolean;
}

export class SkbRunContext extends ProgRunContext {
  readonly ctxAddr: number;
  /** skb->data and skb->len as the program sees them. */
  data = 0;
  len = 0;
  /** tc: the packet starts at the Ethernet header (socket filters and cgroup_skb: at the network header). */
  readonly l2: boolean;
  /** The buffer holding the packet (see SKB_BUFFER): [bufStart, bufEnd). */
  readonly bufStart: number;
  readonly bufEnd: number;
  /** The furthest packet byte since the last reset (what the next reset must clear). */
  private highWater: number;
  /** The test run's socket (skb->sk): a struct bpf_sock, read-only to programs. */
  readonly sockAddr: number;
  /** skb->hash holds a hash (set by bpf_set_hash or computed by bpf_get_hash_recalc) rather than none. */
  hashValid = false;
  /**
   * skb->ip_summed is CHECKSUM_UNNECESSARY (else CHECKSUM_NONE, as a test
   * run builds the skb), and skb->csum_level (bpf_csum_level).
   */
  csumUnnecessary = false;
  csumLevel = 0;
  /** Its cookie (bpf_get_socket_cookie), given out on first use: each test run's socket is a new one. */
  private cookie = 0n;

  constructor(options: HelperContextOptions, dataIn: Uint8Array, ctxIn: Uint8Array | undefined, skbOptions: SkbRunOptions) {
    super(options);
    this.l2 = skbOptions.l2;
    this.bufStart = this.alloc(SKB_BUFFER, 'skb data', 'packet', true).start;
    this.bufEnd = this.bufStart + SKB_BUFFER;
    this.highWater = this.bufEnd; // the first reset clears it all
    this.ctxAddr = this.alloc(SKB_SIZE, '__sk_buff', 'ctx', true).start;
    this.sockAddr = this.alloc(BPF_SOCK_SIZE, 'bpf_sock (skb->sk)', 'other', false).start;
    this.reset(dataIn, ctxIn);
  }

  override reset(dataIn: Uint8Array | undefined, ctxIn: Uint8Array | undefined): boolean {
    dataIn ??= new Uint8Array(0);
    if (dataIn.length < ETH_HLEN) throw new TestRunError(EINVAL, `data_in is ${dataIn.length} bytes, less than ETH_HLEN (${ETH_HLEN})`);
    if (dataIn.length > SKB_MAX_DATA) throw new TestRunError(EINVAL, `data_in is ${dataIn.length} bytes; an skb test run takes at most ${SKB_MAX_DATA}`);
    // the kernel pulls the network header of IPv4 and IPv6 frames into the linear part first
    const ethType = (dataIn[12]! << 8) | dataIn[13]!;
    const l3 = dataIn.length - ETH_HLEN;
    if (ethType === 0x0800 && l3 < 20) throw new TestRunError(EINVAL, `IPv4 frame with ${l3} bytes after the Ethernet header, less than an IP header (20)`);
    if (ethType === 0x86dd && l3 < 40) throw new TestRunError(EINVAL, `IPv6 frame with ${l3} bytes after the Ethernet header, less than an IPv6 header (40)`);
    const ctx = new Uint8Array(SKB_SIZE);
    if (ctxIn !== undefined) {
      if (ctxIn.length > SKB_SIZE && ctxIn.subarray(SKB_SIZE).some((b) => b !== 0)) throw new TestRunError(7, `__sk_buff ctx_in is ${ctxIn.length} bytes with non-zero bytes past ${SKB_SIZE}`);
      ctx.set(ctxIn.subarray(0, SKB_SIZE));
      checkCtxIn(ctx, dataIn.length);
    }
    this.clearLocalStorage();
    const u8 = this.memory.u8;
    // a zeroed buffer, as the kernel allocates: clear what the last packet reached
    u8.fill(0, this.bufStart, this.highWater);
    const frame = this.bufStart + SKB_HEADROOM;
    u8.set(dataIn, frame);
    this.data = this.l2 ? frame : frame + ETH_HLEN;
    this.len = this.l2 ? dataIn.length : dataIn.length - ETH_HLEN;
    this.highWater = frame + dataIn.length;

    const dv = new DataView(ctx.buffer);
    const { protocol, pktType } = ethTypeTrans(dataIn);
    // what the kernel does not take from ctx_in is the skb's own state
    dv.setUint32(SKB.pkt_type, pktType, true);
    dv.setUint32(SKB.protocol, protocol, true);
    if (dv.getUint32(SKB.ifindex, true) <= LOOPBACK_IFINDEX) dv.setUint32(SKB.ifindex, LOOPBACK_IFINDEX, true);
    setSocketFields(dv, dataIn, ethType);
    this.fillSocket(dv);
    dv.setUint32(SKB.sk, this.sockAddr, true);
    // without ctx_in the kernel leaves qdisc_skb_cb->pkt_len (wire_len) 0
    if (ctxIn !== undefined && dv.getUint32(SKB.wire_len, true) === 0) dv.setUint32(SKB.wire_len, this.len, true);
    u8.set(ctx, this.ctxAddr);
    this.syncPointers();
    return true;
  }

  /**
   * The socket BPF_PROG_TEST_RUN attaches (sk_alloc + sock_init_data without
   * a struct socket): family and addresses from the frame (as the __sk_buff
   * shows them), state TCP_CLOSE (a full socket), type and protocol 0, no
   * receive queue (rx_queue_mapping -1), ports 0.
   */
  private fillSocket(ctx: DataView): void {
    const u8 = this.memory.u8;
    const s = this.sockAddr;
    u8.fill(0, s, s + BPF_SOCK_SIZE);
    const dv = this.memory.dv;
    dv.setUint32(s + BPF_SOCK.family, ctx.getUint32(SKB.family, true), true);
    dv.setUint32(s + BPF_SOCK.src_ip4, ctx.getUint32(SKB.local_ip4, true), true);
    dv.setUint32(s + BPF_SOCK.dst_ip4, ctx.getUint32(SKB.remote_ip4, true), true);
    for (let i = 0; i < 16; i += 4) {
      dv.setUint32(s + BPF_SOCK.src_ip6 + i, ctx.getUint32(SKB.local_ip6 + i, true), true);
      dv.setUint32(s + BPF_SOCK.dst_ip6 + i, ctx.getUint32(SKB.remote_ip6 + i, true), true);
    }
    dv.setUint32(s + BPF_SOCK.state, TCP_CLOSE, true);
    dv.setInt32(s + BPF_SOCK.rx_queue_mapping, -1, true);
    this.cookie = 0n;
    this.hashValid = false;
    this.csumUnnecessary = false;
    this.csumLevel = 0;
  }

  /** __skb_reset_checksum_unnecessary (bpf_csum_level RESET, bpf_skb_adjust_room without NO_CSUM_RESET). */
  resetChecksumUnnecessary(): void {
    this.csumUnnecessary = false;
    this.csumLevel = 0;
  }

  /** sock_gen_cookie: a process-wide counter, one value per socket, never 0. */
  socketCookie(): bigint {
    if (this.cookie === 0n) this.cookie = ++lastCookie;
    return this.cookie;
  }

  /** Write len and the packet pointers into the __sk_buff (after a reset or a helper that moved them). */
  syncPointers(): void {
    const dv = this.memory.dv;
    const a = this.ctxAddr;
    dv.setUint32(a + SKB.len, this.len, true);
    dv.setUint32(a + SKB.data, this.data, true);
    dv.setUint32(a + SKB.data_end, this.data + this.len, true);
    dv.setUint32(a + SKB.data_meta, this.data, true);
    this.packet = { start: this.data, len: this.len };
    if (this.data + this.len > this.highWater) this.highWater = this.data + this.len;
  }

  /** The packet; socket filters' comes back with a zeroed Ethernet header in front (the kernel pushes one). */
  dataOut(): Uint8Array {
    const u8 = this.memory.u8;
    if (this.l2) return u8.slice(this.data, this.data + this.len);
    const out = new Uint8Array(ETH_HLEN + this.len);
    out.set(u8.subarray(this.data, this.data + this.len), ETH_HLEN);
    return out;
  }

  /** The fields convert_skb_to___skb copies back; the rest zero. */
  ctxOut(): Uint8Array {
    const out = new Uint8Array(SKB_SIZE);
    const src = this.memory.u8;
    for (const [off, size] of CTX_IN_ALLOWED) out.set(src.subarray(this.ctxAddr + off, this.ctxAddr + off + size), off);
    return out;
  }

  /** bpf_skb_pull_data: the linear part already holds everything; asking for more than the packet is -ENOMEM. */
  pullData(len: number): number {
    return len > this.len ? -ENOMEM : 0;
  }

  /** The EtherType skb->protocol holds (from the frame's Ethernet header at reset, changed by VLAN pops). */
  ethType(): number {
    const p = this.memory.dv.getUint16(this.ctxAddr + SKB.protocol, true);
    return ((p & 0xff) << 8) | (p >>> 8);
  }

  setEthType(t: number): void {
    this.memory.dv.setUint32(this.ctxAddr + SKB.protocol, ((t & 0xff) << 8) | (t >>> 8), true);
  }

  /** bpf_skb_load_bytes: copy from the packet; -EFAULT (and a zeroed buffer) outside it. */
  loadBytes(off: number, to: number, len: number): number {
    const mem = this.memory;
    if (!mem.checkRange(to, len, true)) return -EFAULT;
    if (off > 0x7fffffff || off + len > this.len) {
      mem.u8.fill(0, to, to + len);
      return -EFAULT;
    }
    mem.u8.copyWithin(to, this.data + off, this.data + off + len);
    return 0;
  }

  /** bpf_skb_store_bytes: copy into the packet (flags: BPF_F_RECOMPUTE_CSUM, BPF_F_INVALIDATE_HASH). */
  storeBytes(off: number, from: number, len: number, flags: number): number {
    const mem = this.memory;
    if ((flags & ~3) !== 0) return -EINVAL;
    if (off > 0x7fffffff || off + len > this.len) return -EFAULT;
    if (!mem.checkRange(from, len, false)) return -EFAULT;
    mem.u8.copyWithin(this.data + off, from, from + len);
    return 0;
  }
}

/**
 * The test run's socket (skb->sk) takes its family and addresses from the
 * frame's IP header: family AF_INET or AF_INET6, the local address = the
 * source, the remote address = the destination (ports stay 0). cgroup_skb
 * programs read them as family, local_ip4/6 and remote_ip4/6.
 */
function setSocketFields(dv: DataView, frame: Uint8Array, ethType: number): void {
  const copy = (to: number, from: number, n: number): void => {
    for (let i = 0; i < n; i++) dv.setUint8(to + i, frame[from + i]!);
  };
  if (ethType === 0x0800) {
    dv.setUint32(SKB.family, 2, true); // AF_INET
    copy(SKB.local_ip4, ETH_HLEN + 12, 4);
    copy(SKB.remote_ip4, ETH_HLEN + 16, 4);
  } else if (ethType === 0x86dd) {
    dv.setUint32(SKB.family, 10, true); // AF_INET6
    copy(SKB.local_ip6, ETH_HLEN + 8, 16);
    copy(SKB.remote_ip6, ETH_HLEN + 24, 16);
  }
}

function checkCtxIn(ctx: Uint8Array, size: number): void {
  const allowed = new Uint8Array(SKB_SIZE);
  for (const [off, n] of CTX_IN_ALLOWED) allowed.fill(1, off, off + n);
  for (let i = 0; i < SKB_SIZE; i++) {
    if (ctx[i] !== 0 && allowed[i] === 0) {
      const field = Object.entries(SKB).filter(([, o]) => o <= i).sort((a, b) => b[1] - a[1])[0]![0];
      throw new TestRunError(EINVAL, `__sk_buff ctx_in: field ${field} (byte ${i}) cannot be set by a test run`);
    }
  }
  const dv = new DataView(ctx.buffer, ctx.byteOffset, SKB_SIZE);
  const wire = dv.getUint32(SKB.wire_len, true);
  if (wire !== 0 && (wire < size || wire > GSO_LEGACY_MAX_SIZE)) throw new TestRunError(EINVAL, `__sk_buff ctx_in: wire_len ${wire} is less than the packet (${size}) or above ${GSO_LEGACY_MAX_SIZE}`);
  if (dv.getUint32(SKB.gso_segs, true) > GSO_MAX_SEGS) throw new TestRunError(EINVAL, `__sk_buff ctx_in: gso_segs above ${GSO_MAX_SEGS}`);
}

/** The skb context of a helper call whose r1 must be the program's __sk_buff. */
export function skbOf(env: HelperEnv, name: string): SkbRunContext {
  const run = env.run;
  if (!(run instanceof SkbRunContext)) throw new ProgramError(env.pc, `helper ${name} is for __sk_buff programs run by the runtime (no skb context)`);
  if (arg(env, 1) !== run.ctxAddr) throw new ProgramError(env.pc, `helper ${name}: r1 is not the program's __sk_buff`);
  return run;
}

/** skb->hash as __sk_buff.hash shows it; a set hash is what bpf_get_hash_recalc returns, a cleared one is recomputed. */
function setHash(env: HelperEnv, skb: SkbRunContext, hash: number, valid: boolean): void {
  env.mem.dv.setUint32(skb.ctxAddr + SKB.hash, hash, true);
  skb.hashValid = valid;
}

/** BPF_HDR_START_MAC / BPF_HDR_START_NET: where bpf_skb_load_bytes_relative counts from. */
const BPF_HDR_START_MAC = 0;
const BPF_HDR_START_NET = 1;

/**
 * bpf_skb_load_bytes_relative: copy `len` bytes from `off` past the MAC or
 * the network header (the test run's Ethernet header is in front of a socket
 * filter's data too), up to the packet's end; anything else is -EFAULT with
 * the buffer zeroed.
 */
export function loadBytesRelative(mem: RuntimeMemory, skb: SkbRunContext, off: number, to: number, len: number, start: number): number {
  if (!mem.checkRange(to, len, true)) return -EFAULT;
  const mac = skb.l2 ? skb.data : skb.data - ETH_HLEN;
  const base = start === BPF_HDR_START_MAC ? mac : start === BPF_HDR_START_NET ? mac + ETH_HLEN : -1;
  const end = skb.data + skb.len;
  if (off > 0xffff || base < 0 || base + off + len > end) {
    mem.u8.fill(0, to, to + len);
    return -EFAULT;
  }
  mem.u8.copyWithin(to, base + off, base + off + len);
  return 0;
}

export const SKB_HELPERS = [
  helper('set_hash', (env) => {
    setHash(env, skbOf(env, 'set_hash'), arg(env, 2), true);
    retInt(env, 0);
  }),
  helper('set_hash_invalid', (env) => {
    setHash(env, skbOf(env, 'set_hash_invalid'), 0, false);
    retInt(env, 0);
  }),
  // skb_change_type: only PACKET_HOST .. PACKET_OTHERHOST, from and to
  helper('skb_change_type', (env) => {
    const skb = skbOf(env, 'skb_change_type');
    const dv = env.mem.dv;
    const type = arg(env, 2);
    if (argHi(env, 2) !== 0 || type > PACKET_OTHERHOST || dv.getUint32(skb.ctxAddr + SKB.pkt_type, true) > PACKET_OTHERHOST) return retInt(env, -EINVAL);
    dv.setUint32(skb.ctxAddr + SKB.pkt_type, type, true);
    retInt(env, 0);
  }),
  helper('skb_pull_data', (env) => retInt(env, skbOf(env, 'skb_pull_data').pullData(arg(env, 2)))),
  helper('skb_load_bytes', (env) => retInt(env, skbOf(env, 'skb_load_bytes').loadBytes(arg(env, 2), arg(env, 3), arg(env, 4)))),
  helper('skb_store_bytes', (env) => retInt(env, skbOf(env, 'skb_store_bytes').storeBytes(arg(env, 2), arg(env, 3), arg(env, 4), arg(env, 5)))),
  helper('skb_load_bytes_relative', (env) => {
    const skb = skbOf(env, 'skb_load_bytes_relative');
    const to = arg(env, 3);
    const len = arg(env, 4);
    // offset and start_header are u32 parameters: their high halves are dropped
    retInt(env, loadBytesRelative(env.mem, skb, arg(env, 2), to, len, arg(env, 5)));
  }),
];

