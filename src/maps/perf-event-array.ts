// perf_event_array: per-CPU event buffers that bpf_perf_event_output writes
// samples into and user space reads, like libbpf's perf_buffer. In the kernel
// each slot holds a perf event fd; here `open(index)` attaches a reader-side
// buffer to a slot (usually one per CPU). The buffers belong to user space,
// not to programs, so they live in JavaScript; a full buffer drops the sample
// and counts it as lost (the kernel's PERF_RECORD_LOST).

import { BpfMap, type MapHost } from './base.js';
import { E2BIG, EINVAL, ENOENT, ENOSPC, EOPNOTSUPP } from './errno.js';
import type { ResolvedSpec } from './spec.js';

/** flags & BPF_F_INDEX_MASK selects the slot; BPF_F_CURRENT_CPU selects the caller's CPU. */
export const BPF_F_INDEX_MASK = 0xffffffff;
export const BPF_F_CURRENT_CPU = 0xffffffff;

export type PerfRecord = { cpu: number; data: Uint8Array; lost?: undefined } | { cpu: number; lost: number; data?: undefined };

interface PerfBuffer {
  capacity: number;
  used: number;
  records: PerfRecord[];
  lostPending: number;
  lost: number;
}

/** Bytes a sample occupies in a perf ring: header + u32 size + data, 8-byte aligned. */
const recordBytes = (size: number): number => 8 + ((size + 4 + 7) & ~7);

export class PerfEventArrayMap extends BpfMap {
  private readonly buffers: (PerfBuffer | undefined)[];
  private waiters: (() => void)[] = [];

  constructor(host: MapHost, spec: ResolvedSpec, id: number) {
    super(host, spec, id);
    this.buffers = new Array<PerfBuffer | undefined>(spec.maxEntries);
  }

  /** Attach a buffer of `bytes` (default 64 KiB, like 16 pages) to slot `index`. */
  open(index: number, bytes = 65536): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) throw this.error(E2BIG, 'open', `index ${index} out of range 0..${this.maxEntries - 1}`);
    this.buffers[index] = { capacity: bytes, used: 0, records: [], lostPending: 0, lost: 0 };
  }

  /** Attach buffers to every slot (one per CPU, as libbpf's perf_buffer__new does). */
  openAll(bytes = 65536): void {
    for (let i = 0; i < this.maxEntries; i++) this.open(i, bytes);
  }

  /** Detach slot `index`'s buffer; outputs to it then fail with ENOENT. */
  closeSlot(index: number): void {
    this.buffers[index] = undefined;
  }

  /** Samples lost on slot `index` so far. */
  lost(index: number): number {
    return this.buffers[index]?.lost ?? 0;
  }

  /**
   * bpf_perf_event_output's work: `index` is flags & BPF_F_INDEX_MASK (the
   * caller resolves BPF_F_CURRENT_CPU to `cpu`). Returns 0 or a negative errno.
   */
  output(index: number, cpu: number, src: number, size: number): number {
    if (index >= this.maxEntries) return -E2BIG;
    const b = this.buffers[index];
    if (b === undefined) return -ENOENT;
    if (index !== cpu && this.host.cpus > 1 && index < this.host.cpus) return -EOPNOTSUPP; // event bound to another CPU
    const need = recordBytes(size);
    if (b.used + need > b.capacity) {
      b.lostPending++;
      b.lost++;
      return -ENOSPC;
    }
    if (b.lostPending > 0) {
      b.records.push({ cpu: index, lost: b.lostPending });
      b.lostPending = 0;
    }
    b.used += need;
    b.records.push({ cpu: index, data: this.mem.u8.slice(src, src + size) });
    this.wake();
    return 0;
  }

  /** Drain every buffer: samples and lost-sample notices, per slot in order. */
  read(): PerfRecord[] {
    const out: PerfRecord[] = [];
    for (let i = 0; i < this.buffers.length; i++) {
      const b = this.buffers[i];
      if (b === undefined) continue;
      for (const r of b.records) out.push(r);
      if (b.lostPending > 0) out.push({ cpu: i, lost: b.lostPending });
      b.records = [];
      b.used = 0;
      b.lostPending = 0;
    }
    return out;
  }

  /** Records as they arrive; ends when `signal` aborts. */
  async *events(signal?: AbortSignal): AsyncIterableIterator<PerfRecord> {
    while (!signal?.aborted) {
      for (const r of this.read()) yield r;
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  override updateAt(): number {
    return -EINVAL; // slots are attached with open()
  }

  override *keys(): IterableIterator<Uint8Array> {}

  protected freeData(): void {
    this.buffers.fill(undefined);
  }
}
