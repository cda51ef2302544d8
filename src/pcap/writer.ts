// Writing captures: pcap (either byte order, micro- or nanosecond) and
// pcapng (one section, any number of interfaces with their own link types).
// Records are collected in one buffer and handed to a sink in large chunks.

import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from '../internal/errors.js';

/** Where written bytes go. write() may keep no reference to the chunk after it returns. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
  close?(): void;
}

/** A sink writing to a file path (created or truncated) or an open file descriptor (e.g. 1 for stdout). */
export function fileSink(file: string | number): ByteSink {
  const fd = typeof file === 'number' ? file : openSync(file, 'w');
  return {
    write(chunk) {
      let off = 0;
      while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
    },
    close() {
      if (typeof file === 'string') closeSync(fd);
    },
  };
}

/** A sink collecting everything in memory (tests, small captures). */
export class MemorySink implements ByteSink {
  private parts: Uint8Array[] = [];
  write(chunk: Uint8Array): void {
    this.parts.push(chunk.slice());
  }
  bytes(): Uint8Array {
    const n = this.parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** What a writer needs of a packet; a PacketRecord from the reader fits. */
export interface PacketToWrite {
  data: Uint8Array;
  /** Default data.length. */
  wireLen?: number;
  tsSec?: number;
  tsNsec?: number;
  /** pcapng: interface index (default 0). */
  interfaceId?: number;
}

const FLUSH_AT = 1 << 20;
/** Runs of ready-made records at least this long skip the buffer (PcapWriter.writeRecords). */
const DIRECT_WRITE = 1 << 16;

/** Buffered little/big-endian output shared by both writers. */
class Out {
  buf = new Uint8Array(FLUSH_AT + 65536);
  dv = new DataView(this.buf.buffer);
  pos = 0;
  constructor(
    private readonly sink: ByteSink,
    private readonly le: boolean,
  ) {}
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.buf = new Uint8Array(n);
        this.dv = new DataView(this.buf.buffer);
      }
    }
  }
  u16(v: number): void {
    this.dv.setUint16(this.pos, v, this.le);
    this.pos += 2;
  }
  u32(v: number): void {
    this.dv.setUint32(this.pos, v >>> 0, this.le);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  pad4(): void {
    while (this.pos & 3) this.buf[this.pos++] = 0;
  }
  flush(): void {
    if (this.pos > 0) this.sink.write(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }
  maybeFlush(): void {
    if (this.pos >= FLUSH_AT) this.flush();
  }
}

function checkTime(sec: number, nsec: number): void {
  if (!Number.isInteger(sec) || sec < 0 || sec >= 2 ** 32) throw new UsageError(`timestamp seconds ${sec} out of range (0..2^32-1)`);
  if (!Number.isInteger(nsec) || nsec < 0 || nsec >= 1e9) throw new UsageError(`timestamp nanoseconds ${nsec} out of range`);
}

export interface PcapWriterOptions {
  linkType: number;
  /** Default 262144. */
  snaplen?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d); default microseconds. */
  nanosecond?: boolean;
  bigEndian?: boolean;
}

/** A classic pcap file. */
export class PcapWriter {
  private readonly out: Out;
  private readonly nano: boolean;
  private readonly snaplen: number;

  constructor(
    private readonly sink: ByteSink,
    options: PcapWriterOptions,
  ) {
    this.out = new Out(sink, !options.bigEndian);
    this.nano = options.nanosecond ?? false;
    this.snaplen = options.snaplen ?? 262144;
    const o = this.out;
    o.reserve(24);
    o.u32(this.nano ? 0xa1b23c4d : 0xa1b2c3d4);
    o.u16(2);
    o.u16(4);
    o.u32(0); // thiszone
    o.u32(0); // sigfigs
    o.u32(this.snaplen);
    o.u32(options.linkType);
  }

  write(p: PacketToWrite): void {
    const sec = p.tsSec ?? 0;
    const nsec = p.tsNsec ?? 0;
    checkTime(sec, nsec);
    const data = p.data.length > this.snaplen ? p.data.subarray(0, this.snaplen) : p.data;
    const o = this.out;
    o.reserve(16 + data.length);
    o.u32(sec);
    o.u32(this.nano ? nsec : Math.floor(nsec / 1000));
    o.u32(data.length);
    o.u32(p.wireLen ?? p.data.length);
    o.bytes(data);
    o.maybeFlush();
  }

  /**
   * Append records that are already in this file's format (16-byte headers
   * in its byte order and time unit, each packet at most snaplen bytes), as
   * scanCapture's pcapOut produces them: one copy or one write, however many
   * records. Large runs go to the sink directly.
   */
  writeRecords(records: Uint8Array): void {
    const o = this.out;
    if (records.length >= DIRECT_WRITE) {
      o.flush();
      this.sink.write(records);
      return;
    }
    o.reserve(records.length);
    o.bytes(records);
    o.maybeFlush();
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.flush();
    this.sink.close?.();
  }
}

export interface PcapngInterface {
  linkType: number;
  /** Default 262144. */
  snaplen?: number;
  /** Timestamp resolution as a power of ten: 6 (microseconds, the default) or 9 (nanoseconds), 0..9. */
  tsDecimals?: number;
  name?: string;
}

/** A pcapng file with one section. */
export class PcapngWriter {
  private readonly out: Out;
  private readonly ifaces: { decimals: number; snaplen: number }[] = [];

  constructor(
    private readonly sink: ByteSink,
    options: { bigEndian?: boolean; interfaces?: readonly PcapngInterface[] } = {},
  ) {
    this.out = new Out(sink, !options.bigEndian);
    const o = this.out;
    o.reserve(28);
    o.u32(0x0a0d0d0a);
    o.u32(28);
    o.u32(0x1a2b3c4d);
    o.u16(1);
    o.u16(0);
    o.u32(0xffffffff); // section length unknown (-1)
    o.u32(0xffffffff);
    o.u32(28);
    for (const i of options.interfaces ?? []) this.addInterface(i);
  }

  /** Describe an interface; returns its index for write(). */
  addInterface(iface: PcapngInterface): number {
    const decimals = iface.tsDecimals ?? 6;
    if (!Number.isInteger(decimals) || decimals < 0 || decimals > 9) throw new UsageError(`tsDecimals ${decimals} out of range (0..9)`);
    const snaplen = iface.snaplen ?? 262144;
    const name = iface.name === undefined ? undefined : new TextEncoder().encode(iface.name);
    let opts = 0;
    if (decimals !== 6) opts += 8;
    if (name) opts += 4 + ((name.length + 3) & ~3);
    if (opts > 0) opts += 4; // opt_endofopt
    const len = 20 + opts;
    const o = this.out;
    o.reserve(len);
    o.u32(1);
    o.u32(len);
    o.u16(iface.linkType);
    o.u16(0);
    o.u32(snaplen);
    if (decimals !== 6) {
      o.u16(9);
      o.u16(1);
      o.buf[o.pos++] = decimals;
      o.pad4();
    }
    if (name) {
      o.u16(2);
      o.u16(name.length);
      o.bytes(name);
      o.pad4();
    }
    if (opts > 0) o.u32(0);
    o.u32(len);
    this.ifaces.push({ decimals, snaplen });
    return this.ifaces.length - 1;
  }

  write(p: PacketToWrite): void {
    const id = p.interfaceId ?? 0;
    const iface = this.ifaces[id];
    if (iface === undefined) throw new UsageError(`pcapng: no interface ${id} (have ${this.ifaces.length}); call addInterface first`);
    const sec = p.tsSec ?? 0;
    const nsec = p.tsNsec ?? 0;
    checkTime(sec, nsec);
    const data = p.data.length > iface.snaplen ? p.data.subarray(0, iface.snaplen) : p.data;
    // units = sec * 10^d + frac, split into 32-bit halves exactly (16-bit limbs keep every product below 2^53)
    const d = 10 ** iface.decimals;
    const frac = Math.floor(nsec / 10 ** (9 - iface.decimals));
    const p1 = (sec % 65536) * d + frac;
    const p2 = Math.floor(sec / 65536) * d;
    const t = p1 + (p2 % 65536) * 65536;
    const lo = t % 4294967296;
    const hi = Math.floor(p2 / 65536) + Math.floor(t / 4294967296);
    const len = 32 + ((data.length + 3) & ~3);
    const o = this.out;
    o.reserve(len);
    o.u32(6);
    o.u32(len);
    o.u32(id);
    o.u32(hi);
    o.u32(lo);
    o.u32(data.length);
    o.u32(p.wireLen ?? p.data.length);
    o.bytes(data);
    o.pad4();
    o.u32(len);
    o.maybeFlush();
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.flush();
    this.sink.close?.();
  }
}
