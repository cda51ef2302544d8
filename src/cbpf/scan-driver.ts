// The scan driver: a classic socket filter wrapped in an eBPF loop over the
// pcap records in a buffer, so a whole buffer of packets is filtered in one
// engine call (used by scan-capture.ts).
//
// The driver's ctx is a
// struct __sk_buff (so ancillary loads work as usual; `len` is rewritten per
// packet) followed by the scan fields at SCAN_CTX offsets. Per record it sets
// r8/r9 to the packet bytes, A = X = 0, runs the filter, and stores the
// result and the record's offset in the output array. It stops at the end of
// the buffer, at an incomplete record, or when the output array is full, and
// reports how many bytes and records it consumed. Registers r1 (record
// pointer), r4 (record count) and r5 (buffer end) belong to the driver; the
// filter body never touches them.

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
  /** in: address of the output array: per record u32 result, u32 record offset from buf */
  out: SKB_SIZE + 8,
  /** in: capacity of the output array, in records */
  maxOut: SKB_SIZE + 12,
  /** out: bytes of whole records consumed */
  consumed: SKB_SIZE + 16,
  /** out: records processed */
  count: SKB_SIZE + 20,
} as const;
export const SCAN_CTX_SIZE = SKB_SIZE + 24;
/** Bytes per output record of the scan driver. */
export const SCAN_OUT_RECORD = 8;

export interface ScanDriverOptions extends Omit<TranslateOptions, 'mode'> {
  /** Byte order of the pcap record headers. */
  bigEndian?: boolean;
}

/** The eBPF scan driver for a classic socket filter over pcap records (see above). */
export function translateScanDriver(prog: ClassicProgram, options: ScanDriverOptions = {}): Translation {
  if (options.check ?? true) checkClassic(prog, { mode: 'socket' });
  return withFarRetry((far) => buildScanDriver(prog, options, far));
}

function buildScanDriver(prog: ClassicProgram, options: ScanDriverOptions, far: boolean): Translation {
  const e = new Emitter(true, far);
  const pcMap = new Int32Array(prog.length);
  const R_P = 1;
  const R_I = 4;
  const R_BUF_END = 5;
  const loadHdr = (dst: number, off: number): void => {
    e.emit(O.ldxw, dst, R_P, off, 0);
    if (options.bigEndian) e.emit(O.be, dst, 0, 0, 32);
  };
  e.emit(O.mov64r, R_CTX, 1, 0, 0);
  e.emit(O.ldxw, R_P, R_CTX, SCAN_CTX.buf, 0);
  e.emit(O.ldxw, R_BUF_END, R_CTX, SCAN_CTX.bufEnd, 0);
  e.emit(O.mov32i, R_I, 0, 0, 0);
  e.jump(O.ja, 0, 0, 0, LOOP);
  // DONE sits before the loop so the loop head's exits are short backward jumps.
  e.place(DONE);
  e.emit(O.ldxw, R_T2, R_CTX, SCAN_CTX.buf, 0);
  e.emit(O.sub64r, R_P, R_T2, 0, 0);
  e.emit(O.stxw, R_CTX, R_P, SCAN_CTX.consumed, 0);
  e.emit(O.stxw, R_CTX, R_I, SCAN_CTX.count, 0);
  e.emit(O.mov32i, R_A, 0, 0, 0);
  e.emit(O.exit, 0, 0, 0, 0);
  e.place(LOOP);
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.maxOut, 0);
  e.jump(O.jge64r, R_I, R_T1, 0, DONE);
  e.emit(O.mov64r, R_DATA, R_P, 0, 0);
  e.emit(O.add64i, R_DATA, 0, 0, 16);
  e.jump(O.jgt64r, R_DATA, R_BUF_END, 0, DONE);
  loadHdr(R_T2, 8); // incl_len
  e.emit(O.mov64r, R_END, R_DATA, 0, 0);
  e.emit(O.add64r, R_END, R_T2, 0, 0);
  e.jump(O.jgt64r, R_END, R_BUF_END, 0, DONE);
  loadHdr(R_T2, 12); // orig_len
  e.emit(O.stxw, R_CTX, R_T2, SKB.len, 0);
  e.emit(O.mov32i, R_A, 0, 0, 0);
  e.emit(O.mov32i, R_X, 0, 0, 0);
  emitBody(e, prog, 'socket', options, pcMap);
  e.place(FAIL);
  e.emit(O.mov32i, R_A, 0, 0, 0);
  e.place(RESULT);
  // out[i] = { result, record offset }
  e.emit(O.ldxw, R_T1, R_CTX, SCAN_CTX.out, 0);
  e.emit(O.mov64r, R_T2, R_I, 0, 0);
  e.emit(O.lsh64i, R_T2, 0, 0, 3);
  e.emit(O.add64r, R_T1, R_T2, 0, 0);
  e.emit(O.stxw, R_T1, R_A, 0, 0);
  e.emit(O.ldxw, R_T2, R_CTX, SCAN_CTX.buf, 0);
  e.emit(O.mov64r, R_A, R_P, 0, 0);
  e.emit(O.sub64r, R_A, R_T2, 0, 0);
  e.emit(O.stxw, R_T1, R_A, 4, 0);
  e.emit(O.add64i, R_I, 0, 0, 1);
  e.emit(O.mov64r, R_P, R_END, 0, 0);
  e.jump(O.ja, 0, 0, 0, LOOP);
  e.resolve(pcMap);
  return { ebpf: encodeSlots(e.slots), slots: e.length, pcMap, failSlot: e.places.get(FAIL)!, mode: 'socket' };
}
