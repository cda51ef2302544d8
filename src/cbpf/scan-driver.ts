// The scan driver: a classic socket filter wrapped in an eBPF loop over the
// pcap records (or pcapng enhanced packet blocks) in a buffer, so a whole
// buffer of packets is filtered in one engine call (used by
// scan-capture.ts), and JS touches each buffer once instead of each record.
//
// The driver's ctx is a struct __sk_buff (so ancillary loads work as usual;
// `len` is rewritten per packet) followed by the scan fields at SCAN_CTX
// offsets. Per record it checks the timestamp fraction (as the pcap parser
// does), sets r8/r9 to the packet bytes, A = X = 0, and runs the filter. For
// an accepted packet it appends an entry { result, record offset, record
// index, packed end } to the output array and, when built with `pack`, the
// record as written by `tsbpf filter -w` (little-endian header with
// microseconds, bytes cut to min(result, incl_len, snaplen)) to the pack
// buffer, a separate region, so the records read stay intact for the caller.
//
// It stops (status) at the end of the buffer or an incomplete record
// (SCAN_STATUS.END), when the output array or the pack buffer is full
// (FULL: call again from `consumed`), at a pcap record with a bad timestamp
// fraction (BAD_TIME: that record is at `consumed`), or at a pcapng block it
// leaves to the pcap parser (OTHER): any block but an enhanced packet block
// of an interface in `ifaceMask` whose lengths are consistent. The parser
// then reads that block (or reports it as corrupt), exactly as without the
// driver. Only pcapng interfaces with a decimal timestamp resolution of at
// most 10^-9 and no if_tsoffset can be in the mask of a packing driver. Registers r1 (record
// pointer), r4 (record count) and r5 (buffer end) belong to the driver; the
// filter body never touches them. After the body, r2, r3, r7 and r8 are free
// again (X and the packet start are dead), which the packing code uses.
//
// Safe by construction (it runs unverified on the unchecked JIT): a record
// header is read only after [p, p + 16) (a pcapng block: [p, p + len), len
// >= 32) is checked to lie in [buf, bufEnd), r9 = data + incl_len only when
// that is <= bufEnd (pcapng: <= the block end - 4), an entry is written only
// below out + maxOut entries, and a packed record only when it ends at or
// before packEnd; it copies keep <= incl_len bytes from inside the record.

import { checkClassic } from './check.js';
import { DONE, Emitter, FAIL, LOOP, O, RESULT, R_A, R_CTX, R_DATA, R_END, R_T1, R_T2, R_X, withFarRetry } from './ebpf-emitter.js';
import type { ClassicProgram } from './insn.js';
import { SKB, SKB_SIZE, emitBody, type TranslateOptions, type Translation } from './translate.js';
import { encodeSlots } from '../isa/index.js';

/** Offsets of the scan fields in the driver's ctx, after the __sk_buff. */
export const SCAN_CTX = {
  /** in: address of the first record */
  buf: SKB_SIZE,
  /** in: address just past the last byte */
  bufEnd: SKB_SIZE + 4,
  /** in: address of the output array (SCAN_OUT_RECORD bytes per accepted packet) */
  out: SKB_SIZE + 8,
  /** in: capacity of the output array, in entries */
  maxOut: SKB_SIZE + 12,
  /** in: address of the pack buffer (drivers built with `pack`) */
  pack: SKB_SIZE + 16,
  /** in: address just past the pack buffer */
  packEnd: SKB_SIZE + 20,
  /** in: largest number of packet bytes a packed record keeps */
  snaplen: SKB_SIZE + 24,
  /** out: bytes of whole records consumed */
  consumed: SKB_SIZE + 28,
  /** out: records processed */
  count: SKB_SIZE + 32,
  /** out: entries written (packets accepted) */
  accepted: SKB_SIZE + 36,
  /** out: bytes written to the pack buffer */
  packed: SKB_SIZE + 40,
  /** out: why the driver stopped (SCAN_STATUS) */
  status: SKB_SIZE + 44,
  /** in, pcapng: bit i set when interface i (< 32) is one this driver filters */
  ifaceMask: SKB_SIZE + 48,
  /** scratch, pcapng: address of the block after the current one */
  next: SKB_SIZE + 52,
} as const;
export const SCAN_CTX_SIZE = SKB_SIZE + 56;

/** Why the driver returned. */
export const SCAN_STATUS = {
  /** every complete record of the buffer is done */
  END: 0,
  /** the output array or the pack buffer is full: call again from `consumed` */
  FULL: 1,
  /** the record at `consumed` has a timestamp fraction of a second or more */
  BAD_TIME: 2,
  /** pcapng: the block at `consumed` is for the pcap parser */
  OTHER: 3,
} as const;

/** Bytes per output entry: u32 result, u32 record offset from buf, u32 record index, u32 packed end. */
export const SCAN_OUT_RECORD = 16;

export interface ScanDriverOptions extends Omit<TranslateOptions, 'mode'> {
  /** pcap records (default) or pcapng enhanced packet blocks. */
  format?: 'pcap' | 'pcapng';
  /** Byte order of the record headers (pcapng: of the section). */
  bigEndian?: boolean;
  /** pcap: the file's timestamps are nanoseconds (magic 0xa1b23c4d); default microseconds. */
  nanosecond?: boolean;
  /** pcapng: timestamps are in units of 10^-tsDecimals seconds (0..9, default 6), for packing. */
  tsDecimals?: number;
  /** Write each accepted packet to the pack buffer as a pcap record (see above). */
  pack?: boolean;
}

/** The eBPF scan driver for a classic socket filter over pcap records or pcapng blocks (see above). */
export function translateScanDriver(prog: ClassicProgram, options: ScanDriverOptions = {}): Translation {
  if (options.check ?? true) checkClassic(prog, { mode: 'socket', ...(options.backwardJumps !== undefined && { backwardJumps: options.backwardJumps }) });
  const decimals = options.tsDecimals ?? 6;
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 9) throw new RangeError(`scan driver: tsDecimals ${decimals} is not 0..9`);
  return withFarRetry((far) => buildScanDriver(prog, options, far));
}

// Driver registers (the filter body leaves them alone).
const R_P = 1;
const R_I = 4;
const R_BUF_END = 5;

/** Where a record's fields are, relative to its start (P). */
interface Layout {
  /** First packet byte. */
  readonly data: number;
  /** Captured length, original length (u32). */
  readonly caplen: number;
  readonly wirelen: number;
}
const PCAP_RECORD: Layout = { data: 16, caplen: 8, wirelen: 12 };
const PCAPNG_EPB: Layout = { data: 28, caplen: 20, wirelen: 24 };
const BT_EPB = 6;
/** Smallest enhanced packet block: 12 bytes of block framing and 20 of fixed fields. */
const EPB_MIN = 32;

/** Emits the driver: loads are in the records' byte order. */
class DriverEmitter {
  readonly e: Emitter;
  constructor(
    far: boolean,
    private readonly bigEndian: boolean,
  ) {
    this.e = new Emitter(true, far);
  }
  /** dst = u32 at base + off, in host order. */
  load(dst: number, base: number, off: number): void {
    this.e.emit(O.ldxw, dst, base, off, 0);
    if (this.bigEndian) this.e.emit(O.be, dst, 0, 0, 32);
  }
  setStatus(status: number): void {
    this.e.emit(O.mov32i, R_T1, 0, 0, status);
    this.e.emit(O.stxw, R_CTX, R_T1, SCAN_CTX.status, 0);
  }
}

function buildScanDriver(prog: ClassicProgram, options: ScanDriverOptions, far: boolean): Translation {
  const ng = options.format === 'pcapng';
  const layout = ng ? PCAPNG_EPB : PCAP_RECORD;
  const d = new DriverEmitter(far, options.bigEndian === true);
  const e = d.e;
  const pcMap = new Int32Array(prog.length);
  const FULL = e.label();
  const BAD_TIME = e.label();
  const OTHER = e.label();
  const NEXT = e.label();

  e.emit(O.mov64r, R_CTX, 1, 0, 0);
  e.emit(O.ldxw, R_P, R_CTX, SCAN_CTX.buf, 0);
  e.emit(O.ldxw, R_BUF_END, R_CTX, SCAN_CTX.bufEnd, 0);
  e.emit(O.mov32i, R_I, 0, 0, 0);
  e.emit(O.mov32i, R_T1, 0, 0, SCAN_STATUS.END);
  e.emit(O.stxw, R_CTX, R_T1, SCAN_CTX.status, 0);
  e.emit(O.stxw, R_CTX, R_T1, SCAN_CTX.accepted, 0);
  e.emit(O.stxw, R_CTX, R_T1, SCAN_CTX.packed, 0);
  e.jump(O.ja, 0, 0, 0, LOOP);
  // The exits sit before the loop, so the loop head's exits are short
  // backward jumps; the ones after the filter body get there through `ja`,
  // which resolve() widens when the body is long.
  e.place(OTHER);
  d.setStatus(SCAN_STATUS.OTHER);
  e.jump(O.ja, 0, 0, 0, DONE);
  e.place(BAD_TIME);
  d.setStatus(SCAN_STATUS.BAD_TIME);
  e.place(DONE);
  e.emit(O.ldxw, R_T2, R_CTX, SCAN_CTX.buf, 0);
  e.emit(O.sub64r, R_P, R_T2, 0, 0);
  e.emit(O.stxw, R_CTX, R_P, SCAN_CTX.consumed, 0);
  e.emit(O.stxw, R_CTX, R_I, SCAN_CTX.count, 0);
  e.emit(O.mov32i, R_A, 0, 0, 0);
  e.emit(O.exit, 0, 0, 0, 0);

  e.place(LOOP);
  if (ng) emitPcapngHead(d, OTHER);
  else emitPcapHead(d, options.nanosecond === true, BAD_TIME);
  d.load(R_T2, R_P, layout.wirelen);
  e.emit(O.stxw, R_CTX, R_T2, SKB.len, 0);
  e.emit(O.mov32i, R_A, 0, 0, 0);
  e.emit(O.mov32i, R_X, 0, 0, 0);
  emitBody(e, prog, 'socket', options, pcMap);
  e.place(FAIL);
  e.emit(O.mov32i, R_A, 0, 0, 0);
  e.place(RESULT);
  e.jump(O.jeq32i, R_A, 0, 0, NEXT);
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.accepted, 0);
  e.emit(O.ldxw, R_T2, R_CTX, SCAN_CTX.maxOut, 0);
  e.jump(O.jge64r, R_T1, R_T2, 0, FULL);
  if (options.pack) emitPack(d, layout, ng ? { decimals: options.tsDecimals ?? 6 } : { nanosecond: options.nanosecond === true }, FULL);
  else e.emit(O.mov32i, R_T2, 0, 0, 0);
  // out[accepted] = { result, record offset, record index, packed end (r3) }; accepted++
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.accepted, 0);
  e.emit(O.lsh64i, R_T1, 0, 0, 4);
  e.emit(O.ldxw, R_X, R_CTX, SCAN_CTX.out, 0);
  e.emit(O.add64r, R_X, R_T1, 0, 0);
  e.emit(O.stxw, R_X, R_A, 0, 0);
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.buf, 0);
  e.emit(O.mov64r, R_A, R_P, 0, 0);
  e.emit(O.sub64r, R_A, R_T1, 0, 0);
  e.emit(O.stxw, R_X, R_A, 4, 0);
  e.emit(O.stxw, R_X, R_I, 8, 0);
  e.emit(O.stxw, R_X, R_T2, 12, 0);
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.accepted, 0);
  e.emit(O.add64i, R_T1, 0, 0, 1);
  e.emit(O.stxw, R_CTX, R_T1, SCAN_CTX.accepted, 0);
  e.place(NEXT);
  if (ng) e.emit(O.ldxw, R_P, R_CTX, SCAN_CTX.next, 0);
  else e.emit(O.mov64r, R_P, R_END, 0, 0);
  e.emit(O.add64i, R_I, 0, 0, 1);
  e.jump(O.ja, 0, 0, 0, LOOP);
  e.place(FULL);
  d.setStatus(SCAN_STATUS.FULL);
  e.jump(O.ja, 0, 0, 0, DONE);
  e.resolve(pcMap);
  return { ebpf: encodeSlots(e.slots), slots: e.length, pcMap, failSlot: e.places.get(FAIL)!, mode: 'socket' };
}

/** pcap: a whole record in the buffer sets r8/r9; a bad timestamp fraction goes to `badTime`. */
function emitPcapHead(d: DriverEmitter, nanosecond: boolean, badTime: number): void {
  const e = d.e;
  e.emit(O.mov64r, R_DATA, R_P, 0, 0);
  e.emit(O.add64i, R_DATA, 0, 0, 16);
  e.jump(O.jgt64r, R_DATA, R_BUF_END, 0, DONE);
  d.load(R_T2, R_P, 8); // incl_len
  e.emit(O.mov64r, R_END, R_DATA, 0, 0);
  e.emit(O.add64r, R_END, R_T2, 0, 0);
  e.jump(O.jgt64r, R_END, R_BUF_END, 0, DONE);
  d.load(R_T2, R_P, 4); // ts fraction: the parser's check, for the records it does not read
  e.jump(O.jge64i, R_T2, 0, nanosecond ? 1e9 : 1e6, badTime);
}

/**
 * pcapng: a whole enhanced packet block of a masked interface, with
 * matching leading and trailing lengths and the packet inside it, sets
 * r8/r9 and ctx.next; anything else goes to `other` (the parser's turn).
 */
function emitPcapngHead(d: DriverEmitter, other: number): void {
  const e = d.e;
  e.emit(O.mov64r, R_DATA, R_P, 0, 0);
  e.emit(O.add64i, R_DATA, 0, 0, 8);
  e.jump(O.jgt64r, R_DATA, R_BUF_END, 0, DONE);
  d.load(R_T2, R_P, 0); // block type
  e.jump(O.jne32i, R_T2, 0, BT_EPB, other);
  d.load(R_T2, R_P, 4); // block length
  e.jump(O.jlt64i, R_T2, 0, EPB_MIN, other);
  e.jump(O.jset32i, R_T2, 0, 3, other);
  e.emit(O.mov64r, R_END, R_P, 0, 0);
  e.emit(O.add64r, R_END, R_T2, 0, 0);
  e.jump(O.jgt64r, R_END, R_BUF_END, 0, DONE); // incomplete: the parser asks for more input
  e.emit(O.stxw, R_CTX, R_END, SCAN_CTX.next, 0);
  d.load(R_T1, R_END, -4); // trailing length
  e.jump(O.jne64r, R_T1, R_T2, 0, other);
  d.load(R_T1, R_P, 8); // interface id
  e.jump(O.jge64i, R_T1, 0, 32, other);
  e.emit(O.ldxw, R_T2, R_CTX, SCAN_CTX.ifaceMask, 0);
  e.emit(O.rsh64r, R_T2, R_T1, 0, 0);
  e.emit(O.and32i, R_T2, 0, 0, 1);
  e.jump(O.jeq32i, R_T2, 0, 0, other);
  d.load(R_T2, R_P, PCAPNG_EPB.caplen);
  e.emit(O.mov64r, R_DATA, R_P, 0, 0);
  e.emit(O.add64i, R_DATA, 0, 0, PCAPNG_EPB.data);
  e.emit(O.mov64r, R_END, R_DATA, 0, 0);
  e.emit(O.add64r, R_END, R_T2, 0, 0);
  // data + caplen <= block end - 4
  e.emit(O.mov64r, R_T1, R_END, 0, 0);
  e.emit(O.add64i, R_T1, 0, 0, 4);
  e.emit(O.ldxw, R_T2, R_CTX, SCAN_CTX.next, 0);
  e.jump(O.jgt64r, R_T1, R_T2, 0, other);
}

type TimeFormat = { nanosecond: boolean } | { decimals: number };

/**
 * The accepted record (at P, result in A) appended to the pack buffer as a
 * little-endian microsecond pcap record, or a jump to `full` when it does
 * not fit; leaves the pack buffer's new length in r3. X (r7) and the packet
 * start (r8) are dead after the body, so they hold the destination and the
 * source.
 */
function emitPack(d: DriverEmitter, layout: Layout, time: TimeFormat, full: number): void {
  const e = d.e;
  const R_DST = R_X;
  const R_SRC = R_DATA;
  // r3 = keep = min(result, caplen, snaplen), all u32 values in 64-bit registers
  const keptA = e.label();
  const keptSnap = e.label();
  d.load(R_T2, R_P, layout.caplen);
  e.jump(O.jle64r, R_T2, R_A, 0, keptA);
  e.emit(O.mov64r, R_T2, R_A, 0, 0);
  e.place(keptA);
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.snaplen, 0);
  e.jump(O.jle64r, R_T2, R_T1, 0, keptSnap);
  e.emit(O.mov64r, R_T2, R_T1, 0, 0);
  e.place(keptSnap);
  // dst = pack + packed; it must hold 16 + keep bytes before packEnd
  e.emit(O.ldxw, R_DST, R_CTX, SCAN_CTX.pack, 0);
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.packed, 0);
  e.emit(O.add64r, R_DST, R_T1, 0, 0);
  e.emit(O.mov64r, R_T1, R_DST, 0, 0);
  e.emit(O.add64i, R_T1, 0, 0, 16);
  e.emit(O.add64r, R_T1, R_T2, 0, 0);
  e.emit(O.ldxw, R_SRC, R_CTX, SCAN_CTX.packEnd, 0);
  e.jump(O.jgt64r, R_T1, R_SRC, 0, full);
  // little-endian header: sec, microseconds, keep, orig_len
  emitTime(d, time, R_DST);
  e.emit(O.stxw, R_DST, R_T2, 8, 0);
  d.load(R_T1, R_P, layout.wirelen);
  e.emit(O.stxw, R_DST, R_T1, 12, 0);
  e.emit(O.add64i, R_DST, 0, 0, 16);
  e.emit(O.mov64r, R_SRC, R_P, 0, 0);
  e.emit(O.add64i, R_SRC, 0, 0, layout.data);
  // copy keep bytes: 32 at a time, then 8, then the rest one by one (exact,
  // so nothing past the record is read). The 32-byte step halves the
  // instructions per byte: with many matches (-w of 40% of 10M packets) the
  // copy was a quarter of the scan.
  // one loop per step: while (len >= step) { copy step bytes; advance }
  const loop = (step: number, chunk: number, ld: number, st: number): void => {
    const top = e.label();
    const next = e.label();
    e.place(top);
    if (step === 1) e.jump(O.jeq32i, R_T2, 0, 0, next);
    else e.jump(O.jlt64i, R_T2, 0, step, next);
    for (let off = 0; off < step; off += chunk) {
      e.emit(ld, R_T1, R_SRC, off, 0);
      e.emit(st, R_DST, R_T1, off, 0);
    }
    e.emit(O.add64i, R_SRC, 0, 0, step);
    e.emit(O.add64i, R_DST, 0, 0, step);
    e.emit(O.add64i, R_T2, 0, 0, -step);
    e.jump(O.ja, 0, 0, 0, top);
    e.place(next);
  };
  loop(32, 8, O.ldxdw, O.stxdw);
  loop(8, 8, O.ldxdw, O.stxdw);
  loop(1, 1, O.ldxb, O.stxb);
  // packed = dst - pack, also left in r3
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.pack, 0);
  e.emit(O.mov64r, R_T2, R_DST, 0, 0);
  e.emit(O.sub64r, R_T2, R_T1, 0, 0);
  e.emit(O.stxw, R_CTX, R_T2, SCAN_CTX.packed, 0);
}

/**
 * Seconds and microseconds of the record at P to dst[0] and dst[4], using
 * r2 and r8 (r3 holds keep). pcapng: the 64-bit count of 10^-decimals
 * seconds split by unsigned 64-bit division, as the parser's setTimestamp
 * and then floor(ns / 1000) give them (seconds modulo 2^32, as a pcap header holds them).
 */
function emitTime(d: DriverEmitter, time: TimeFormat, dst: number): void {
  const e = d.e;
  if ('nanosecond' in time) {
    d.load(R_T1, R_P, 0);
    e.emit(O.stxw, dst, R_T1, 0, 0);
    d.load(R_T1, R_P, 4);
    if (time.nanosecond) e.emit(O.div32i, R_T1, 0, 0, 1000);
    e.emit(O.stxw, dst, R_T1, 4, 0);
    return;
  }
  const units = 10 ** time.decimals;
  d.load(R_T1, R_P, 12); // ts high
  e.emit(O.lsh64i, R_T1, 0, 0, 32);
  d.load(R_DATA, R_P, 16); // ts low
  e.emit(O.or64r, R_T1, R_DATA, 0, 0);
  e.emit(O.mov64r, R_DATA, R_T1, 0, 0);
  e.emit(O.div64i, R_T1, 0, 0, units);
  e.emit(O.stxw, dst, R_T1, 0, 0);
  e.emit(O.mod64i, R_DATA, 0, 0, units);
  if (time.decimals > 6) e.emit(O.div64i, R_DATA, 0, 0, 10 ** (time.decimals - 6));
  if (time.decimals < 6) e.emit(O.mul64i, R_DATA, 0, 0, 10 ** (6 - time.decimals));
  e.emit(O.stxw, dst, R_DATA, 4, 0);
}
