// The per-run state of a program that the runtime builds for each test run:
// the standard HelperContext (maps, trace pipe, clock...) plus where the
// program's context struct lives and, for packet programs, the packet that
// the legacy LD_ABS/LD_IND loads read (`packet`, the engines' PacketSource).
//
// Each program type subclasses it (xdp.ts, skb.ts, tracing.ts) and builds its
// context in the runtime memory from the test-run input, then turns the
// state after the run back into data_out / ctx_out.

import { HelperContext, type HelperContextOptions } from '../helpers/context.js';
import type { Region, RegionKind, RuntimeMemory } from '../vm/memory.js';

export abstract class ProgRunContext extends HelperContext {
  /** Address the program gets in r1. */
  abstract readonly ctxAddr: number;
  /** Bytes LD_ABS/LD_IND see (engines read it once per run); undefined for non-packet programs. */
  packet: { start: number; len: number } | undefined = undefined;
  /** A test run is using it (see test-run.ts: contexts are reused between runs). */
  busy = false;
  /** Regions this context allocated; freed by dispose(). */
  protected readonly regions: Region[] = [];
  protected readonly memory: RuntimeMemory;

  constructor(options: HelperContextOptions) {
    super(options);
    this.memory = options.maps.mem;
  }

  /**
   * Prepare for another test run with new input, reusing the regions (what
   * makes running a capture cheap). Returns false when this context cannot
   * hold the input (a different context size), so the caller makes a new one.
   * Throws TestRunError for input the kernel refuses. The default: not
   * reusable (subclasses that can be reset override it).
   */
  reset(_dataIn: Uint8Array | undefined, _ctxIn: Uint8Array | undefined): boolean {
    return false;
  }

  /** The packet after the run, as BPF_PROG_TEST_RUN's data_out (empty for non-packet programs). */
  abstract dataOut(): Uint8Array;

  /** The context after the run, as ctx_out; undefined when the type reports none. */
  abstract ctxOut(): Uint8Array | undefined;

  protected alloc(size: number, name: string, kind: RegionKind, writable: boolean, init?: Uint8Array): Region {
    const r = this.memory.alloc(size, { name, kind, writable, ...(init ? { init } : {}) });
    this.regions.push(r);
    return r;
  }

  /** cgroup storage by map id (bpf_get_local_storage): the test run's own, zeroed at each reset. */
  private readonly storage = new Map<number, Region>();

  /** The test run's storage of a cgroup storage map: `size` bytes (all CPUs' copies), zeroed when new. */
  localStorage(mapId: number, size: number): Region {
    let r = this.storage.get(mapId);
    if (r === undefined) {
      r = this.alloc(size, `cgroup storage of map ${mapId}`, 'map', true);
      this.memory.u8.fill(0, r.start, r.start + size);
      this.storage.set(mapId, r);
    }
    return r;
  }

  /** sk_storage values on the test run's socket, by map id, and whether each exists now. */
  private readonly skStorage = new Map<number, { region: Region; live: boolean }>();

  /**
   * The sk_storage value of map `mapId` on the test run's socket (`size`
   * bytes), or 0: created on request (`init` its first bytes, else zeroed)
   * when absent.
   */
  socketStorage(mapId: number, size: number, create: boolean, init: Uint8Array | undefined): number {
    let s = this.skStorage.get(mapId);
    if (s !== undefined && s.live) return s.region.start;
    if (!create) return 0;
    if (s === undefined) {
      s = { region: this.alloc(size, `sk_storage of map ${mapId}`, 'map', true), live: false };
      this.skStorage.set(mapId, s);
    }
    const u8 = this.memory.u8;
    u8.fill(0, s.region.start, s.region.start + size);
    if (init !== undefined) u8.set(init.subarray(0, size), s.region.start);
    s.live = true;
    return s.region.start;
  }

  /** bpf_sk_storage_delete on the test run's socket: whether there was a value. */
  deleteSocketStorage(mapId: number): boolean {
    const s = this.skStorage.get(mapId);
    if (s === undefined || !s.live) return false;
    s.live = false;
    return true;
  }

  /**
   * A new test run: zeroed cgroup storage, as the kernel allocates it per
   * BPF_PROG_TEST_RUN, and a new socket without sk_storage.
   */
  protected clearLocalStorage(): void {
    for (const r of this.storage.values()) this.memory.u8.fill(0, r.start, r.start + r.size);
    for (const s of this.skStorage.values()) s.live = false;
  }

  /** Release the context's regions (the runtime calls it when the test run ends). */
  dispose(): void {
    for (const r of this.regions.splice(0)) this.memory.free(r);
    this.storage.clear();
    this.skStorage.clear();
  }
}
