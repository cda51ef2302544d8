// Filtering a whole capture file fast. The file is read straight into a
// region of the VM's memory and packets are filtered where they lie:
//  - pcap files run the scan driver (scan-driver.ts): the filter wrapped in a
//    loop over the records, one engine call per buffer of records;
//  - pcapng (and pcap with `driver: false`) get a `struct __sk_buff` per
//    packet, and the plain translation runs over a batch of them in one
//    call when the engine can batch (the JIT's runBatchAt), else one call
//    per packet.
// Nothing is allocated per packet and no packet byte is copied to be
// filtered (pcapOut below copies the accepted ones).
//
// Packets are handed to `onAccept` as views into the read buffer, valid only
// during the call (`data` is made only when asked for). Accepted packets can
// also go to `pcapOut` as ready-made pcap records: on the scan driver's path
// the driver itself writes them to a pack buffer in VM memory (timestamp
// conversion, cut to the accept length, copy), handed over in one chunk per
// buffer, so a scan without onAccept runs no JS per packet at all.

import { openSync, readSync, closeSync } from 'node:fs';
import { UsageError } from '../internal/errors.js';
import { CaptureParser, setTimestamp, type InterfaceInfo } from '../pcap/parser.js';
import { linkTypeInfo } from '../pcap/linktype.js';
import { createVm, type Vm } from '../vm/vm.js';
import type { Region } from '../vm/memory.js';
import { hasEngine, trustProgram } from '../vm/engines.js';
import type { Engine, ExecOptions } from '../vm/types.js';
import type { ClassicProgram } from './insn.js';
import { SKB, SKB_SIZE, translateClassic, type TranslateOptions } from './translate.js';
import { SCAN_CTX, SCAN_CTX_SIZE, SCAN_OUT_RECORD, SCAN_STATUS, translateScanDriver } from './scan-driver.js';

/** An engine that can run many argument records in one call (the JIT). */
interface BatchEngine extends Engine {
  runBatchAt(count: number, argsAddr: number, outAddr: number, options?: ExecOptions): void;
}
const canBatch = (e: Engine): e is BatchEngine => typeof (e as Partial<BatchEngine>).runBatchAt === 'function';

export interface AcceptedPacket {
  /** Index of the packet in the file (0-based). */
  index: number;
  /** The captured bytes (a view, valid during the callback). */
  readonly data: Uint8Array;
  /** The read buffer and where the captured bytes start in it (data without making a view). */
  readonly buffer: Uint8Array;
  readonly offset: number;
  readonly caplen: number;
  wireLen: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  /** The filter's return value (the accept length). */
  result: number;
}

/** One reused AcceptedPacket per scan: the data view is made only when read. */
class AcceptedView implements AcceptedPacket {
  index = 0;
  offset = 0;
  caplen = 0;
  wireLen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  result = 0;
  constructor(public buffer: Uint8Array) {}
  get data(): Uint8Array {
    return this.buffer.subarray(this.offset, this.offset + this.caplen);
  }
}

/** Where accepted packets go as classic pcap records (see pcapOut). */
export interface PcapRecordSink {
  /** Largest number of bytes kept per packet (the output file's snapshot length). */
  readonly snaplen: number;
  /**
   * A run of little-endian, microsecond pcap records (16-byte header, then
   * the bytes cut to the accept length and to snaplen), in file order, all
   * of `linkType`. A view, valid during the call.
   */
  write(records: Uint8Array, linkType: number): void;
}

export interface ScanOptions extends Omit<TranslateOptions, 'mode'> {
  /**
   * Engine name. Default: for pcap, 'jit-verified' when registered (see
   * below), else 'jit', else 'interp'; for pcapng, 'jit' when registered,
   * else 'interp'.
   */
  engine?: string;
  /** Called for each accepted packet, in file order. Return false to stop the scan there. */
  onAccept?: (p: AcceptedPacket) => boolean | void;
  /**
   * Also write every accepted packet here as a pcap record (after onAccept
   * saw it; the packet that stops the scan is written too).
   */
  pcapOut?: PcapRecordSink;
  /** Called after each batch with the running counts (for progress reports). */
  onProgress?: (packets: number, accepted: number) => void;
  /**
   * Packets per engine call (default 4096). The pcap driver runs over a
   * whole buffer per call and lists up to twice as many accepted packets.
   */
  batch?: number;
  /** Use the scan driver for pcap files (default true); false runs pcap like pcapng. */
  driver?: boolean;
  /** Size of the read buffer in VM memory (default 2 MiB; also the largest block accepted). */
  bufferSize?: number;
  /** Use this VM (default: a private one). */
  vm?: Vm;
}

export interface ScanResult {
  /** Packets filtered (when onAccept stopped the scan: up to and including that packet). */
  packets: number;
  accepted: number;
  /** The engine that ran the filter. */
  engine: string;
  /** onAccept returned false. */
  stopped: boolean;
}

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
  let fd = -1;
  try {
    fd = typeof file === 'number' ? file : openSync(file, 'r');
    const parser = new CaptureParser({ buffer: new Uint8Array(mem.wasm.buffer, bufRegion.start, bufSize), ...(typeof file === 'string' && { file }) });
    const read = (buf: Uint8Array, off: number, len: number): number => readSync(fd, buf, off, len, null);
    while (!parser.header()) {
      if (parser.fill(read, bufSize) === 0) parser.finish(); // throws: empty or too short
    }
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
    const runDriver = (): number => {
      const r = ng!.run(packets, acceptedCount);
      packets = r.packets;
      acceptedCount = r.accepted;
      stopped = r.stopped;
      if (!stopped) options.onProgress?.(packets, acceptedCount);
      return r.status;
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
          if (ng !== undefined) {
            ng.follow(parser.interfaceId);
            mem.refresh(); // the driver may have been compiled now
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
    if (typeof file === 'string' && fd >= 0) closeSync(fd);
    for (const r of regions) mem.free(r);
  }
}

/** pcap through the scan driver: one engine call per buffer of records; JS sees only accepted packets. */
function scanPcap(
  vm: Vm,
  parser: CaptureParser,
  read: (buf: Uint8Array, off: number, len: number) => number,
  bufAddr: number,
  prog: ClassicProgram,
  engineName: string,
  maxOut: number,
  options: ScanOptions,
): ScanResult {
  const mem = vm.mem;
  const linkType = parser.interfaces[0]!.linkType;
  const info = linkTypeInfo(linkType);
  const pcapOut = options.pcapOut;
  const t = translateScanDriver(prog, {
    bigEndian: parser.bigEndian,
    nanosecond: parser.nanosecond,
    pack: pcapOut !== undefined,
    ...(info && { hatype: info.hatype }),
    ...(info?.netOffset !== undefined && { netOffset: info.netOffset }),
    ...(options.hatype !== undefined && { hatype: options.hatype }),
    ...(options.netOffset !== undefined && { netOffset: options.netOffset }),
  });
  // The scan driver is safe by construction (see scan-driver.ts): trusted for the unchecked engine.
  const engine = vm.engine(trustProgram(vm.load(t.ebpf)), engineName);
  const bufSize = parser.buffer.length;
  const ctx = mem.alloc(SCAN_CTX_SIZE, { name: 'cbpf scan ctx', kind: 'ctx', writable: true });
  const out = mem.alloc(maxOut * SCAN_OUT_RECORD, { name: 'cbpf scan results', kind: 'scratch', writable: true });
  // A packed record is at most 16 + min(snaplen, incl_len) bytes, and
  // incl_len + 16 <= bufSize, so one always fits: the driver makes progress
  // with every call. Mapping costs time, so it is no larger than that.
  const packSize = pcapOut === undefined ? 0 : Math.min(bufSize, 16 + pcapOut.snaplen);
  const pack = pcapOut && mem.alloc(packSize, { name: 'cbpf scan pack', kind: 'scratch', writable: true });
  try {
    mem.refresh();
    const dv = mem.dv;
    const c = ctx.start;
    dv.setUint32(c + SCAN_CTX.out, out.start, true);
    dv.setUint32(c + SCAN_CTX.maxOut, maxOut, true);
    if (pack !== undefined) {
      dv.setUint32(c + SCAN_CTX.pack, pack.start, true);
      dv.setUint32(c + SCAN_CTX.packEnd, pack.start + packSize, true);
      dv.setUint32(c + SCAN_CTX.snaplen, pcapOut!.snaplen, true);
    }
    const packed = pack && new Uint8Array(mem.wasm.buffer, pack.start, packSize);
    const args = [c];
    // Per record: every filter slot at most once, the loop, and the copy
    // (at most one instruction per byte of the buffer plus a few per record).
    const records = Math.floor(bufSize / 16) + 1;
    const exec = { budget: records * (t.slots + 96) + 6 * bufSize + 64 };
    const nano = parser.nanosecond;
    const le = !parser.bigEndian;
    const onAccept = options.onAccept;
    const buf = parser.buffer; // a fixed buffer: never replaced
    const acc = new AcceptedView(buf);
    acc.linkType = linkType;
    const out32 = new Uint32Array(mem.wasm.buffer, out.start, maxOut * (SCAN_OUT_RECORD >> 2));
    const bv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let packets = 0;
    let accepted = 0;
    for (;;) {
      while (parser.unreadLength > 0) {
        const start = parser.unreadOffset;
        dv.setUint32(c + SCAN_CTX.buf, bufAddr + start, true);
        dv.setUint32(c + SCAN_CTX.bufEnd, bufAddr + start + parser.unreadLength, true);
        engine.run(args, exec);
        const count = dv.getUint32(c + SCAN_CTX.count, true);
        const found = dv.getUint32(c + SCAN_CTX.accepted, true);
        const consumed = dv.getUint32(c + SCAN_CTX.consumed, true);
        const status = dv.getUint32(c + SCAN_CTX.status, true);
        if (onAccept !== undefined) {
          for (let j = 0; j < found; j++) {
            const e = j * (SCAN_OUT_RECORD >> 2);
            const h = start + out32[e + 1]!;
            const frac = bv.getUint32(h + 4, le);
            accepted++;
            acc.result = out32[e]!;
            acc.index = packets + out32[e + 2]!;
            acc.offset = h + 16;
            acc.caplen = bv.getUint32(h + 8, le);
            acc.tsSec = bv.getUint32(h, le);
            acc.tsNsec = nano ? frac : frac * 1000;
            acc.wireLen = bv.getUint32(h + 12, le);
            if (onAccept(acc) === false) {
              // The packet that stops the scan is written too, nothing after it.
              if (packed !== undefined && out32[e + 3]! > 0) pcapOut!.write(packed.subarray(0, out32[e + 3]!), linkType);
              return { packets: acc.index + 1, accepted, engine: engineName, stopped: true };
            }
          }
        } else {
          accepted += found;
        }
        const packedLength = pack === undefined ? 0 : dv.getUint32(c + SCAN_CTX.packed, true);
        if (packedLength > 0) pcapOut!.write(packed!.subarray(0, packedLength), linkType);
        packets += count;
        parser.skip(consumed);
        options.onProgress?.(packets, accepted);
        if (status === SCAN_STATUS.BAD_TIME) {
          const h = start + consumed;
          throw parser.errorAt(`timestamp fraction ${bv.getUint32(h + 4, le)} out of range for ${nano ? 'nano' : 'micro'}second pcap`, h);
        }
        if (status !== SCAN_STATUS.FULL) break;
        // Full before the first record: it would be full again, forever (cannot happen, see packSize).
        if (count === 0) throw new Error('cbpf scan: the driver made no progress');
      }
      // What is left is an incomplete record; let the parser judge it (a corrupt length throws here).
      if (parser.nextPacket()) throw new Error('cbpf scan: the driver stopped before a complete record');
      if (parser.fill(read, parser.buffer.length) === 0) break;
    }
    parser.finish();
    return { packets, accepted, engine: engineName, stopped: false };
  } finally {
    mem.free(ctx);
    mem.free(out);
    if (pack !== undefined) mem.free(pack);
  }
}

/** The pcapng scan driver for one section byte order, link type and timestamp resolution. */
interface NgDriver {
  readonly bigEndian: boolean;
  readonly linkType: number;
  readonly decimals: number;
  readonly engine: Engine;
  readonly exec: ExecOptions;
}

/** pcapng blocks through the scan driver (see scanCapture): its regions, drivers and the delivery of what it accepts. */
class PcapngRunner {
  private readonly drivers = new Map<string, NgDriver>();
  private current: NgDriver | undefined;
  private readonly ctx: Region;
  private readonly out: Region;
  private readonly pack: Region | undefined;
  private readonly acc: AcceptedView;
  private readonly args: number[];

  constructor(
    private readonly vm: Vm,
    private readonly parser: CaptureParser,
    private readonly bufAddr: number,
    private readonly programFor: (linkType: number) => ClassicProgram,
    private readonly engineName: string,
    private readonly maxOut: number,
    private readonly options: ScanOptions,
    regions: Region[],
  ) {
    const mem = vm.mem;
    this.ctx = mem.alloc(SCAN_CTX_SIZE, { name: 'cbpf scan ctx', kind: 'ctx', writable: true });
    regions.push(this.ctx);
    this.out = mem.alloc(maxOut * SCAN_OUT_RECORD, { name: 'cbpf scan results', kind: 'scratch', writable: true });
    regions.push(this.out);
    const pcapOut = options.pcapOut;
    // One record always fits (see scanPcap).
    this.pack = pcapOut && mem.alloc(Math.min(parser.buffer.length, 16 + pcapOut.snaplen), { name: 'cbpf scan pack', kind: 'scratch', writable: true });
    if (this.pack !== undefined) regions.push(this.pack);
    this.acc = new AcceptedView(parser.buffer);
    this.args = [this.ctx.start];
  }

  /** A driver is chosen (after the first packet the parser read). */
  get ready(): boolean {
    return this.current !== undefined;
  }

  /** Whether the driver can take interface i's packets: a decimal resolution; no time offset when packing. */
  private eligible(i: InterfaceInfo): boolean {
    return i.tsResolution.base === 10 && i.tsResolution.exp <= 9 && (this.options.pcapOut === undefined || i.tsOffset === 0);
  }

  /** Use the driver for interface `id`'s kind of packets from now on (none if it cannot take them). */
  follow(id: number): void {
    const iface = this.parser.interfaces[id];
    if (iface === undefined || id >= 32 || !this.eligible(iface)) {
      this.current = undefined;
      return;
    }
    const bigEndian = this.parser.bigEndian;
    const decimals = iface.tsResolution.exp;
    const key = `${bigEndian}:${iface.linkType}:${decimals}`;
    let d = this.drivers.get(key);
    if (d === undefined) {
      const info = linkTypeInfo(iface.linkType);
      const options = this.options;
      const t = translateScanDriver(this.programFor(iface.linkType), {
        format: 'pcapng',
        bigEndian,
        tsDecimals: decimals,
        pack: options.pcapOut !== undefined,
        ...(info && { hatype: info.hatype }),
        ...(info?.netOffset !== undefined && { netOffset: info.netOffset }),
        ...(options.hatype !== undefined && { hatype: options.hatype }),
        ...(options.netOffset !== undefined && { netOffset: options.netOffset }),
      });
      // Safe by construction, as the pcap driver (scan-driver.ts).
      const engine = this.vm.engine(trustProgram(this.vm.load(t.ebpf)), this.options.engine ?? (hasEngine('jit-verified') ? 'jit-verified' : this.engineName));
      const bufSize = this.parser.buffer.length;
      const records = Math.floor(bufSize / 32) + 1;
      d = { bigEndian, linkType: iface.linkType, decimals, engine, exec: { budget: records * (t.slots + 96) + 6 * bufSize + 64 } };
      this.drivers.set(key, d);
    }
    this.current = d;
  }

  /** Interfaces (< 32) of the current section the driver takes. */
  private mask(d: NgDriver): number {
    if (this.parser.bigEndian !== d.bigEndian) return 0;
    let m = 0;
    this.parser.interfaces.forEach((i, id) => {
      if (id < 32 && i.linkType === d.linkType && i.tsResolution.exp === d.decimals && this.eligible(i)) m |= 1 << id;
    });
    return m >>> 0;
  }

  /**
   * Run the current driver from the parser's unread offset, deliver what it
   * accepted, and consume what it read. Returns the counts after it and the
   * driver's status.
   */
  run(packets: number, accepted: number): { packets: number; accepted: number; stopped: boolean; status: number } {
    const d = this.current!;
    const parser = this.parser;
    const mem = this.vm.mem;
    mem.refresh();
    const dv = mem.dv;
    const c = this.ctx.start;
    const start = parser.unreadOffset;
    dv.setUint32(c + SCAN_CTX.buf, this.bufAddr + start, true);
    dv.setUint32(c + SCAN_CTX.bufEnd, this.bufAddr + start + parser.unreadLength, true);
    dv.setUint32(c + SCAN_CTX.out, this.out.start, true);
    dv.setUint32(c + SCAN_CTX.maxOut, this.maxOut, true);
    dv.setUint32(c + SCAN_CTX.ifaceMask, this.mask(d), true);
    const pack = this.pack;
    const pcapOut = this.options.pcapOut;
    if (pack !== undefined) {
      dv.setUint32(c + SCAN_CTX.pack, pack.start, true);
      dv.setUint32(c + SCAN_CTX.packEnd, pack.start + pack.size, true);
      dv.setUint32(c + SCAN_CTX.snaplen, pcapOut!.snaplen, true);
    }
    d.engine.run(this.args, d.exec);
    const count = dv.getUint32(c + SCAN_CTX.count, true);
    const found = dv.getUint32(c + SCAN_CTX.accepted, true);
    const consumed = dv.getUint32(c + SCAN_CTX.consumed, true);
    const status = dv.getUint32(c + SCAN_CTX.status, true);
    const packedAt = (n: number): Uint8Array => mem.u8.subarray(pack!.start, pack!.start + n);
    const onAccept = this.options.onAccept;
    if (onAccept !== undefined) {
      const le = !d.bigEndian;
      const buf = parser.buffer;
      const bv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const acc = this.acc;
      acc.linkType = d.linkType;
      const u32 = new Uint32Array(mem.wasm.buffer, this.out.start, found * (SCAN_OUT_RECORD >> 2));
      for (let j = 0; j < found; j++) {
        const e = j * (SCAN_OUT_RECORD >> 2);
        const h = start + u32[e + 1]!;
        accepted++;
        acc.result = u32[e]!;
        acc.index = packets + u32[e + 2]!;
        acc.offset = h + 28;
        acc.caplen = bv.getUint32(h + 20, le);
        acc.wireLen = bv.getUint32(h + 24, le);
        setTimestamp(acc, bv.getUint32(h + 12, le), bv.getUint32(h + 16, le), parser.interfaces[bv.getUint32(h + 8, le)]!);
        if (onAccept(acc) === false) {
          if (pcapOut !== undefined && u32[e + 3]! > 0) pcapOut.write(packedAt(u32[e + 3]!), d.linkType);
          return { packets: acc.index + 1, accepted, stopped: true, status };
        }
      }
    } else {
      accepted += found;
    }
    const packed = pack === undefined ? 0 : dv.getUint32(c + SCAN_CTX.packed, true);
    if (packed > 0) pcapOut!.write(packedAt(packed), d.linkType);
    parser.skip(consumed);
    // Full before the first block: it would be full again, forever (cannot happen, see the pack size).
    if (status === SCAN_STATUS.FULL && count === 0) throw new Error('cbpf scan: the pcapng driver made no progress');
    return { packets: packets + count, accepted, stopped: false, status };
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
