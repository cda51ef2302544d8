// Program types whose context is a plain block of bytes handed in by the
// caller: kprobe (struct pt_regs), perf_event, tracepoint (the event record),
// raw_tracepoint (an array of u64 arguments) and syscall (a user buffer the
// program may write, returned as ctx_out). The kernel's test run supports
// only raw_tracepoint and syscall; here every one of them runs, with the
// kernel's rules where the kernel has them (sizes, no data_in, no repeat
// for raw_tracepoint and syscall), including its check before the run: a
// ctx_in shorter than the furthest context byte the verifier saw the
// program touch (max_ctx_offset) is refused with EINVAL. A program loaded
// with verify: false has no such extent; it runs, and its first access past
// ctx_in is a MemoryFault.

import type { HelperContextOptions } from '../helpers/context.js';
import { MAX_SYSCALL_CTX } from './ctx.js';
import { E2BIG, EINVAL } from './errno.js';
import { TestRunError } from './errors.js';
import { ProgRunContext } from './run-context.js';

/** MAX_BPF_FUNC_ARGS: raw tracepoint arguments. */
export const MAX_RAW_TP_ARGS = 12;

export type BytesCtxKind = 'kprobe' | 'perf_event' | 'tracepoint' | 'raw_tracepoint' | 'syscall';

/** Fixed context sizes (pt_regs on x86-64, bpf_perf_event_data); undefined = the ctx_in's size. */
const FIXED_SIZE: Partial<Record<BytesCtxKind, number>> = { kprobe: 168, perf_event: 184 };

export class BytesRunContext extends ProgRunContext {
  readonly ctxAddr: number;
  readonly size: number;
  private readonly writable: boolean;
  private readonly kind: BytesCtxKind;

  constructor(options: HelperContextOptions, kind: BytesCtxKind, ctxIn: Uint8Array | undefined) {
    super(options);
    this.kind = kind;
    const bytes = ctxIn ?? new Uint8Array(0);
    const size = contextSize(kind, bytes);
    this.size = size;
    // only syscall programs write their context (a user buffer)
    this.writable = kind === 'syscall';
    // an empty context is still a valid (unreadable) address, never NULL
    this.ctxAddr = this.alloc(size, `${kind} ctx`, 'ctx', this.writable, bytes).start;
  }

  /** Reusable when the new context has the same size. */
  override reset(dataIn: Uint8Array | undefined, ctxIn: Uint8Array | undefined): boolean {
    if (dataIn !== undefined && dataIn.length > 0) throw new TestRunError(EINVAL, `program type ${this.kind} takes no data_in, only ctx_in`);
    const bytes = ctxIn ?? new Uint8Array(0);
    if (contextSize(this.kind, bytes) !== this.size) return false;
    const u8 = this.memory.u8;
    u8.fill(0, this.ctxAddr, this.ctxAddr + this.size);
    u8.set(bytes, this.ctxAddr);
    return true;
  }

  dataOut(): Uint8Array {
    return new Uint8Array(0);
  }

  /** syscall programs return their (possibly modified) buffer; the others report none. */
  ctxOut(): Uint8Array | undefined {
    return this.writable ? this.memory.u8.slice(this.ctxAddr, this.ctxAddr + this.size) : undefined;
  }
}

/**
 * The kernel's test run of raw_tracepoint and syscall programs refuses
 * (EINVAL) a ctx_in shorter than max_ctx_offset, an empty one included.
 */
export function checkCtxInCoversAccesses(progType: string, ctxInLength: number, maxCtxOffset: number): void {
  if (ctxInLength < maxCtxOffset) {
    throw new TestRunError(EINVAL, `${progType} ctx_in is ${ctxInLength} bytes; the program accesses its context up to byte ${maxCtxOffset}`);
  }
}

/** The context's size for this input, after the kernel's checks of ctx_in. */
function contextSize(kind: BytesCtxKind, bytes: Uint8Array): number {
  const size = FIXED_SIZE[kind] ?? bytes.length;
  if (kind === 'raw_tracepoint') {
    if (bytes.length % 8 !== 0 || bytes.length > MAX_RAW_TP_ARGS * 8)
      throw new TestRunError(EINVAL, `raw_tracepoint ctx_in is ${bytes.length} bytes; it must be up to ${MAX_RAW_TP_ARGS} u64 arguments`);
  } else if (kind === 'syscall') {
    if (bytes.length > MAX_SYSCALL_CTX) throw new TestRunError(EINVAL, `syscall ctx_in is ${bytes.length} bytes, more than ${MAX_SYSCALL_CTX}`);
  } else if (FIXED_SIZE[kind] !== undefined && bytes.length > size) {
    throw new TestRunError(E2BIG, `${kind} ctx_in is ${bytes.length} bytes; the context is ${size}`);
  }
  return Math.max(size, bytes.length);
}
