// The second thread of a split scan (scan-split.ts has the whole story):
// it finds a record boundary after the split point (scan-sync.ts), says
// where through the shared control block, filters from there to the end of
// the file with its own VM and read buffer, keeps the records it packs for
// -w (in memory up to a cap, then in a spill file), and posts its counts and
// those records, or its error, when it is done. It stops early when the
// first thread cancels it (a false sync, or an error of its own).

import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { markLibpcapProgram } from './check.js';
import type { ClassicInsn } from './insn.js';
import { findPcapSync } from './scan-sync.js';
import { scanInput } from './scan-capture.js';
import type { PcapRecordSink, ScanOptions } from './scan-types.js';

/** The control block shared by both threads: Int32 words, then Float64 words. */
export const CTL = {
  /** Int32 index: SYNC_* */
  sync: 0,
  /** Int32 index: set to 1 by the first thread to stop this one */
  cancel: 1,
  /** Float64 index: the stream offset of the boundary found */
  at: 1,
  /** Float64 index: packets filtered so far (progress) */
  packets: 2,
  /** Float64 index: packets accepted so far (progress) */
  accepted: 3,
  /** Float64 index: where this thread starts looking (the split point; set with SYNC_CLAIMED) */
  from: 4,
  /** Float64 index: how far the first thread has read (it publishes this with every read) */
  firstPos: 5,
} as const;
export const CTL_BYTES = 48;
/** Nothing decided yet. */
export const SYNC_PENDING = 0;
/** The split point `from` is chosen; the boundary after it is being looked for. */
export const SYNC_CLAIMED = 3;
/** The boundary `at` is found: the second thread filters from there. */
export const SYNC_FOUND = 1;
/** No second thread: it found no boundary, came too late, or failed. */
export const SYNC_NONE = 2;

/** What the first thread tells the second (workerData). */
export interface ScanWorkerData {
  file: string;
  /**
   * Where to start looking for a record boundary (the split point). Without
   * it, half-way between where the first thread has got to and the end of
   * the file: started tens of milliseconds after the first thread, this
   * thread takes half of what is left, so both end at about the same time.
   */
  from?: number;
  /** Split only when at least this many bytes are left after the first thread's position. */
  minLeft: number;
  /** How many bytes after the split point to look through. */
  window: number;
  /** The file's size when the split was decided. */
  size: number;
  bigEndian: boolean;
  nanosecond: boolean;
  maxCaplen: number;
  firstSec?: number;
  program: readonly ClassicInsn[];
  /** The program is libpcap's (may jump backward: protochain); the mark (check.ts) does not cross threads by itself. */
  libpcap: boolean;
  options: Pick<ScanOptions, 'engine' | 'hatype' | 'netOffset' | 'bufferSize' | 'batch'>;
  /** Snapshot length of the -w output, when there is one. */
  snaplen?: number;
  /** Bytes of packed records kept in memory; the rest goes to spillPath. */
  memoryCap: number;
  spillPath: string;
  control: SharedArrayBuffer;
}

/** The second thread's answer (posted once). */
export type ScanWorkerResult =
  | { kind: 'done'; packets: number; accepted: number; chunks: Uint8Array[]; spilled: number }
  | { kind: 'failed'; error: SerializedError; chunks: Uint8Array[]; spilled: number }
  | { kind: 'nosync' }
  | { kind: 'cancelled' };

/** An error as it crosses threads (a CaptureError is rebuilt from reason, offset and file). */
export interface SerializedError {
  name: string;
  message: string;
  reason?: string;
  offset?: number;
  file?: string;
}

class Cancelled extends Error {}

/** Packed records, in order: memory chunks up to the cap, then a spill file. */
class RecordStore implements PcapRecordSink {
  readonly chunks: Uint8Array[] = [];
  private chunk: Uint8Array | undefined;
  private used = 0;
  private inMemory = 0;
  spilled = 0;
  private spillFd = -1;
  constructor(
    readonly snaplen: number,
    private readonly cap: number,
    private readonly spillPath: string,
  ) {}

  write(records: Uint8Array): void {
    let off = 0;
    while (off < records.length && this.inMemory < this.cap) {
      if (this.chunk === undefined || this.used === this.chunk.length) {
        this.seal();
        this.chunk = new Uint8Array(Math.min(CHUNK, this.cap - this.inMemory));
      }
      const n = Math.min(records.length - off, this.chunk.length - this.used);
      this.chunk.set(records.subarray(off, off + n), this.used);
      this.used += n;
      this.inMemory += n;
      off += n;
    }
    if (off === records.length) return;
    if (this.spillFd < 0) this.spillFd = openSync(this.spillPath, 'w');
    this.spilled += records.length - off;
    while (off < records.length) off += writeSync(this.spillFd, records, off, records.length - off);
  }

  /** Close the spill file; the chunks are complete. */
  finish(): void {
    this.seal();
    if (this.spillFd >= 0) closeSync(this.spillFd);
    this.spillFd = -1;
  }

  private seal(): void {
    if (this.chunk !== undefined && this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
    this.chunk = undefined;
    this.used = 0;
  }
}

const CHUNK = 8 << 20;

function serialize(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const c = e as Error & { reason?: unknown; offset?: unknown; file?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof c.reason === 'string' && { reason: c.reason }),
    ...(typeof c.offset === 'number' && { offset: c.offset }),
    ...(typeof c.file === 'string' && { file: c.file }),
  };
}

/** Find the boundary, scan from it, and return what to post (never throws). */
export function runScanWorker(d: ScanWorkerData): ScanWorkerResult {
  const i32 = new Int32Array(d.control);
  const f64 = new Float64Array(d.control);
  const signal = (state: number): void => {
    Atomics.store(i32, CTL.sync, state);
    Atomics.notify(i32, CTL.sync);
  };
  let fd = -1;
  let store: RecordStore | undefined;
  try {
    fd = openSync(d.file, 'r');
    let from = d.from;
    if (from === undefined) {
      // The first thread checks the claim before each read and finishes alone if it has passed it already.
      const first = f64[CTL.firstPos]!;
      if (d.size - first < d.minLeft) {
        signal(SYNC_NONE);
        return { kind: 'nosync' };
      }
      from = first + Math.floor((d.size - first) / 2);
    }
    f64[CTL.from] = from;
    signal(SYNC_CLAIMED);
    const window = new Uint8Array(Math.min(d.window, d.size - from));
    let got = 0;
    while (got < window.length) {
      const n = readSync(fd, window, got, window.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    const q = findPcapSync(window.subarray(0, got), {
      bigEndian: d.bigEndian,
      nanosecond: d.nanosecond,
      maxCaplen: d.maxCaplen,
      ...(d.firstSec !== undefined && { firstSec: d.firstSec }),
      atEof: from + got >= d.size,
    });
    if (q < 0) {
      signal(SYNC_NONE);
      return { kind: 'nosync' };
    }
    const at = from + q;
    f64[CTL.at] = at;
    signal(SYNC_FOUND);
    // The parser takes the file header (the first 24 bytes), then the records from `at` on.
    let pos = 0;
    let headerDone = false;
    const read = (buf: Uint8Array, off: number, len: number): number => {
      const n = readSync(fd, buf, off, headerDone ? len : Math.min(len, 24 - pos), pos);
      pos += n;
      return n;
    };
    store = d.snaplen === undefined ? undefined : new RecordStore(d.snaplen, d.memoryCap, d.spillPath);
    const r = scanInput(
      {
        read,
        file: d.file,
        onHeader: (parser) => {
          headerDone = true;
          pos = at;
          parser.restartAt(at);
        },
      },
      d.libpcap ? markLibpcapProgram(d.program) : d.program,
      {
        ...d.options,
        ...(store !== undefined && { pcapOut: store }),
        onProgress: (packets, accepted) => {
          f64[CTL.packets] = packets;
          f64[CTL.accepted] = accepted;
          if (Atomics.load(i32, CTL.cancel) !== 0) throw new Cancelled();
        },
      },
    );
    store?.finish();
    return { kind: 'done', packets: r.packets, accepted: r.accepted, chunks: store?.chunks ?? [], spilled: store?.spilled ?? 0 };
  } catch (e) {
    store?.finish();
    if (e instanceof Cancelled) return { kind: 'cancelled' };
    // Before the boundary was announced the first thread must not wait for it.
    const state = Atomics.load(i32, CTL.sync);
    if (state === SYNC_PENDING || state === SYNC_CLAIMED) signal(SYNC_NONE);
    return { kind: 'failed', error: serialize(e), chunks: store?.chunks ?? [], spilled: store?.spilled ?? 0 };
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** The worker's entry: run, post the result (chunks transferred, not copied). */
export function scanWorkerMain(): void {
  const d = workerData as ScanWorkerData;
  const r = runScanWorker(d);
  const transfer = r.kind === 'done' || r.kind === 'failed' ? r.chunks.map((c) => c.buffer as ArrayBuffer) : [];
  parentPort!.postMessage(r, transfer);
  if (r.kind === 'cancelled') rmSync(d.spillPath, { force: true });
}
