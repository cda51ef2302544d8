// The public shapes of a capture scan (scanCapture) and the one reused
// AcceptedPacket, shared by the per-packet path (scan-capture.ts) and the
// scan-driver runners (scan-run.ts).

import type { Vm } from '../vm/vm.js';
import type { TranslateOptions } from './translate.js';

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
export class AcceptedView implements AcceptedPacket {
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

