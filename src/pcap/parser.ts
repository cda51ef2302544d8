// A push parser for capture files: pcap (both byte orders, micro- and
// nanosecond magic) and pcapng (section header, interface description,
// enhanced, simple and obsolete packet blocks; other blocks are skipped).
// Bytes go in with push() in chunks of any size; next() returns the next
// complete packet or undefined when it needs more input. Memory stays
// bounded by the largest block, whatever the size of the file.
//
// A record's `data` is a view into the parser's buffer: it stays valid until
// the next push(). Copy it (data.slice()) to keep it longer.
//
// For scanning millions of packets there is also a cursor that allocates
// nothing: nextPacket() returns true and sets `offset`, `caplen`, `wireLen`,
// `tsSec`, `tsNsec`, `linkType` and `interfaceId`, with the bytes at
// buffer[offset, offset + caplen). fill() reads straight into the buffer,
// which the caller may provide (e.g. a region of the VM's memory, so packets
// are filtered where they were read, without a copy).

import { CaptureError } from './errors.js';
import { UsageError } from '../internal/errors.js';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface PacketRecord {
  /** Captured bytes (a view; see the note above). */
  data: Uint8Array;
  /** Length of the packet on the wire (>= data.length when the capture was truncated). */
  wireLen: number;
  /** Timestamp: whole seconds since the epoch and nanoseconds within the second. */
  tsSec: number;
  tsNsec: number;
  linkType: number;
  /** pcapng interface index within its section (0 for pcap). */
  interfaceId: number;
}

export interface InterfaceInfo {
  readonly linkType: number;
  readonly snaplen: number;
  /** Timestamp units per second as a power: 10^-6 is { base: 10, exp: 6 }. */
  readonly tsResolution: { readonly base: 2 | 10; readonly exp: number };
  /** pcapng if_tsoffset, seconds added to every timestamp. */
  readonly tsOffset: number;
  readonly name?: string;
}

export interface CaptureParserOptions {
  /** File name for error messages. */
  file?: string;
  /** Largest packet or block accepted, in bytes (default 64 MiB): protects against corrupt lengths. */
  maxBlock?: number;
  /**
   * A fixed buffer to parse in (default: a private one that grows). The
   * parser never replaces it; a block larger than it is an error.
   */
  buffer?: Uint8Array;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const OPT_END = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const TWO32 = 4294967296;
// Results of nextBlock().
const PACKET = 1;
const NEED_MORE = 0;
const NOT_A_PACKET = -1;

export class CaptureParser {
  private buf: Uint8Array;
  private dv: DataView;
  private readonly fixed: boolean;
  private start = 0;
  private end = 0;
  /** Stream offset of buf[0], for error messages. */
  private base = 0;
  private le = true;
  private fmt: CaptureFormat | undefined;
  private pcapNano = false;
  private pcapLinkType = 0;
  private ifaces: InterfaceInfo[] = [];
  private readonly file: string | undefined;
  private readonly maxBlock: number;

  // ---- the cursor: the packet found by the last nextPacket() (read only) ----
  /** Offset of the packet's first byte in `buffer`. */
  offset = 0;
  caplen = 0;
  wireLen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  interfaceId = 0;

  constructor(options: CaptureParserOptions = {}) {
    this.file = options.file;
    this.fixed = options.buffer !== undefined;
    this.buf = options.buffer ?? new Uint8Array(1 << 16);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.maxBlock = Math.min(options.maxBlock ?? 64 * 1024 * 1024, this.fixed ? this.buf.length : Infinity);
  }

  /** The buffer the cursor's `offset` refers to (replaced when a private buffer grows). */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** The format, once the first bytes have been seen. */
  get format(): CaptureFormat | undefined {
    return this.fmt;
  }
  /** Byte order of the file (of the current section for pcapng). */
  get bigEndian(): boolean {
    return !this.le;
  }
  /** pcap only: nanosecond timestamps (magic 0xa1b23c4d). */
  get nanosecond(): boolean {
    return this.pcapNano;
  }
  /** Interfaces of the current section (pcap: the one link type of the file). */
  get interfaces(): readonly InterfaceInfo[] {
    return this.ifaces;
  }

  /** Bytes of buffer the parser holds (for checking that memory stays bounded). */
  get capacity(): number {
    return this.buf.length;
  }

  /** Add input bytes. Invalidates the data views of records returned so far. */
  push(chunk: Uint8Array): void {
    this.makeRoom(chunk.length);
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /**
   * Read input straight into the buffer: `read(buffer, offset, length)`
   * writes up to `length` bytes at `offset` and returns how many (0 at the
   * end of input), like fs.readSync. Returns that count. Invalidates the
   * cursor and earlier records, like push().
   */
  fill(read: (buffer: Uint8Array, offset: number, length: number) => number, want = 1 << 20): number {
    this.makeRoom(this.fixed ? 0 : want);
    const room = this.buf.length - this.end;
    if (room === 0) throw this.error(`a block does not fit in the ${this.buf.length}-byte parse buffer`);
    const n = read(this.buf, this.end, Math.min(room, want));
    this.end += n;
    return n;
  }

  /** Move the unread bytes to the front, growing a private buffer if `need` more bytes do not fit. */
  private makeRoom(need: number): void {
    const have = this.end - this.start;
    if (this.end + need <= this.buf.length && !(this.fixed && this.start > 0)) return;
    if (have + need <= this.buf.length) {
      this.buf.copyWithin(0, this.start, this.end);
    } else if (this.fixed) {
      throw this.error(`${have + need} bytes do not fit in the ${this.buf.length}-byte parse buffer`);
    } else {
      let cap = this.buf.length;
      while (cap < have + need) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(this.start, this.end));
      this.buf = nb;
      this.dv = new DataView(nb.buffer);
    }
    this.base += this.start;
    this.start = 0;
    this.end = have;
  }

  /** The next packet, or undefined when more input is needed. Throws CaptureError on malformed input. */
  next(): PacketRecord | undefined {
    if (!this.nextPacket()) return undefined;
    return {
      data: this.buf.subarray(this.offset, this.offset + this.caplen),
      wireLen: this.wireLen,
      tsSec: this.tsSec,
      tsNsec: this.tsNsec,
      linkType: this.linkType,
      interfaceId: this.interfaceId,
    };
  }

  /** Parse the file header if that has not happened yet; false when more input is needed. */
  header(): boolean {
    return this.fmt !== undefined || this.readFileHeader();
  }

  /** Offset in `buffer` of the first byte not parsed yet. */
  get unreadOffset(): number {
    return this.start;
  }

  /** Bytes in the buffer from unreadOffset on. */
  get unreadLength(): number {
    return this.end - this.start;
  }

  /**
   * Consume n bytes of whole pcap records that the caller parsed itself
   * (e.g. a batch filter running over the buffer). Only after the header.
   */
  skip(n: number): void {
    if (this.fmt === undefined || !Number.isInteger(n) || n < 0 || n > this.end - this.start) {
      throw new UsageError(`CaptureParser.skip(${n}): ${this.fmt === undefined ? 'the header has not been parsed' : `only ${this.end - this.start} bytes are buffered`}`);
    }
    this.start += n;
  }

  /**
   * Continue at another place of the stream: the bytes filled or pushed
   * from now on start at stream offset `streamOffset` (for a reader that
   * takes the records of a file from the middle on, after giving the parser
   * the file header). Only after the header, with nothing unread buffered.
   * Error offsets count from there as they would for the whole file.
   */
  restartAt(streamOffset: number): void {
    if (this.fmt === undefined || this.end !== this.start || !Number.isSafeInteger(streamOffset) || streamOffset < 0) {
      throw new UsageError(`CaptureParser.restartAt(${streamOffset}): ${this.fmt === undefined ? 'the header has not been parsed' : this.end !== this.start ? `${this.end - this.start} bytes are still unread` : 'not a stream offset'}`);
    }
    this.start = 0;
    this.end = 0;
    this.base = streamOffset;
  }

  /** Advance the cursor to the next packet; false when more input is needed. Allocates nothing. */
  nextPacket(): boolean {
    for (;;) {
      if (this.fmt === undefined && !this.readFileHeader()) return false;
      if (this.fmt === 'pcap') return this.nextPcap();
      const r = this.nextBlock();
      if (r !== NOT_A_PACKET) return r === PACKET;
    }
  }

  /** Call at the end of input: throws if a partial header or record is left over. */
  finish(): void {
    const left = this.end - this.start;
    if (this.fmt === undefined) throw this.error(left === 0 ? 'empty file' : `file too short for a capture header (${left} bytes)`);
    if (left !== 0) throw this.error(`truncated ${this.fmt === 'pcap' ? 'packet record' : 'block'}: ${left} bytes left at the end of the file`);
  }

  /**
   * A CaptureError about the bytes at `at` in `buffer` (for callers that
   * parse records themselves, e.g. a scan over the buffer), with the stream
   * offset and file name the parser's own errors carry.
   */
  errorAt(reason: string, at: number): CaptureError {
    return this.error(reason, at);
  }

  private error(reason: string, at = this.start): CaptureError {
    return new CaptureError(reason, this.base + at, this.file);
  }

  private u16(p: number): number {
    return this.dv.getUint16(p, this.le);
  }
  private u32(p: number): number {
    return this.dv.getUint32(p, this.le);
  }

  // ---- file header ------------------------------------------------------------------
  private readFileHeader(): boolean {
    if (this.end - this.start < 4) return false;
    const p = this.start;
    const magicBE = this.dv.getUint32(p, false);
    const magicLE = this.dv.getUint32(p, true);
    if (magicBE === PCAPNG_SHB) {
      this.fmt = 'pcapng';
      return true;
    }
    let nano: boolean;
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) {
      this.le = true;
      nano = magicLE === PCAP_MAGIC_NS;
    } else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) {
      this.le = false;
      nano = magicBE === PCAP_MAGIC_NS;
    } else if (magicLE === PCAP_MAGIC_MODIFIED || magicBE === PCAP_MAGIC_MODIFIED) {
      throw this.error('modified (Kuznetzov) pcap format is not supported');
    } else {
      throw this.error(`not a pcap or pcapng file (magic 0x${magicBE.toString(16).padStart(8, '0')})`);
    }
    if (this.end - p < 24) return false;
    const major = this.u16(p + 4);
    if (major !== 2) throw this.error(`unsupported pcap version ${major}.${this.u16(p + 6)}`);
    this.pcapNano = nano;
    const snaplen = this.u32(p + 16);
    this.pcapLinkType = this.u32(p + 20) & 0xffff;
    this.ifaces = [{ linkType: this.pcapLinkType, snaplen, tsResolution: { base: 10, exp: nano ? 9 : 6 }, tsOffset: 0 }];
    this.fmt = 'pcap';
    this.start += 24;
    return true;
  }

  // ---- pcap --------------------------------------------------------------------------
  private nextPcap(): boolean {
    const p = this.start;
    if (this.end - p < 16) return false;
    const incl = this.u32(p + 8);
    if (incl > this.maxBlock) throw this.error(`packet record claims ${incl} captured bytes (limit ${this.maxBlock}); the file is corrupt`);
    if (this.end - p < 16 + incl) return false;
    this.pcapRecordAt(p);
    this.start = p + 16 + incl;
    return true;
  }

  /** The cursor from the (whole) pcap record at p. */
  private pcapRecordAt(p: number): void {
    const frac = this.u32(p + 4);
    if (frac >= (this.pcapNano ? 1e9 : 1e6)) throw this.error(`timestamp fraction ${frac} out of range for ${this.pcapNano ? 'nano' : 'micro'}second pcap`, p);
    this.offset = p + 16;
    this.caplen = this.u32(p + 8);
    this.wireLen = this.u32(p + 12);
    this.tsSec = this.u32(p);
    this.tsNsec = this.pcapNano ? frac : frac * 1000;
    this.linkType = this.pcapLinkType;
    this.interfaceId = 0;
  }

  /**
   * Set the cursor from the pcap record, or pcapng (enhanced) packet block,
   * that starts at `at` in the buffer, without moving the read position:
   * for callers that walk the buffer themselves (the scan driver lists the
   * packets it accepted by offset). The record must lie whole in the
   * buffer; a bad one throws what nextPacket() would.
   */
  packetAt(at: number): void {
    if (this.fmt === 'pcap') {
      this.pcapRecordAt(at);
      return;
    }
    const type = this.u32(at);
    if (this.fmt !== 'pcapng' || (type !== BT_EPB && type !== BT_PB)) throw new UsageError(`CaptureParser.packetAt(${at}): not a packet record or block`);
    this.packetBlockAt(at, type, this.u32(at + 4));
  }

  // ---- pcapng -------------------------------------------------------------------------
  /** PACKET (the cursor is set), NEED_MORE, or NOT_A_PACKET (another block was consumed). */
  private nextBlock(): number {
    const p = this.start;
    const avail = this.end - p;
    if (avail < 8) return NEED_MORE;
    const typeBE = this.dv.getUint32(p, false);
    if (typeBE === PCAPNG_SHB) {
      if (avail < 12) return NEED_MORE;
      const bom = this.dv.getUint32(p + 8, true);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (this.dv.getUint32(p + 8, false) === PCAPNG_BOM) this.le = false;
      else throw this.error(`section header block with bad byte-order magic 0x${bom.toString(16)}`);
    }
    const type = this.u32(p);
    const len = this.u32(p + 4);
    if (len < 12 || len % 4 !== 0) throw this.error(`block of type 0x${type.toString(16)} has invalid length ${len}`);
    if (len > this.maxBlock) throw this.error(`block of type 0x${type.toString(16)} claims ${len} bytes (limit ${this.maxBlock}); the file is corrupt`);
    if (avail < len) return NEED_MORE;
    if (this.u32(p + len - 4) !== len) throw this.error(`block of type 0x${type.toString(16)}: trailing length ${this.u32(p + len - 4)} differs from leading length ${len}`);
    this.start = p + len;
    const body = len - 12;
    switch (type) {
      case PCAPNG_SHB: {
        if (body < 16) throw this.error('section header block too short', p);
        const major = this.u16(p + 12);
        if (major !== 1) throw this.error(`unsupported pcapng version ${major}.${this.u16(p + 14)}`, p);
        this.ifaces = [];
        return NOT_A_PACKET;
      }
      case BT_IDB:
        if (body < 8) throw this.error('interface description block too short', p);
        this.ifaces.push(this.readIdb(p, len));
        return NOT_A_PACKET;
      case BT_EPB:
      case BT_PB:
        if (body < 20) throw this.error('packet block too short', p);
        this.packetBlockAt(p, type, len);
        return PACKET;
      case BT_SPB: {
        if (body < 4) throw this.error('simple packet block too short', p);
        const iface = this.iface(0, p);
        const wire = this.u32(p + 8);
        let cap = Math.min(wire, len - 16);
        if (iface.snaplen > 0) cap = Math.min(cap, iface.snaplen);
        this.offset = p + 12;
        this.caplen = cap;
        this.wireLen = wire;
        this.tsSec = 0;
        this.tsNsec = 0;
        this.linkType = iface.linkType;
        this.interfaceId = 0;
        return PACKET;
      }
      default:
        return NOT_A_PACKET; // name resolution, statistics, decryption secrets, custom: not needed to read packets
    }
  }

  /** The cursor from the (whole) enhanced or obsolete packet block at p, of `len` bytes. */
  private packetBlockAt(p: number, type: number, len: number): void {
    const ifid = type === BT_EPB ? this.u32(p + 8) : this.u16(p + 8);
    const cap = this.u32(p + 20);
    if (28 + cap > len - 4) throw this.error(`packet block: captured length ${cap} exceeds the block (${len} bytes)`, p);
    const iface = this.iface(ifid, p);
    this.offset = p + 28;
    this.caplen = cap;
    this.wireLen = this.u32(p + 24);
    this.linkType = iface.linkType;
    this.interfaceId = ifid;
    setTimestamp(this, this.u32(p + 12), this.u32(p + 16), iface);
  }

  private iface(id: number, at: number): InterfaceInfo {
    const i = this.ifaces[id];
    if (i === undefined) throw this.error(`packet refers to interface ${id}, but the section describes ${this.ifaces.length}`, at);
    return i;
  }

  private readIdb(p: number, len: number): InterfaceInfo {
    const linkType = this.u16(p + 8);
    const snaplen = this.u32(p + 12);
    let tsResolution: InterfaceInfo['tsResolution'] = { base: 10, exp: 6 };
    let tsOffset = 0;
    let name: string | undefined;
    let q = p + 16;
    const optEnd = p + len - 4;
    while (q + 4 <= optEnd) {
      const code = this.u16(q);
      const olen = this.u16(q + 2);
      const v = q + 4;
      if (v + olen > optEnd) throw this.error(`interface option ${code} overruns its block`, q);
      if (code === OPT_END) break;
      if (code === OPT_IF_TSRESOL && olen >= 1) {
        const r = this.buf[v]!;
        tsResolution = r & 0x80 ? { base: 2, exp: r & 0x7f } : { base: 10, exp: r };
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const lo = this.u32(v + (this.le ? 0 : 4));
        const hi = this.dv.getInt32(v + (this.le ? 4 : 0), this.le);
        tsOffset = hi * TWO32 + lo;
      } else if (code === OPT_IF_NAME) {
        name = new TextDecoder().decode(this.buf.subarray(v, v + olen)).replace(/\0+$/, '');
      }
      q = v + ((olen + 3) & ~3);
    }
    return name === undefined ? { linkType, snaplen, tsResolution, tsOffset } : { linkType, snaplen, tsResolution, tsOffset, name };
  }
}

/** 10^0 .. 10^9, so no Math.pow per packet. */
const POW10: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * Split a 64-bit pcapng timestamp (hi, lo) in units of the interface's
 * resolution into seconds and nanoseconds. The common decimal resolutions
 * (up to 10^-9) use exact double arithmetic on 16-bit limbs (remainders as
 * a - q * d: `%` on doubles is a slow fmod call, and this runs per packet);
 * others take BigInt, which is exact and rare.
 */
export function setTimestamp(rec: { tsSec: number; tsNsec: number }, hi: number, lo: number, iface: InterfaceInfo): void {
  const res = iface.tsResolution;
  const exp = res.exp;
  if (res.base === 10 && exp <= 9) {
    const d = POW10[exp]!;
    const hq = Math.floor(hi / d);
    const x = (hi - hq * d) * 65536 + (lo >>> 16);
    const xq = Math.floor(x / d);
    const y = (x - xq * d) * 65536 + (lo & 0xffff);
    const yq = Math.floor(y / d);
    rec.tsSec = hq * TWO32 + xq * 65536 + yq + iface.tsOffset;
    rec.tsNsec = (y - yq * d) * POW10[9 - exp]!;
    return;
  }
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const units = res.base === 10 ? 10n ** BigInt(exp) : 1n << BigInt(exp);
  rec.tsSec = Number(t / units) + iface.tsOffset;
  rec.tsNsec = Number(((t % units) * 1_000_000_000n) / units);
}
