// The trace pipe: where bpf_trace_printk's messages go, and what user space
// reads, like /sys/kernel/tracing/trace_pipe. Reading drains it. It holds at
// most `capacity` messages; when full the oldest is overwritten and counted
// in `overruns`, as the kernel's ring buffer does in overwrite mode.

export interface TraceEntry {
  /** Monotonic timestamp in nanoseconds. */
  readonly ns: bigint;
  readonly cpu: number;
  readonly pid: number;
  readonly comm: string;
  /** The formatted message, as bpf_trace_printk produced it. */
  readonly message: string;
}

export class TracePipe {
  readonly capacity: number;
  overruns = 0;
  private entries: TraceEntry[] = [];
  private waiters: (() => void)[] = [];

  constructor(capacity = 65536) {
    this.capacity = capacity;
  }

  write(e: TraceEntry): void {
    if (this.entries.length >= this.capacity) {
      this.entries.shift();
      this.overruns++;
    }
    this.entries.push(e);
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Take every pending entry. */
  readEntries(): TraceEntry[] {
    const out = this.entries;
    this.entries = [];
    return out;
  }

  /** Take every pending entry as trace_pipe lines (each ends in one newline). */
  read(): string {
    return this.readEntries().map(formatTraceLine).join('');
  }

  /** Lines as they are written; ends when `signal` aborts. */
  async *lines(signal?: AbortSignal): AsyncIterableIterator<string> {
    while (!signal?.aborted) {
      for (const e of this.readEntries()) yield formatTraceLine(e);
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }
}

/**
 * The kernel's trace_pipe line for a bpf_trace_printk event, laid out as
 * trace_print_context does ("%16s-%-7d [%03d] flags %5lu.%06lu: "):
 *   "            node-1234    [000] .....     5.123456: bpf_trace_printk: hello"
 * One trailing newline of the message is folded into the line's own.
 */
export function formatTraceLine(e: TraceEntry): string {
  const task = `${e.comm.padStart(16)}-${String(e.pid).padEnd(7)}`;
  const cpu = String(e.cpu).padStart(3, '0');
  const us = e.ns / 1000n;
  const ts = `${String(us / 1000000n).padStart(5)}.${String(us % 1000000n).padStart(6, '0')}`;
  const msg = e.message.endsWith('\n') ? e.message.slice(0, -1) : e.message;
  return `${task} [${cpu}] ..... ${ts}: bpf_trace_printk: ${msg}\n`;
}
