// XDP: struct xdp_md around a packet, as BPF_PROG_TEST_RUN builds it.
//
// The kernel converts a program's loads of xdp_md->data into loads of
// xdp_buff->data (a real pointer). Every address in the runtime memory fits
// in 32 bits, so here the xdp_md is laid out as the UAPI struct in memory
// with data, data_end and data_meta holding those addresses: a 32-bit load
// of ctx->data already yields the packet pointer and no rewriting is needed.
// The runtime keeps the authoritative pointers in this object and writes
// them back into the struct whenever a helper moves them.
//
// The packet lives in one page-sized frame (4096 bytes) like the kernel's:
//   [hard start][XDP_PACKET_HEADROOM = 256][packet ...][tailroom = 320 (skb_shared_info)]
// so bpf_xdp_adjust_head can push up to 216 bytes in front (the first 40
// bytes of the frame hold the kernel's struct xdp_frame) and
// bpf_xdp_adjust_tail can grow the packet up to the tailroom.

import type { HelperContextOptions } from '../helpers/context.js';
import { arg, helper, retInt } from '../helpers/define.js';
import type { HelperEnv } from '../helpers/registry.js';
import { ProgramError } from '../internal/errors.js';
import { E2BIG, EACCES, EFAULT, EINVAL, ENOTSUPP } from './errno.js';
import { TestRunError } from './errors.js';
import { ProgRunContext } from './run-context.js';

export const XDP_PACKET_HEADROOM = 256;
/** PAGE_SIZE: the test run's frame (xdp_buff.frame_sz). */
export const XDP_FRAME_SIZE = 4096;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64: the end of the frame the packet may not grow into. */
export const XDP_TAILROOM = 320;
/** sizeof(struct xdp_frame): kept free at the start of the headroom. */
export const XDP_FRAME_STRUCT = 40;
/** Largest linear packet a test run takes (PAGE_SIZE - headroom - tailroom). */
export const XDP_MAX_DATA = XDP_FRAME_SIZE - XDP_PACKET_HEADROOM - XDP_TAILROOM;
export const ETH_HLEN = 14;
/** MAX_SKB_FRAGS: fragments a multi-buffer frame may have. */
export const MAX_SKB_FRAGS = 17;
/** sizeof(struct xdp_md). */
export const XDP_MD_SIZE = 24;
/** The loopback device's ifindex: where test runs receive. */
export const LOOPBACK_IFINDEX = 1;

/** XDP verdicts. */
export const XDP_ACTION = { XDP_ABORTED: 0, XDP_DROP: 1, XDP_PASS: 2, XDP_TX: 3, XDP_REDIRECT: 4 } as const;

const EMPTY = new Uint8Array(0);
const MD_DATA = 0;
const MD_DATA_END = 4;
const MD_DATA_META = 8;
const MD_INGRESS_IFINDEX = 12;
const MD_RX_QUEUE_INDEX = 16;
const MD_EGRESS_IFINDEX = 20;

/** Metadata must be a multiple of 4 bytes and at most 32 (xdp_metalen_invalid). */
const metaLenInvalid = (n: number): boolean => (n & 3) !== 0 || n > 32;

export class XdpRunContext extends ProgRunContext {
  readonly ctxAddr: number;
  readonly hardStart: number;
  data: number;
  dataEnd: number;
  dataMeta: number;
  /**
   * Bytes of data_in past the linear part: the kernel puts them in page
   * fragments, which only multi-buffer helpers reach (not implemented here);
   * they come back after the linear part in data_out.
   */
  frags: Uint8Array = new Uint8Array(0);
  /** The furthest data_end since the last reset (what the next reset must clear). */
  private highWater: number;
  private ingressIfindex = LOOPBACK_IFINDEX;
  private rxQueueIndex = 0;
  /** ctx_out keeps the caller's ingress_ifindex (0 when it gave none), as the kernel does. */
  private ctxInIngress = 0;
  /**
   * Where the last successful bpf_redirect_map pointed (the kernel's
   * bpf_redirect_info): the map, the key, and whether it was a broadcast.
   * A test run records it; nothing is sent.
   */
  redirect: { readonly mapId: number; readonly key: number; readonly broadcast: boolean } | undefined = undefined;

  /**
   * `dataIn` is the packet; `ctxIn`, when given, is a struct xdp_md whose
   * `data` says how many leading bytes of dataIn are metadata and whose
   * `data_end` ends the linear part (the kernel's checks).
   */
  constructor(options: HelperContextOptions, dataIn: Uint8Array, ctxIn?: Uint8Array) {
    super(options);
    this.hardStart = this.alloc(XDP_FRAME_SIZE, 'xdp frame', 'packet', true).start;
    // read-only to the program: every xdp_md field is read-only
    this.ctxAddr = this.alloc(XDP_MD_SIZE, 'xdp_md', 'ctx', false).start;
    this.data = this.dataEnd = this.dataMeta = this.hardStart + XDP_PACKET_HEADROOM;
    this.highWater = this.hardStart + XDP_FRAME_SIZE; // the first reset clears it all
    this.reset(dataIn, ctxIn);
  }

  /** Set the frame up for a new packet (a fresh zeroed page, as the kernel's test run allocates). */
  override reset(dataIn: Uint8Array | undefined, ctxIn: Uint8Array | undefined): boolean {
    dataIn ??= new Uint8Array(0);
    if (dataIn.length < ETH_HLEN) throw new TestRunError(EINVAL, `XDP data_in is ${dataIn.length} bytes, less than ETH_HLEN (${ETH_HLEN})`);
    // the kernel's limit on data_in: a page-sized linear part and up to MAX_SKB_FRAGS pages
    if (dataIn.length > XDP_MAX_DATA + MAX_SKB_FRAGS * XDP_FRAME_SIZE) throw new TestRunError(E2BIG, `XDP data_in is ${dataIn.length} bytes, more than a test run's frame and fragments hold`);
    let linear = Math.min(dataIn.length, XDP_MAX_DATA);
    let metaLen = 0;
    // without an ingress_ifindex the kernel's test run receives on the loopback device
    let ingress = LOOPBACK_IFINDEX;
    let ctxInIngress = 0;
    if (ctxIn !== undefined) {
      const md = readMd(ctxIn);
      if (md.dataMeta !== 0) throw new TestRunError(EINVAL, 'xdp_md ctx_in: data_meta must be 0');
      if (md.dataEnd > dataIn.length) throw new TestRunError(EINVAL, `xdp_md ctx_in: data_end (${md.dataEnd}) is past the data_in size (${dataIn.length})`);
      if (md.data > md.dataEnd || metaLenInvalid(md.data)) throw new TestRunError(EINVAL, `xdp_md ctx_in: data (${md.data}, the metadata length) must be a multiple of 4, at most 32`);
      if (md.egressIfindex !== 0) throw new TestRunError(EINVAL, 'xdp_md ctx_in: egress_ifindex must be 0');
      // the kernel checks the queue against the device; devices here have one rx queue
      if (md.rxQueueIndex !== 0) throw new TestRunError(EINVAL, `xdp_md ctx_in: rx_queue_index ${md.rxQueueIndex} does not exist (one rx queue per device)`);
      metaLen = md.data;
      // data_end sets the linear part; the rest of data_in becomes fragments
      linear = Math.min(md.dataEnd, XDP_MAX_DATA);
      if (md.ingressIfindex !== 0) ingress = md.ingressIfindex;
      ctxInIngress = md.ingressIfindex;
    }
    const u8 = this.memory.u8;
    // A fresh zeroed frame, as the kernel allocates. Only the part the last packet
    // reached needs clearing: the headroom and the packet up to its furthest end.
    // Bytes an unverified program wrote past that are never exposed, because
    // growing the tail zero-fills what it adds.
    u8.fill(0, this.hardStart, Math.max(this.highWater, this.hardStart + XDP_PACKET_HEADROOM));
    // the metadata of ctx_in comes out of the headroom, as in the kernel
    this.dataMeta = this.hardStart + XDP_PACKET_HEADROOM - metaLen;
    u8.set(dataIn.subarray(0, linear), this.dataMeta);
    this.frags = linear < dataIn.length ? dataIn.slice(linear) : EMPTY;
    this.redirect = undefined;
    this.data = this.dataMeta + metaLen;
    this.dataEnd = this.dataMeta + linear;
    this.highWater = this.dataEnd;
    this.ingressIfindex = ingress;
    this.rxQueueIndex = 0;
    this.ctxInIngress = ctxInIngress;
    this.syncMd();
    return true;
  }

  /** Write the current pointers into the xdp_md the program reads. */
  syncMd(): void {
    const dv = this.memory.dv;
    const a = this.ctxAddr;
    dv.setUint32(a + MD_DATA, this.data, true);
    dv.setUint32(a + MD_DATA_END, this.dataEnd, true);
    dv.setUint32(a + MD_DATA_META, this.dataMeta, true);
    dv.setUint32(a + MD_INGRESS_IFINDEX, this.ingressIfindex, true);
    dv.setUint32(a + MD_RX_QUEUE_INDEX, this.rxQueueIndex, true);
    dv.setUint32(a + MD_EGRESS_IFINDEX, 0, true);
  }

  /** bpf_xdp_adjust_head: move data by `delta` (negative grows the packet at the front). */
  adjustHead(delta: number): number {
    const metaLen = this.data - this.dataMeta;
    const newData = this.data + delta;
    if (newData < this.hardStart + XDP_FRAME_STRUCT + metaLen || newData > this.dataEnd - ETH_HLEN) return -EINVAL;
    if (metaLen > 0) this.memory.u8.copyWithin(this.dataMeta + delta, this.dataMeta, this.data);
    this.dataMeta += delta;
    this.data = newData;
    this.syncMd();
    return 0;
  }

  /** bpf_xdp_adjust_meta: move data_meta by `delta` (negative reserves metadata). */
  adjustMeta(delta: number): number {
    const meta = this.dataMeta + delta;
    if (meta < this.hardStart + XDP_FRAME_STRUCT || meta > this.data) return -EINVAL;
    if (metaLenInvalid(this.data - meta)) return -EACCES;
    this.dataMeta = meta;
    this.syncMd();
    return 0;
  }

  /** bpf_xdp_adjust_tail: move data_end by `delta`; grown bytes are zeroed. */
  adjustTail(delta: number): number {
    // growing or shrinking into fragments needs the multi-buffer paths of the kernel
    if (this.frags.length > 0) return -ENOTSUPP;
    const end = this.dataEnd + delta;
    if (end > this.hardStart + XDP_FRAME_SIZE - XDP_TAILROOM) return -EINVAL;
    if (end < this.data + ETH_HLEN) return -EINVAL;
    if (delta > 0) this.memory.u8.fill(0, this.dataEnd, end);
    this.dataEnd = end;
    if (end > this.highWater) this.highWater = end;
    this.syncMd();
    return 0;
  }

  /** bpf_xdp_get_buff_len: the linear part and the fragments. */
  buffLen(): number {
    return this.dataEnd - this.data + this.frags.length;
  }

  /**
   * bpf_xdp_load_bytes / bpf_xdp_store_bytes: copy between `buf` and the
   * packet at `off`, across the linear part and the fragments.
   */
  copyBytes(off: number, buf: number, len: number, store: boolean): number {
    if (off > 0xffff || len > 0xffff) return -EFAULT;
    if (off + len > this.buffLen()) return -EINVAL;
    const mem = this.memory;
    if (!mem.checkRange(buf, len, !store)) return -EFAULT;
    const u8 = mem.u8;
    const linear = this.dataEnd - this.data;
    for (let i = 0; i < len; i++) {
      const at = off + i;
      if (at < linear) {
        if (store) u8[this.data + at] = u8[buf + i]!;
        else u8[buf + i] = u8[this.data + at]!;
      } else if (store) {
        this.frags[at - linear] = u8[buf + i]!;
      } else {
        u8[buf + i] = this.frags[at - linear]!;
      }
    }
    return 0;
  }

  /** The kernel copies from data_meta: metadata, then the packet. */
  dataOut(): Uint8Array {
    const lin = this.memory.u8.subarray(this.dataMeta, this.dataEnd);
    const out = new Uint8Array(lin.length + this.frags.length);
    out.set(lin);
    out.set(this.frags, lin.length);
    return out;
  }

  /** xdp_md with data and data_end relative to data_meta (xdp_convert_buff_to_md). */
  ctxOut(): Uint8Array {
    const out = new Uint8Array(XDP_MD_SIZE);
    const dv = new DataView(out.buffer);
    dv.setUint32(MD_DATA, this.data - this.dataMeta, true);
    dv.setUint32(MD_DATA_END, this.dataEnd - this.dataMeta, true);
    dv.setUint32(MD_INGRESS_IFINDEX, this.ctxInIngress, true);
    dv.setUint32(MD_RX_QUEUE_INDEX, this.rxQueueIndex, true);
    return out;
  }
}

function readMd(b: Uint8Array): { data: number; dataEnd: number; dataMeta: number; ingressIfindex: number; rxQueueIndex: number; egressIfindex: number } {
  if (b.length > XDP_MD_SIZE) {
    // bpf_check_uarg_tail_zero: a longer struct is fine only if the extra bytes are zero
    for (let i = XDP_MD_SIZE; i < b.length; i++) if (b[i] !== 0) throw new TestRunError(7, `xdp_md ctx_in: ${b.length} bytes with non-zero bytes past ${XDP_MD_SIZE}`);
  }
  const full = new Uint8Array(XDP_MD_SIZE);
  full.set(b.subarray(0, XDP_MD_SIZE));
  const dv = new DataView(full.buffer);
  const u = (o: number): number => dv.getUint32(o, true);
  return { data: u(MD_DATA), dataEnd: u(MD_DATA_END), dataMeta: u(MD_DATA_META), ingressIfindex: u(MD_INGRESS_IFINDEX), rxQueueIndex: u(MD_RX_QUEUE_INDEX), egressIfindex: u(MD_EGRESS_IFINDEX) };
}

/** The XDP context of a helper call whose r1 must be the program's ctx. */
export function xdpOf(env: HelperEnv, name: string): XdpRunContext {
  const run = env.run;
  if (!(run instanceof XdpRunContext)) throw new ProgramError(env.pc, `helper ${name} is for XDP programs run by the runtime (no XDP context)`);
  // Unverified programs may pass anything in r1; the kernel's verifier would insist on ctx.
  if (arg(env, 1) !== run.ctxAddr) throw new ProgramError(env.pc, `helper ${name}: r1 is not the program's xdp_md`);
  return run;
}

/** Helper argument i as a signed 32-bit int (the kernel's `int offset`). */
const argInt = (env: HelperEnv, i: number): number => env.regs[2 * i]! | 0;

export const XDP_HELPERS = [
  helper('xdp_get_buff_len', (env) => retInt(env, xdpOf(env, 'xdp_get_buff_len').buffLen())),
  helper('xdp_load_bytes', (env) => retInt(env, xdpOf(env, 'xdp_load_bytes').copyBytes(arg(env, 2), arg(env, 3), arg(env, 4), false))),
  helper('xdp_store_bytes', (env) => retInt(env, xdpOf(env, 'xdp_store_bytes').copyBytes(arg(env, 2), arg(env, 3), arg(env, 4), true))),
  helper('xdp_adjust_head', (env) => retInt(env, xdpOf(env, 'xdp_adjust_head').adjustHead(argInt(env, 2)))),
  helper('xdp_adjust_meta', (env) => retInt(env, xdpOf(env, 'xdp_adjust_meta').adjustMeta(argInt(env, 2)))),
  helper('xdp_adjust_tail', (env) => retInt(env, xdpOf(env, 'xdp_adjust_tail').adjustTail(argInt(env, 2)))),
];
