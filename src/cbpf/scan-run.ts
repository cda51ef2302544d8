// Running the scan driver (scan-driver.ts) over a capture's buffer for
// scanCapture: scanPcap for pcap files, PcapngRunner for the enhanced packet
// blocks of pcapng files. JS sees only the accepted packets: onAccept gets
// them from the driver's output array, pcapOut the records it packed.

import { CaptureParser, type InterfaceInfo } from '../pcap/parser.js';
import { linkTypeInfo } from '../pcap/linktype.js';
import type { Vm } from '../vm/vm.js';
import type { Region } from '../vm/memory.js';
import { hasEngine, trustProgram } from '../vm/engines.js';
import type { Engine, ExecOptions } from '../vm/types.js';
import type { ClassicProgram } from './insn.js';
import { SCAN_CTX, SCAN_CTX_SIZE, SCAN_OUT_RECORD, SCAN_STATUS, translateScanDriver } from './scan-driver.js';
import { AcceptedView, type ScanOptions, type ScanResult } from './scan-types.js';

/** pcap through the scan driver: one engine call per buffer of records; JS sees only accepted packets. */
export function scanPcap(
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
    const onAccept = options.onAccept;
    const buf = parser.buffer; // a fixed buffer: never replaced
    const acc = new AcceptedView(buf);
    acc.linkType = linkType;
    const out32 = new Uint32Array(mem.wasm.buffer, out.start, maxOut * (SCAN_OUT_RECORD >> 2));
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
            accepted++;
            fromCursor(acc, parser, start + out32[e + 1]!, out32[e]!, packets + out32[e + 2]!);
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
          // The parser's own error for that record.
          parser.packetAt(parser.unreadOffset);
          throw new Error('cbpf scan: the driver and the parser disagree about a timestamp');
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

/** acc = the accepted packet whose record the driver listed at `at`, decoded by the parser (one layout in JS). */
function fromCursor(acc: AcceptedView, parser: CaptureParser, at: number, result: number, index: number): void {
  parser.packetAt(at);
  acc.offset = parser.offset;
  acc.caplen = parser.caplen;
  acc.wireLen = parser.wireLen;
  acc.tsSec = parser.tsSec;
  acc.tsNsec = parser.tsNsec;
  acc.linkType = parser.linkType;
  acc.result = result;
  acc.index = index;
}

/** The running counts of a scan, updated in place by PcapngRunner.run. */
export interface ScanCounts {
  packets: number;
  accepted: number;
  /** onAccept returned false. */
  stopped: boolean;
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
export class PcapngRunner {
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

  /**
   * Use the driver for interface `id`'s kind of packets from now on (none if
   * it cannot take them). True when that compiled a driver (the memory may have grown).
   */
  follow(id: number): boolean {
    const iface = this.parser.interfaces[id];
    if (iface === undefined || id >= 32 || !this.eligible(iface)) {
      this.current = undefined;
      return false;
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
      this.current = d;
      return true;
    }
    this.current = d;
    return false;
  }

  /** Interfaces (< 32) of the current section the driver takes. */
  private mask(d: NgDriver): number {
    if (this.parser.bigEndian !== d.bigEndian) return 0;
    const ifaces = this.parser.interfaces;
    let m = 0;
    for (let id = 0; id < ifaces.length && id < 32; id++) {
      const i = ifaces[id]!;
      if (i.linkType === d.linkType && i.tsResolution.exp === d.decimals && this.eligible(i)) m |= 1 << id;
    }
    return m >>> 0;
  }

  /**
   * Run the current driver from the parser's unread offset, deliver what it
   * accepted, and consume what it read. Updates `counts` (one object for the
   * whole scan: a driver call may come per packet) and returns the driver's status.
   */
  run(counts: ScanCounts): number {
    let packets = counts.packets;
    let accepted = counts.accepted;
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
    const onAccept = this.options.onAccept;
    if (onAccept !== undefined) {
      const acc = this.acc;
      const u32 = new Uint32Array(mem.wasm.buffer, this.out.start, found * (SCAN_OUT_RECORD >> 2));
      for (let j = 0; j < found; j++) {
        const e = j * (SCAN_OUT_RECORD >> 2);
        accepted++;
        fromCursor(acc, parser, start + u32[e + 1]!, u32[e]!, packets + u32[e + 2]!);
        if (onAccept(acc) === false) {
          if (pack !== undefined && u32[e + 3]! > 0) pcapOut!.write(mem.u8.subarray(pack.start, pack.start + u32[e + 3]!), d.linkType);
          counts.packets = acc.index + 1;
          counts.accepted = accepted;
          counts.stopped = true;
          return status;
        }
      }
    } else {
      accepted += found;
    }
    const packed = pack === undefined ? 0 : dv.getUint32(c + SCAN_CTX.packed, true);
    if (packed > 0) pcapOut!.write(mem.u8.subarray(pack!.start, pack!.start + packed), d.linkType);
    parser.skip(consumed);
    // Full before the first block: it would be full again, forever (cannot happen, see the pack size).
    if (status === SCAN_STATUS.FULL && count === 0) throw new Error('cbpf scan: the pcapng driver made no progress');
    packets += count;
    counts.packets = packets;
    counts.accepted = accepted;
    return status;
  }
}
