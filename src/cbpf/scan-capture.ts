// Filtering a whole capture file fast. The file is read straight into a
// region of the VM's memory and packets are filtered where they lie:
//  - pcap files, and the enhanced packet blocks of pcapng files, run the
//    scan driver (scan-driver.ts, run by scan-run.ts): the filter wrapped in
//    a loop over the records, one engine call per buffer of records;
//  - the other pcapng packets (and everything with `driver: false`) get a
//    `struct __sk_buff` per packet, and the plain translation runs over a
//    batch of them in one call when the engine can batch (the JIT's
//    runBatchAt), else one call per packet.
// Nothing is allocated per packet and no packet byte is copied to be
// filtered (pcapOut below copies the accepted ones).
//
// Packets are handed to `onAccept` as views into the read buffer, valid only
// during the call (`data` is made only when asked for). Accepted packets can
// also go to `pcapOut` as ready-made pcap records: on the scan driver's path
// the driver itself writes them to a pack buffer in VM memory (timestamp
// conversion, cut to the accept length, copy), handed over in one chunk per
// buffer, so a scan without onAccept runs no JS per packet at all.
//
// One thread, one 2 MiB buffer, on purpose: read(2) copies the page cache
// into cache-resident memory and the driver reads it from there. Reading
// ahead on a worker thread into two such slots (the scan on one while the
// worker fills the other) was measured on 10M packets (2 GB) and lost:
// read(2) went from ~190 to ~840 us per 2 MiB and the scan took 2.5x the
// wall time, every byte now crossing between cores. Buffers of 256 KiB to
// 8 MiB cost the same within noise. scan-split.ts runs this twice, each
// thread over its own half of the file with its own buffer (scanInput with
// positional reads); whether that pays depends on spare cores and memory
// bandwidth (see there).

import { openSync, readSync, closeSync } from 'node:fs';
import { UsageError } from '../internal/errors.js';
import { CaptureParser } from '../pcap/parser.js';
import { linkTypeInfo } from '../pcap/linktype.js';
import { createVm, type Vm } from '../vm/vm.js';
import type { Region } from '../vm/memory.js';
import { hasEngine, trustProgram } from '../vm/engines.js';
import type { Engine, ExecOptions } from '../vm/types.js';
import type { ClassicProgram } from './insn.js';
import { SKB, SKB_SIZE, translateClassic } from './translate.js';
import { SCAN_STATUS } from './scan-driver.js';
import { PcapngRunner, scanPcap, type ScanCounts } from './scan-run.js';
import { AcceptedView, type PcapRecordSink, type ScanOptions, type ScanResult } from './scan-types.js';

export type { AcceptedPacket, PcapRecordSink, ScanOptions, ScanResult } from './scan-types.js';

/** An engine that can run many argument records in one call (the JIT). */
interface BatchEngine extends Engine {
  runBatchAt(count: number, argsAddr: number, outAddr: number, options?: ExecOptions): void;
}
const canBatch = (e: Engine): e is BatchEngine => typeof (e as Partial<BatchEngine>).runBatchAt === 'function';

const ARG_RECORD = 40; // r1..r5 as u64
const OUT_RECORD = 8;

/**
 * The program, or a function giving the program for a link type (a tcpdump
 * expression compiles differently for Ethernet and Linux cooked captures);
 * it is called once per link type the capture has.
 */
export type ProgramSource = ClassicProgram | ((linkType: number) => ClassicProgram);

/** Run a classic socket filter over every packet of a pcap/pcapng file (path or open descriptor). */
export function scanCapture(file: string | number, source: ProgramSource, options: ScanOptions = {}): ScanResult {
  let fd = -1;
  try {
    fd = typeof file === 'number' ? file : openSync(file, 'r');
    const read = (buf: Uint8Array, off: number, len: number): number => readSync(fd, buf, off, len, null);
    return scanInput({ read, ...(typeof file === 'string' && { file }) }, source, options);
  } finally {
    if (typeof file === 'string' && fd >= 0) closeSync(fd);
  }
}

/** Where scanInput takes a capture's bytes from (scanCapture: a file read from its current position). */
export interface ScanInput {
  /** Like fs.readSync: up to `len` bytes at buf[off], the count returned, 0 at the end. */
  read: (buf: Uint8Array, off: number, len: number) => number;
  /** File name for error messages. */
  file?: string;
  /** Called once the file header is parsed, before any record (a split scan resumes its parser elsewhere here). */
  onHeader?: (parser: CaptureParser) => void;
}

/** scanCapture over any byte source (the two halves of a split scan, scan-split.ts, read positionally). */
export function scanInput(input: ScanInput, source: ProgramSource, options: ScanOptions = {}): ScanResult {
  // Compiled once per link type, though both the driver and the per-packet path may need it.
  const programs = new Map<number, ClassicProgram>();
  const programFor = (linkType: number): ClassicProgram => {
    if (typeof source !== 'function') return source;
    let p = programs.get(linkType);
    if (p === undefined) programs.set(linkType, (p = source(linkType)));
    return p;
  };
  const vm = options.vm ?? createVm();
  const engineName = options.engine ?? (hasEngine('jit') ? 'jit' : 'interp');
  const batch = options.batch ?? 4096;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`batch ${batch} must be a positive integer`);
  const mem = vm.mem;
  // Compiling an engine may map regions and grow the memory; views of shared memory survive that.
  if (!mem.shared) throw new UsageError('scanCapture needs a VM whose memory is shared (a SharedArrayBuffer)');
  const bufSize = options.bufferSize ?? 2 * 1024 * 1024;
  // All regions are mapped before the scan, so the memory never grows while views are in use.
  const bufRegion = mem.alloc(bufSize, { name: 'capture buffer', kind: 'packet', writable: false });
  // The batch regions are mapped only for the per-packet path (pcapng); the
  // pcap driver needs none of them, and mapping costs milliseconds of a
  // command that may take a hundred.
  const regions: Region[] = [bufRegion];
  try {
    const parser = new CaptureParser({ buffer: new Uint8Array(mem.wasm.buffer, bufRegion.start, bufSize), ...(input.file !== undefined && { file: input.file }) });
    const read = input.read;
    while (!parser.header()) {
      if (parser.fill(read, bufSize) === 0) parser.finish(); // throws: empty or too short
    }
    input.onHeader?.(parser);
    if (parser.format === 'pcap' && (options.driver ?? true)) {
      // The scan driver may run without the JIT's per-access memory checks:
      // it is safe by construction, not by a verifier run (its record loop is
      // not something the verifier can prove in reasonable time). The filter
      // body is the plain translation, which passes the verifier on its own
      // (test/cbpf/verify.test.ts): every packet load is checked against r9,
      // ctx and stack offsets are constants inside their regions. The loop
      // reads a record header only after checking it is inside
      // [buf, bufEnd), sets r9 = data + incl_len only when that is <= bufEnd,
      // and writes out[i] only for i < maxOut; this function maps both
      // regions and points bufEnd at the end of the bytes read.
      const driverEngine = options.engine ?? (hasEngine('jit-verified') ? 'jit-verified' : engineName);
      return scanPcap(vm, parser, read, bufRegion.start, programFor(parser.interfaces[0]!.linkType), driverEngine, batch * 2, options);
    }
    const ctxRegion = mem.alloc(batch * SKB_SIZE, { name: 'cbpf ctx batch', kind: 'ctx', writable: false });
    regions.push(ctxRegion);
    const argRegion = mem.alloc(batch * ARG_RECORD, { name: 'cbpf batch args', kind: 'scratch', writable: false });
    regions.push(argRegion);
    const outRegion = mem.alloc(batch * OUT_RECORD, { name: 'cbpf batch results', kind: 'scratch', writable: false });
    regions.push(outRegion);
    mem.refresh();
    let dv = mem.dv;
    let ctx32 = new Uint32Array(mem.wasm.buffer);
    const bufAddr = bufRegion.start;
    const ctxBase = ctxRegion.start;
    for (let k = 0; k < batch; k++) dv.setUint32(argRegion.start + k * ARG_RECORD, ctxBase + k * SKB_SIZE, true);
    const ctxArgs: number[][] = Array.from({ length: batch }, (_, k) => [ctxBase + k * SKB_SIZE]);

    // One translated program and engine per link type (hatype and the network offset depend on it).
    const engines = new Map<number, Engine>();
    const engineFor = (linkType: number): Engine => {
      let e = engines.get(linkType);
      if (e === undefined) {
        const info = linkTypeInfo(linkType);
        const t = translateClassic(programFor(linkType), {
          mode: 'socket',
          ...(info && { hatype: info.hatype }),
          ...(info?.netOffset !== undefined && { netOffset: info.netOffset }),
          ...(options.hatype !== undefined && { hatype: options.hatype }),
          ...(options.netOffset !== undefined && { netOffset: options.netOffset }),
        });
        e = vm.engine(trustProgram(vm.load(t.ebpf)), engineName);
        engines.set(linkType, e);
        mem.refresh();
        dv = mem.dv;
        ctx32 = new Uint32Array(mem.wasm.buffer);
      }
      return e;
    };

    // Per batch slot: where the packet is, for onAccept and pcapOut.
    const onAccept = options.onAccept;
    const pcapOut = options.pcapOut;
    const keepSlots = onAccept !== undefined || pcapOut !== undefined;
    const records = pcapOut && new RecordBuffer(pcapOut);
    const offs = new Int32Array(batch);
    const caps = new Int32Array(batch);
    const wires = new Float64Array(batch);
    const secs = new Float64Array(batch);
    const nsecs = new Float64Array(batch);
    const accepted = new AcceptedView(parser.buffer);

    let packets = 0;
    let acceptedCount = 0;
    let n = 0; // packets in the current batch
    let batchLinkType = -1;
    let stopped = false;

    const flush = (): void => {
      if (n === 0) return;
      const engine = engineFor(batchLinkType);
      const batched = canBatch(engine);
      if (batched) engine.runBatchAt(n, argRegion.start, outRegion.start);
      for (let k = 0; k < n; k++) {
        const r = batched ? dv.getUint32(outRegion.start + k * OUT_RECORD, true) : engine.run(ctxArgs[k]!).r0lo >>> 0;
        if (r !== 0) {
          acceptedCount++;
          const stop = onAccept !== undefined && deliver(k, r) === false;
          records?.add(parser.buffer, offs[k]!, Math.min(r, caps[k]!), wires[k]!, secs[k]!, nsecs[k]!);
          if (stop) {
            records?.flush(batchLinkType);
            packets += k + 1;
            n = 0;
            stopped = true;
            return;
          }
        }
      }
      records?.flush(batchLinkType);
      packets += n;
      n = 0;
      options.onProgress?.(packets, acceptedCount);
    };
    const deliver = (k: number, r: number): boolean | void => {
      accepted.index = packets + k;
      accepted.offset = offs[k]!;
      accepted.caplen = caps[k]!;
      accepted.wireLen = wires[k]!;
      accepted.tsSec = secs[k]!;
      accepted.tsNsec = nsecs[k]!;
      accepted.linkType = batchLinkType;
      accepted.result = r;
      return onAccept!(accepted);
    };

    // A malformed record throws from the parser; the packets before it are
    // filtered and delivered first, as a packet-by-packet reader would have.
    const nextPacket = (): boolean => {
      try {
        return parser.nextPacket();
      } catch (e) {
        flush();
        throw e;
      }
    };
    // pcapng through the scan driver as well: runs of enhanced packet blocks
    // of one link type go through it, one call per buffer; what it leaves
    // (other blocks, other interfaces) the parser reads and the per-packet
    // path filters, one packet at a time so the order is kept. The packet
    // the parser returns picks the driver for the blocks after it.
    const ng = parser.format === 'pcapng' && (options.driver ?? true) ? new PcapngRunner(vm, parser, bufAddr, programFor, engineName, batch * 2, options, regions) : undefined;
    const counts: ScanCounts = { packets: 0, accepted: 0, stopped: false };
    const runDriver = (): number => {
      counts.packets = packets;
      counts.accepted = acceptedCount;
      const status = ng!.run(counts);
      packets = counts.packets;
      acceptedCount = counts.accepted;
      stopped = counts.stopped;
      if (!stopped) options.onProgress?.(packets, acceptedCount);
      return status;
    };
    if (ng !== undefined) {
      mem.refresh();
      dv = mem.dv;
      ctx32 = new Uint32Array(mem.wasm.buffer);
    }
    scan: for (;;) {
      for (;;) {
        if (ng?.ready === true && n === 0) {
          const status = runDriver();
          if (stopped) break scan;
          if (status === SCAN_STATUS.FULL) continue;
        }
        if (!nextPacket()) break;
        if (parser.linkType !== batchLinkType) {
          flush();
          if (stopped) break scan;
          batchLinkType = parser.linkType;
          engineFor(batchLinkType); // compile before the batch fills, so views are current
        }
        // ctx words through a Uint32Array (little-endian host, as everywhere in the runtime)
        const c = (ctxBase >> 2) + n * (SKB_SIZE >> 2);
        const data = bufAddr + parser.offset;
        ctx32[c + (SKB.len >> 2)] = parser.wireLen;
        ctx32[c + (SKB.data >> 2)] = data;
        ctx32[c + (SKB.data_end >> 2)] = data + parser.caplen;
        if (keepSlots) {
          offs[n] = parser.offset;
          caps[n] = parser.caplen;
          wires[n] = parser.wireLen;
          secs[n] = parser.tsSec;
          nsecs[n] = parser.tsNsec;
        }
        if (++n === batch || ng !== undefined) {
          flush();
          if (stopped) break scan;
          if (ng?.follow(parser.interfaceId) === true) {
            // A driver was compiled just now: the memory may have grown.
            mem.refresh();
            dv = mem.dv;
            ctx32 = new Uint32Array(mem.wasm.buffer);
          }
        }
      }
      // The batch must run before fill() moves the unread bytes.
      flush();
      if (stopped || parser.fill(read, bufSize) === 0) break;
    }
    if (!stopped) parser.finish();
    return { packets, accepted: acceptedCount, engine: engineName, stopped };
  } finally {
    for (const r of regions) mem.free(r);
  }
}

/** Accepted packets of the per-packet path as pcap records, collected in a private buffer until the batch ends. */
class RecordBuffer {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  private pos = 0;
  constructor(private readonly sink: PcapRecordSink) {}

  add(src: Uint8Array, offset: number, length: number, wireLen: number, tsSec: number, tsNsec: number): void {
    const keep = Math.min(length, this.sink.snaplen);
    if (this.pos + 16 + keep > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.pos + 16 + keep) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.pos));
      this.buf = nb;
      this.dv = new DataView(nb.buffer);
    }
    const dv = this.dv;
    dv.setUint32(this.pos, tsSec, true);
    dv.setUint32(this.pos + 4, Math.floor(tsNsec / 1000), true);
    dv.setUint32(this.pos + 8, keep, true);
    dv.setUint32(this.pos + 12, wireLen, true);
    this.buf.set(src.subarray(offset, offset + keep), this.pos + 16);
    this.pos += 16 + keep;
  }

  flush(linkType: number): void {
    if (this.pos === 0) return;
    this.sink.write(this.buf.subarray(0, this.pos), linkType);
    this.pos = 0;
  }
}
