// The per-run state the standard helpers need, handed to an engine as
// `ExecOptions.run` (helpers see it as `env.run`): the map table, the
// execution context's CPU index, the trace pipe, the clock, the process
// identity, the random generator, tail-call bookkeeping, and the engine's
// callback invoker for bpf_loop / bpf_for_each_map_elem. Program-type
// contexts (packets, skb...) extend this class, so one object serves both.
//
// Engines' side of the contract:
// - tail calls: after helper 12 (tail_call) returns, if `pendingTailCall` is
//   set the engine or run loop takes it (clears it) and starts that program
//   with the same r1 and a fresh frame; otherwise execution continues after
//   the call (src/runtime/program.ts does this for every engine). Call
//   `beginRun()` at the start of every top-level run.
// - callbacks: set `invoke` to a function that runs the BPF subprogram `fn`
//   (the value a `lddw rX, func` (BPF_PSEUDO_FUNC) loaded) with r1..r5 from
//   `args` (10 int32 halves, as in HelperEnv.regs) and returns r0's low 32 bits.

import { ProgramError, UsageError } from '../internal/errors.js';
import type { MapTable } from '../maps/table.js';
import type { HelperEnv } from './registry.js';
import { TracePipe } from './trace-pipe.js';

/** Runs a BPF callback: r1..r5 from `args` (lo/hi halves); returns r0's low 32 bits. */
export type CallbackInvoker = (fn: number, args: Int32Array) => number;

/** Monotonic time in nanoseconds. */
export type Clock = () => bigint;

export interface ProcessIdentity {
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  /** Task name, at most 15 bytes (the kernel's TASK_COMM_LEN - 1). */
  comm: string;
}

export interface HelperContextOptions {
  maps: MapTable;
  cpu?: number;
  tracePipe?: TracePipe;
  clock?: Clock;
  /** Seed of get_prandom_u32 (default: random). */
  seed?: number;
  identity?: Partial<ProcessIdentity>;
  invoke?: CallbackInvoker;
  /** CONFIG_HZ for jiffies64 (default 250, Debian's). */
  hz?: number;
}

// The host process, where there is one. Only `globalThis.process` is used (no
// Node built-in module), so helpers load in browsers too, where the identity
// is that of "no process" (pid 0, comm "browser") unless the embedder passes one.
interface HostProcess {
  pid?: number;
  title?: string;
  getuid?: () => number;
  getgid?: () => number;
  hrtime?: { bigint(): bigint };
}
const host = (globalThis as { process?: HostProcess }).process;

function hostIdentity(): ProcessIdentity {
  const uid = typeof host?.getuid === 'function' ? host.getuid() : 0;
  const gid = typeof host?.getgid === 'function' ? host.getgid() : 0;
  const pid = host?.pid ?? 0;
  // The kernel's comm is the thread name (15 bytes); for Node that is its title, "node" by default.
  const comm = (host?.title ?? 'browser').slice(0, 15);
  return { pid, tgid: pid, uid, gid, comm };
}

/** Monotonic nanoseconds: process.hrtime where it exists, else performance.now(). */
const hostClock = (): bigint =>
  host?.hrtime !== undefined ? host.hrtime.bigint() : BigInt(Math.round(performance.now() * 1e6));

let cachedIdentity: ProcessIdentity | undefined;

export class HelperContext {
  readonly maps: MapTable;
  private cpuIndex = 0;
  readonly tracePipe: TracePipe;
  clock: Clock;
  readonly identity: ProcessIdentity;
  /** bpf_get_current_comm's bytes: the name, NUL-padded to 16. */
  readonly commBytes: Uint8Array;
  readonly hz: number;
  invoke: CallbackInvoker | undefined;
  /** Set by bpf_tail_call on success in 'pending' mode; the engine jumps to it and clears it. */
  pendingTailCall: object | undefined;
  /** Tail calls taken in this run (the kernel stops at 33). */
  tailCallCount = 0;
  /** Scratch for callback arguments, so a callback costs no allocation. */
  readonly callbackArgs = new Int32Array(10);
  /** Scratch for bpf_snprintf's u64 arguments (12, as lo/hi halves). */
  readonly snprintfArgs = new Int32Array(24);
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(options: HelperContextOptions) {
    this.maps = options.maps;
    this.cpu = options.cpu ?? 0;
    this.tracePipe = options.tracePipe ?? new TracePipe();
    this.clock = options.clock ?? hostClock;
    const id = { ...(cachedIdentity ??= hostIdentity()), ...options.identity };
    id.comm = id.comm.slice(0, 15); // TASK_COMM_LEN - 1
    this.identity = id;
    this.commBytes = new Uint8Array(16);
    this.commBytes.set(new TextEncoder().encode(this.identity.comm).subarray(0, 15));
    this.hz = options.hz ?? 250;
    this.invoke = options.invoke;
    // xoshiro128** state from a splitmix32 expansion of the seed
    let x = (options.seed ?? (Math.random() * 0x100000000) >>> 0) | 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** Execution context index: per-CPU maps' copy, get_smp_processor_id. 0 <= cpu < maps.cpus. */
  get cpu(): number {
    return this.cpuIndex;
  }

  set cpu(c: number) {
    // per-CPU maps compute addresses from it: an index past the copies would reach other elements
    if (!Number.isInteger(c) || c < 0 || c >= this.maps.cpus) throw new UsageError(`cpu ${c} out of range 0..${this.maps.cpus - 1} (MapTable cpus)`);
    this.cpuIndex = c;
  }

  /** Reset per-run state (tail-call count). Engines call it before each top-level run. */
  beginRun(): void {
    this.tailCallCount = 0;
    this.pendingTailCall = undefined;
  }

  /** The next 32-bit pseudo-random number (xoshiro128**). */
  nextRandom(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r >>> 0;
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** The HelperContext of a helper call, or a ProgramError naming the helper that needed it. */
export function contextOf(env: HelperEnv, helper: string): HelperContext {
  const run = env.run;
  if (run instanceof HelperContext) return run;
  throw new ProgramError(env.pc, `helper ${helper} needs the runtime's HelperContext as run state (ExecOptions.run)`);
}
