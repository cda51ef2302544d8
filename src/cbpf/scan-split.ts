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

async function runSplit(fd: number, file: string, size: number, source: ProgramSource, options: ScanOptions, split: SplitOptions): Promise<SplitResult> {
  const control = new SharedArrayBuffer(CTL_BYTES);
  const i32 = new Int32Array(control);
  const f64 = new Float64Array(control);
  const bufSize = options.bufferSize ?? 2 * 1024 * 1024;
  const spillPath = join(split.spillDir ?? tmpdir(), `.tsbpf-scan-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.tmp`);
  let worker: Worker | undefined;
  let outcome: Promise<Outcome> | undefined;
  let parser: CaptureParser | undefined;
  let linkType = 0;
  // A split point given (tests) or left to the second thread (half of what is left when it starts).
  const fixed = split.at === undefined ? undefined : Math.max(24, Math.min(size - 1, split.at));
  // Where this thread's reads stop: nowhere while it is alone ('free', 'alone'),
  // the split point once chosen ('claimed'), the boundary once found ('synced').
  // Changed by the read callback, hence the cast: TypeScript would narrow it below.
  let phase = (fixed === undefined ? 'free' : 'claimed') as 'free' | 'claimed' | 'synced' | 'alone' | 'joined';
  let stopAt = fixed ?? Infinity;
  let pos = 0;
  let state: SplitResult['split'] = 'no-sync';

  const cancel = (): void => {
    Atomics.store(i32, CTL.cancel, 1);
    const w = worker;
    worker = undefined;
    if (w !== undefined) void w.terminate().then(() => rmSync(spillPath, { force: true }), () => undefined);
  };
  const startWorker = (p: CaptureParser): void => {
    parser = p;
    if (p.format !== 'pcap') {
      state = 'not-split';
      alone();
      return;
    }
    const iface = p.interfaces[0]!;
    linkType = iface.linkType;
    const program = typeof source === 'function' ? source(linkType) : source;
    const data: ScanWorkerData = {
      file,
      ...(fixed !== undefined && { from: fixed }),
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
    try {
      const w = new Worker(workerCode(split.workerEntry ?? defaultEntry()), { eval: true, workerData: data });
      worker = w;
      outcome = new Promise<Outcome>((resolve) => {
        w.once('message', (m: ScanWorkerResult) => resolve(m));
        w.once('error', (error) => resolve({ kind: 'crashed', error }));
        w.once('exit', (code) => resolve({ kind: 'crashed', error: new Error(`the scan worker exited (${code}) without a result`) }));
      });
    } catch {
      alone();
    }
  };

  const alone = (): void => {
    cancel();
    phase = 'alone';
    stopAt = Infinity;
  };
  /** Before each read while alone: has the second thread chosen its split point (and is it still ahead)? */
  const checkClaim = (): void => {
    const st = Atomics.load(i32, CTL.sync);
    if (st === SYNC_NONE) return alone();
    if (st !== SYNC_CLAIMED && st !== SYNC_FOUND) return;
    const from = f64[CTL.from]!;
    // It read this thread's position a moment ago; if this thread is past its point already, it is too late.
    if (pos > from) return alone();
    phase = 'claimed';
    stopAt = from;
  };
  /** At the split point: wait for the second thread's boundary (or give up on it). */
  const awaitBoundary = (): void => {
    const deadline = performance.now() + (split.syncTimeoutMs ?? 5000);
    for (let st = Atomics.load(i32, CTL.sync); st === SYNC_PENDING || st === SYNC_CLAIMED; st = Atomics.load(i32, CTL.sync)) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(i32, CTL.sync, st, left);
    }
    if (Atomics.load(i32, CTL.sync) === SYNC_FOUND) {
      phase = 'synced';
      stopAt = f64[CTL.at]!;
      return;
    }
    alone();
  };

  const read = (buf: Uint8Array, off: number, len: number): number => {
    for (;;) {
      if (phase === 'free') checkClaim();
      if (pos < stopAt) {
        const n = readSync(fd, buf, off, Math.min(len, stopAt - pos), pos);
        pos += n;
        f64[CTL.firstPos] = pos;
        return n;
      }
      if (phase === 'claimed') {
        awaitBoundary();
        continue;
      }
      if (phase === 'synced') {
        // Every complete record before the boundary is filtered (the scan
        // fills only then): nothing left over means the last one ended there.
        if (parser!.unreadLength === 0) {
          phase = 'joined';
          return 0;
        }
        state = 'false-sync';
        alone();
        continue;
      }
      return 0;
    }
  };

  const onProgress = options.onProgress;
  try {
    const mine = scanInput({ read, file, onHeader: startWorker }, source, {
      ...options,
      ...(onProgress !== undefined && {
        onProgress: (packets: number, accepted: number) =>
          phase === 'synced' ? onProgress(packets + f64[CTL.packets]!, accepted + f64[CTL.accepted]!) : onProgress(packets, accepted),
      }),
    });
    if (phase !== 'joined') {
      cancel();
      return { ...mine, split: state };
    }
    const theirs = await outcome!;
    worker = undefined;
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
    cancel();
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
