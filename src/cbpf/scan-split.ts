// scanCapture on two threads for large pcap files. Reading a capture is
// mostly read(2) copying the page cache into the scan buffer, then the
// filter; both scale with the bytes, so the file is cut in two halves, each
// read and filtered by its own thread into its own cache-sized buffer. No
// packet byte crosses between cores (an earlier read-ahead worker that
// handed buffers to the scanning thread lost 2.5x to exactly that); only the
// second half's accepted records do, once, at the end.
//
// pcap has no sync marks, so the second thread guesses where a record
// starts after the split point (scan-sync.ts) and says so through a shared
// control block. This thread filters from the start of the file up to that
// offset and checks that its last record ends exactly there. If it does, the
// two halves meet and the second thread's counts and records (in file order,
// after this thread's) complete the result. If it does not (the guess landed
// inside a packet that looked like records), the second thread is stopped
// and this one goes on alone: the result is always the single-thread result.
// The same holds when no boundary is found or the worker fails to start.
//
// The second thread chooses its split point when it is ready (a Node worker
// takes tens of milliseconds to start): half-way between where this thread
// has got to and the end, so neither waits long for the other.
//
// Only the plain scan splits: no onAccept (per-packet callbacks and -c stay
// on one thread, in order), pcap (pcapng blocks are found from the start),
// a regular file at least `minBytes` long. An error in the second half (a
// corrupt record) is thrown after this half's records and the second half's
// records before it were written, as one thread would have.
//
// Measured (10M packets, 2 GB, on the 2-core VM this was written on, busy
// with other work): it does not pay there. Two threads copying the page
// cache at once share the memory bandwidth (each half's read(2) costs well
// over half of one thread's), the worker costs ~45 ms of CPU to start, and
// the second half's -w records cost a fresh-memory copy (~1.4 ns a byte:
// page faults) before this half is done. tcpdump-relative: one thread 2.2x
// wall / 2.05x CPU, two threads 1.6x / 1.5x in the same run. So it is
// opt-in (`tsbpf filter --threads 2`), and by default only when a core is
// idle (whenIdle).

import { closeSync, fstatSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CaptureError } from '../pcap/errors.js';
import type { CaptureParser } from '../pcap/parser.js';
import { isLibpcapProgram } from './check.js';
import { scanCapture, scanInput, type ProgramSource } from './scan-capture.js';
import type { ClassicProgram } from './insn.js';
import type { ScanOptions, ScanResult } from './scan-types.js';
import { CTL, CTL_BYTES, SYNC_CLAIMED, SYNC_FOUND, SYNC_NONE, SYNC_PENDING, type ScanWorkerData, type ScanWorkerResult, type SerializedError } from './scan-worker.js';

export interface SplitOptions {
  /** Split only files of at least this many bytes (default 128 MiB). */
  minBytes?: number;
  /**
   * Stream offset where the second thread starts looking for a record
   * (default: half-way between where this thread has got to when the second
   * one is ready and the end of the file).
   */
  at?: number;
  /** Bytes that must be left after this thread's position for the second thread to take a part (default 32 MiB). */
  minLeft?: number;
  /** Bytes of the second half's accepted records kept in memory until the first half is done (default 256 MiB); the rest is spilled to a file. */
  memoryCap?: number;
  /** Directory of the spill file (default the system's temporary directory; `tsbpf filter -w` uses the output's). */
  spillDir?: string;
  /** How long to wait for the second thread to find its boundary before going on alone (ms, default 5000). */
  syncTimeoutMs?: number;
  /**
   * Split only when another core looks idle right now (default true): on a
   * machine whose cores are all busy, the second thread gains no time but
   * costs its start-up and the memory bandwidth two page-cache copies share.
   */
  whenIdle?: boolean;
  /**
   * What the worker thread runs: `m.<call>` on the module at `url` (default
   * scanWorkerMain() of scan-worker.js; the CLI bundle gives its own loader).
   */
  workerEntry?: WorkerEntry;
}

export interface WorkerEntry {
  url: string;
  call: string;
}

export const SPLIT_MIN_BYTES = 128 << 20;
const MEMORY_CAP = 256 << 20;
const MIN_LEFT = 32 << 20;

/** What happened to the second thread (for tests and the benchmark). */
export interface SplitResult extends ScanResult {
  /** 'joined': two threads; otherwise why one thread did everything. */
  split: 'joined' | 'false-sync' | 'no-sync' | 'not-split' | 'busy';
}

/**
 * Whether some core runs nothing else now: on Linux the kernel's count of
 * runnable tasks (/proc/loadavg, this thread included), elsewhere the
 * one-minute load average.
 */
function idleCore(): boolean {
  const cpus = availableParallelism();
  if (cpus < 2) return false;
  try {
    const running = Number(readFileSync('/proc/loadavg', 'latin1').split(' ')[3]?.split('/')[0]);
    if (Number.isInteger(running)) return running - 1 <= cpus - 2;
  } catch {
    // not Linux: the load average below
  }
  return loadavg()[0]! <= cpus - 1;
}

/**
 * The code of the worker thread (eval): import the entry module and call
 * its entry. If that fails before a boundary is announced, the first thread
 * is told there is none, so it does not wait for one.
 */
function workerCode(entry: WorkerEntry): string {
  // Only dynamic imports: the code runs as a script or as a module (a parent
  // started with --input-type=module passes that on to its workers).
  return [
    `import('node:worker_threads').then(({ workerData }) => {`,
    `  const fail = (e) => { const i = new Int32Array(workerData.control); Atomics.compareExchange(i, ${CTL.sync}, ${SYNC_PENDING}, ${SYNC_NONE}); Atomics.notify(i, ${CTL.sync}); throw e; };`,
    `  return import(${JSON.stringify(entry.url)}).then((m) => m.${entry.call}).catch(fail);`,
    `});`,
  ].join('\n');
}

const defaultEntry = (): WorkerEntry => ({ url: new URL('./scan-worker.js', import.meta.url).href, call: 'scanWorkerMain()' });

/** A worker's result, or why there is none; never rejects. */
type Outcome = ScanWorkerResult | { kind: 'crashed'; error: unknown };

/**
 * scanCapture(file, source, options), on two threads when the file is large
 * enough (see the top of this file); the same result either way.
 */
export async function scanCaptureSplit(file: string, source: ProgramSource, options: ScanOptions & { split?: SplitOptions } = {}): Promise<SplitResult> {
  const split = options.split ?? {};
  const eligible = options.onAccept === undefined && options.driver !== false;
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    const size = st.size;
    if (!eligible || !st.isFile() || size < (split.minBytes ?? SPLIT_MIN_BYTES)) {
      return { ...scanCapture(fd, source, options), split: 'not-split' };
    }
    if (split.whenIdle !== false && !idleCore()) return { ...scanCapture(fd, source, options), split: 'busy' };
    return await runSplit(fd, file, size, source, options, split);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** The second thread: its worker, the promise of its answer, and how to stop it. */
class SecondThread {
  private worker: Worker | undefined;
  readonly outcome: Promise<Outcome>;

  constructor(
    entry: WorkerEntry,
    data: ScanWorkerData,
    private readonly control: Int32Array,
  ) {
    const w = new Worker(workerCode(entry), { eval: true, workerData: data });
    this.worker = w;
    this.outcome = new Promise<Outcome>((resolve) => {
      w.once('message', (m: ScanWorkerResult) => resolve(m));
      w.once('error', (error) => resolve({ kind: 'crashed', error }));
      w.once('exit', (code) => resolve({ kind: 'crashed', error: new Error(`the scan worker exited (${code}) without a result`) }));
    });
  }

  /** Stop it (it checks the flag after each buffer; terminate for the rest), then remove its spill file. */
  stop(spillPath: string): void {
    Atomics.store(this.control, CTL.cancel, 1);
    const w = this.worker;
    this.worker = undefined;
    if (w !== undefined) void w.terminate().then(() => rmSync(spillPath, { force: true }), () => undefined);
  }
}

/**
 * This thread's side of a split scan: the read callback of its scan, which
 * stops at the second thread's split point, waits there for the boundary,
 * stops at the boundary and checks the halves meet there, or reads on to
 * the end alone.
 */
class FirstHalf {
  // Where reads stop: nowhere while alone ('free', 'alone'), the split point
  // once chosen ('claimed'), the boundary once found ('synced').
  phase: 'free' | 'claimed' | 'synced' | 'alone' | 'joined';
  /** Why this thread finished alone, if it did. */
  state: SplitResult['split'] = 'no-sync';
  parser: CaptureParser | undefined;
  second: SecondThread | undefined;
  private stopAt: number;
  private pos = 0;

  constructor(
    private readonly fd: number,
    private readonly i32: Int32Array,
    private readonly f64: Float64Array,
    fixed: number | undefined,
    private readonly syncTimeoutMs: number,
    private readonly spillPath: string,
  ) {
    this.phase = fixed === undefined ? 'free' : 'claimed';
    this.stopAt = fixed ?? Infinity;
  }

  /** Like fs.readSync over the file, from its start, up to where this thread stops. */
  read(buf: Uint8Array, off: number, len: number): number {
    for (;;) {
      if (this.phase === 'free') this.checkClaim();
      if (this.pos < this.stopAt) {
        const n = readSync(this.fd, buf, off, Math.min(len, this.stopAt - this.pos), this.pos);
        this.pos += n;
        this.f64[CTL.firstPos] = this.pos;
        return n;
      }
      if (this.phase === 'claimed') {
        this.awaitBoundary();
        continue;
      }
      if (this.phase === 'synced') {
        // Every complete record before the boundary is filtered (the scan
        // fills only then): nothing left over means the last one ended there.
        if (this.parser!.unreadLength === 0) {
          this.phase = 'joined';
          return 0;
        }
        this.state = 'false-sync';
        this.alone();
        continue;
      }
      return 0;
    }
  }

  /** Go on without the second thread (stopped, if there is one). */
  alone(): void {
    this.second?.stop(this.spillPath);
    this.second = undefined;
    this.phase = 'alone';
    this.stopAt = Infinity;
  }

  /** Before each read while free: has the second thread chosen its split point (and is it still ahead)? */
  private checkClaim(): void {
    const st = Atomics.load(this.i32, CTL.sync);
    if (st === SYNC_NONE) return this.alone();
    if (st !== SYNC_CLAIMED && st !== SYNC_FOUND) return;
    const from = this.f64[CTL.from]!;
    // It read this thread's position a moment ago; if this thread is past its point already, it is too late.
    if (this.pos > from) return this.alone();
    this.phase = 'claimed';
    this.stopAt = from;
  }

  /** At the split point: wait for the second thread's boundary (or give up on it). */
  private awaitBoundary(): void {
    const deadline = performance.now() + this.syncTimeoutMs;
    for (let st = Atomics.load(this.i32, CTL.sync); st === SYNC_PENDING || st === SYNC_CLAIMED; st = Atomics.load(this.i32, CTL.sync)) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.i32, CTL.sync, st, left);
    }
    if (Atomics.load(this.i32, CTL.sync) !== SYNC_FOUND) return this.alone();
    this.phase = 'synced';
    this.stopAt = this.f64[CTL.at]!;
  }
}

/** What the second thread needs to know, from this thread's parser after the file header. */
function workerData(p: CaptureParser, program: ClassicProgram, file: string, size: number, options: ScanOptions, split: SplitOptions, spillPath: string, control: SharedArrayBuffer): ScanWorkerData {
  const bufSize = options.bufferSize ?? 2 * 1024 * 1024;
  const iface = p.interfaces[0]!;
  return {
    file,
    ...(split.at !== undefined && { from: Math.max(24, Math.min(size - 1, split.at)) }),
    minLeft: Math.max(split.minLeft ?? MIN_LEFT, 1),
    window: bufSize,
    size,
    bigEndian: p.bigEndian,
    nanosecond: p.nanosecond,
    maxCaplen: Math.min(Math.max(iface.snaplen, 262144), bufSize - 16),
    ...(p.unreadLength >= 16 && { firstSec: new DataView(p.buffer.buffer, p.buffer.byteOffset + p.unreadOffset, 4).getUint32(0, !p.bigEndian) }),
    program,
    libpcap: isLibpcapProgram(program),
    options: {
      ...(options.engine !== undefined && { engine: options.engine }),
      ...(options.hatype !== undefined && { hatype: options.hatype }),
      ...(options.netOffset !== undefined && { netOffset: options.netOffset }),
      ...(options.bufferSize !== undefined && { bufferSize: options.bufferSize }),
      ...(options.batch !== undefined && { batch: options.batch }),
    },
    ...(options.pcapOut !== undefined && { snaplen: options.pcapOut.snaplen }),
    memoryCap: split.memoryCap ?? MEMORY_CAP,
    spillPath,
    control,
  };
}

async function runSplit(fd: number, file: string, size: number, source: ProgramSource, options: ScanOptions, split: SplitOptions): Promise<SplitResult> {
  const control = new SharedArrayBuffer(CTL_BYTES);
  const i32 = new Int32Array(control);
  const f64 = new Float64Array(control);
  const spillPath = join(split.spillDir ?? tmpdir(), `.tsbpf-scan-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.tmp`);
  const fixed = split.at === undefined ? undefined : Math.max(24, Math.min(size - 1, split.at));
  const first = new FirstHalf(fd, i32, f64, fixed, split.syncTimeoutMs ?? 5000, spillPath);
  let linkType = 0;
  // After the file header: start the second thread (pcap only).
  const onHeader = (p: CaptureParser): void => {
    first.parser = p;
    if (p.format !== 'pcap') {
      first.state = 'not-split';
      return first.alone();
    }
    linkType = p.interfaces[0]!.linkType;
    const program = typeof source === 'function' ? source(linkType) : source;
    try {
      first.second = new SecondThread(split.workerEntry ?? defaultEntry(), workerData(p, program, file, size, options, split, spillPath, control), i32);
    } catch {
      first.alone();
    }
  };
  const onProgress = options.onProgress;
  try {
    const mine = scanInput({ read: (buf, off, len) => first.read(buf, off, len), file, onHeader }, source, {
      ...options,
      ...(onProgress !== undefined && {
        onProgress: (packets: number, accepted: number) =>
          first.phase === 'synced' ? onProgress(packets + f64[CTL.packets]!, accepted + f64[CTL.accepted]!) : onProgress(packets, accepted),
      }),
    });
    if (first.phase !== 'joined') return { ...mine, split: first.state };
    const theirs = await first.second!.outcome;
    if (theirs.kind === 'crashed') throw theirs.error instanceof Error ? theirs.error : new Error(String(theirs.error));
    if (theirs.kind !== 'done' && theirs.kind !== 'failed') throw new Error(`the scan worker answered '${theirs.kind}' after announcing a boundary`);
    if (options.pcapOut !== undefined) {
      for (const c of theirs.chunks) options.pcapOut.write(c, linkType);
      if (theirs.spilled > 0) copySpill(spillPath, theirs.spilled, (c) => options.pcapOut!.write(c, linkType));
    }
    if (theirs.kind === 'failed') throw revive(theirs.error);
    const total = { packets: mine.packets + theirs.packets, accepted: mine.accepted + theirs.accepted };
    onProgress?.(total.packets, total.accepted);
    return { ...mine, ...total, split: 'joined' };
  } finally {
    first.second?.stop(spillPath);
    rmSync(spillPath, { force: true });
  }
}

/** Hand the spill file's `bytes` bytes to `write` in pieces. */
function copySpill(path: string, bytes: number, write: (chunk: Uint8Array) => void): void {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(Math.min(bytes, 4 << 20));
    let done = 0;
    while (done < bytes) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, bytes - done), done);
      if (n === 0) throw new Error(`${path}: the spill file ends after ${done} of ${bytes} bytes`);
      write(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The second thread's error as this thread throws it (a CaptureError stays one). */
function revive(e: SerializedError): Error {
  if (e.name === 'CaptureError' && e.reason !== undefined && e.offset !== undefined) return new CaptureError(e.reason, e.offset, e.file);
  return new Error(`scan worker: ${e.message}`);
}
