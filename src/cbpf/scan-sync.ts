// Finding a record boundary in the middle of a pcap file, for the second
// thread of a split scan (scan-split.ts). pcap has no sync marks: a record
// is a 16-byte header (seconds, fraction, captured length, wire length) and
// the captured bytes, so the only way in from an arbitrary offset is to try
// every offset and keep the first from which a chain of plausible headers
// follows. Packet bytes can look like such a chain (a capture of pcap files
// being copied, or a crafted one), so this is a guess: the first thread
// confirms it by reaching exactly that offset, record by record, and
// anything else discards the second thread's work (scan-split.ts). A wrong
// "no" only costs the speed-up.

/** What a plausible record header looks like in this file. */
export interface PcapSyncOptions {
  bigEndian: boolean;
  /** Nanosecond timestamps (fraction < 10^9), else microseconds (< 10^6). */
  nanosecond: boolean;
  /** Largest captured length accepted (the snapshot length, at least 65535, at most what the parser takes). */
  maxCaplen: number;
  /** Seconds of the file's first record, when known: chain records lie within a year of it. */
  firstSec?: number;
  /** Consecutive plausible records a chain needs (default 16). */
  minChain?: number;
  /** `bytes` ends where the file ends: a shorter chain ending exactly there counts too. */
  atEof?: boolean;
}

/** Largest wire length believed (jumbo frames, TSO and USB transfers stay far below). */
const MAX_WIRE = 1 << 24;
/** Seconds between neighbouring records of a chain: captures are in time order, give or take a merge. */
const MAX_STEP = 86_400;
const YEAR = 366 * 86_400;

/**
 * The offset in `bytes` of the first record header from which `minChain`
 * plausible records follow one another within `bytes` (or, with atEof, up
 * to its end exactly), or -1 when there is none.
 */
export function findPcapSync(bytes: Uint8Array, options: PcapSyncOptions): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const minChain = options.minChain ?? 16;
  for (let q = 0; q + 16 <= bytes.length; q++) {
    if (chainLength(dv, q, options, minChain) >= minChain) return q;
  }
  return -1;
}

/** Plausible records chained from q, counted up to `enough`; `enough` also when the chain ends exactly at EOF. */
function chainLength(dv: DataView, q: number, o: PcapSyncOptions, enough: number): number {
  const le = !o.bigEndian;
  const fracLimit = o.nanosecond ? 1e9 : 1e6;
  const len = dv.byteLength;
  let n = 0;
  let prevSec = -1;
  let p = q;
  while (n < enough) {
    if (p === len && o.atEof === true && n > 0) return enough;
    if (p + 16 > len) return n;
    const sec = dv.getUint32(p, le);
    const frac = dv.getUint32(p + 4, le);
    const incl = dv.getUint32(p + 8, le);
    const wire = dv.getUint32(p + 12, le);
    if (frac >= fracLimit || incl > o.maxCaplen || incl > wire || wire > MAX_WIRE) return n;
    if (o.firstSec !== undefined && Math.abs(sec - o.firstSec) > YEAR) return n;
    if (prevSec >= 0 && Math.abs(sec - prevSec) > MAX_STEP) return n;
    prevSec = sec;
    p += 16 + incl;
    // A record cut by the end of the window: its header is all that can be judged.
    if (p > len) return n + 1;
    n++;
  }
  return n;
}
