// Worker threads on one runtime, the product-level API:
//
//   // main thread
//   const share = rt.share();                       // one per worker
//   new Worker(url, { workerData: share });
//   // worker
//   const rt = Runtime.attach(workerData);          // same maps, same programs
//   rt.programNamed('count').testRun({ dataIn });    // as this thread's CPU
//
// A share is plain data plus the shared WebAssembly.Memory: the memory's
// regions, an arena for the worker's own stacks and scratch, the worker's
// CPU, and the address of the share registry (share-registry.ts), through
// which every thread learns the maps and programs of the runtime, including
// those created after it attached.
//
// What travels, and why it is safe:
// - maps: their handles (id, descriptor address, resolved spec) and the
//   regions they live in. All their state is in the shared memory (every map
//   type's row in maps/types.ts says `shared`), so a thread attaches by
//   building its own object over the same descriptor.
// - programs: the relocated instructions (map pointers are descriptor
//   addresses, the same in every thread), the spec (without its line info,
//   source text for display only), and the verdict. A
//   verified program is not verified again: the proof was made for exactly
//   these bytes and these maps, and the maps a worker attaches are those maps
//   (same descriptors, same layouts). The registry is written only by the
//   threads of this runtime, so the verdict is as trustworthy as the thread
//   that loaded the program; a share is not a security boundary.
// - prog_array slots hold program ids in the shared memory; each thread
//   runs its own compiled copy of the program with that id, so a tail call
//   from a worker lands in the worker.
//
// Only the thread that created the memory creates maps (the others allocate
// only in their arena): an object loaded in a worker must bind its maps by
// name to maps the runtime already has. Programs may be loaded anywhere;
// their ids are runtime-wide and they are published to every thread.

import type { ProgramSpec } from '../elf/spec.js';
import { decodeProgram, type Program } from '../isa/decode.js';
import type { BpfMap, MapHandle } from '../maps/base.js';
import type { MapTable } from '../maps/table.js';
import { checkHelperCalls } from '../helpers/check-calls.js';
import type { HelperRegistry } from '../helpers/registry.js';
import { TsbpfError } from '../internal/errors.js';
import { mapTypeRow } from '../maps/types.js';
import { MapError } from '../maps/errno.js';
import { isTrusted, trustProgram } from '../vm/engines.js';
import { arenaAccessOf, markArenaEntries, type ArenaAccess } from '../vm/arena-access.js';
import type { MemoryShare, Region, RuntimeMemory } from '../vm/memory.js';
import { ShareError } from './errors.js';
import { BpfProgram, type ProgramHost } from './program.js';
import { callbackTrampoline } from './relocate.js';
import { decodeShared, encodeShared } from './share-codec.js';
import { RecordKind, ShareRegistry } from './share-registry.js';

/** What `Runtime.attach` needs in the other thread; postMessage-able as is. */
export interface RuntimeShare {
  readonly memory: MemoryShare;
  /** Address of the share registry in the memory. */
  readonly registry: number;
  /** This share's record in the registry (claimed by the one attach it allows). */
  readonly claim: number;
  readonly cpus: number;
  /** The CPU the attaching thread runs as (per-CPU map copies, perf_event_array slot). */
  readonly cpu: number;
  readonly engine: string;
  readonly verify: boolean;
  readonly budget: number | undefined;
}

export interface ShareOptions {
  /** CPU of the attaching thread (default: 1, 2, ... in the order shares are made, modulo the runtime's cpus). */
  cpu?: number;
  /** Bytes of the attaching thread's arena: its stacks, map scratch, test-run packets and contexts (default 1 MiB). */
  arenaBytes?: number;
  /** Record space of the registry; only the runtime's first share sets it (default 1 MiB). */
  registryBytes?: number;
}

interface MapRecord {
  handle: MapHandle;
  regions: Region[];
}

interface ProgramRecord {
  id: number;
  spec: ProgramSpec;
  insns: Uint8Array;
  /** The verifier accepted it (its log's last line), or undefined. */
  verdict: string | undefined;
  /** The unchecked engine may run it (verified, and no loads the kernel would guard by a fault handler). */
  trusted: boolean;
  callbacks: number[];
  maps: number[];
  /** One past the furthest context byte the verifier saw it access (test runs check ctx_in against it). */
  maxCtxOffset: number;
  /** Its arena accesses (src/vm/arena-access.ts): the engines of every thread must confine them. */
  arena?: ArenaAccess;
}

const MAP_CLOSED = 1;
const SHARE_ATTACHED = 1;

/** What the sharing side needs from its runtime. */
export interface SharingHost extends ProgramHost {
  readonly maps: MapTable;
  readonly helpers: HelperRegistry;
  readonly mem: RuntimeMemory;
  /** Loaded programs, in id order. */
  loadedPrograms(): readonly BpfProgram[];
  /** Put a program another thread loaded at its id. */
  addProgram(prog: BpfProgram): void;
  hasProgram(id: number): boolean;
}

/** A runtime's side of its threads: the registry, what this thread has read of it, publishing. */
export class RuntimeSharing {
  private readonly host: SharingHost;
  private registry: ShareRegistry | undefined;
  private cursor = 0;
  /** Maps and programs other threads published that this thread cannot have: name -> why. */
  private readonly unavailableMaps = new Map<string, string>();
  private readonly unavailablePrograms = new Map<string, string>();
  /** Ids of the maps seen in the registry, by name (to name a program's missing map). */
  private readonly mapIds = new Map<string, number>();

  constructor(host: SharingHost) {
    this.host = host;
  }

  /** The next runtime-wide program id, or undefined before the first share (ids are then local). */
  nextProgramId(): number | undefined {
    return this.registry?.nextProgramId();
  }

  /** Creator side: a share for one more thread (the registry is made by the first). */
  share(options: ShareOptions, base: Omit<RuntimeShare, 'memory' | 'registry' | 'claim' | 'cpu'>): RuntimeShare {
    const { mem } = this.host;
    if (!mem.shared) throw new ShareError('the runtime memory is not shared (RuntimeOptions.memory.shared is false): threads cannot share it');
    const cpu = options.cpu ?? -1;
    if (options.cpu !== undefined && (!Number.isInteger(cpu) || cpu < 0 || cpu >= base.cpus)) throw new ShareError(`cpu ${cpu} out of range 0..${base.cpus - 1} (RuntimeOptions.cpus)`);
    const reg = this.registry ?? this.openRegistry(options.registryBytes ?? 1 << 20);
    const n = reg.countShare();
    const claim = reg.append(RecordKind.SHARE, n, new Uint8Array(0));
    const memory = mem.share(options.arenaBytes ?? 1 << 20);
    return { ...base, memory, registry: reg.base, claim, cpu: options.cpu ?? (n + 1) % base.cpus };
  }

  /** The first share: the registry, with every map and program there is so far. */
  private openRegistry(bytes: number): ShareRegistry {
    const { maps, mem } = this.host;
    if (!Number.isInteger(bytes) || bytes < 1024 || bytes > mem.maxBytes / 2) throw new ShareError(`registryBytes ${bytes} out of range 1024..${mem.maxBytes / 2}`);
    const programs = this.host.loadedPrograms();
    const next = programs.reduce((n, p) => Math.max(n, p.id + 1), 1);
    const { registry, region } = ShareRegistry.create(mem, bytes, next);
    this.registry = registry;
    try {
      for (const m of maps.list()) this.publishMap(m);
      for (const p of programs) this.publishProgram(p);
    } catch (e) {
      // too small for what exists: no registry, so the next share starts over
      this.registry = undefined;
      this.mapRecords.clear();
      mem.free(region);
      throw e;
    }
    this.cursor = registry.used; // this thread knows everything it published
    maps.onCreate = (m) => this.publishMap(m);
    maps.onFree = (m) => this.mapFreed(m);
    maps.onMiss = () => this.sync();
    this.creator = true;
    return registry;
  }

  /** The creating runtime is disposed: shares it made no longer attach. */
  retire(): void {
    if (this.creator) this.registry?.retire();
  }

  /** Attached side: claim the share and learn everything published so far. */
  attach(share: RuntimeShare): void {
    const reg = ShareRegistry.open(this.host.mem, share.registry);
    if (share.claim >= reg.used || !reg.claimState(share.claim, 0, SHARE_ATTACHED))
      throw new ShareError('this share was already attached: make one rt.share() per thread (each has its own arena)');
    this.registry = reg;
    const maps = this.host.maps;
    maps.onMiss = () => this.sync();
    this.sync();
  }

  /** Read what other threads published since the last call; true when something new was learned. */
  sync(): boolean {
    const reg = this.registry;
    // a lookup while a record is being applied (a map's constructor, say) must not start another pass
    if (reg === undefined || this.syncing || reg.used === this.cursor) return false;
    this.syncing = true;
    try {
      return this.apply(reg);
    } finally {
      this.syncing = false;
    }
  }

  private syncing = false;
  /** This thread made the registry (its runtime created the memory). */
  private creator = false;

  /** Apply records in order (a program refers only to maps published before it); the cursor passes each one applied. */
  private apply(reg: ShareRegistry): boolean {
    const { records } = reg.read(this.cursor);
    let learned = false;
    for (const r of records) {
      if (r.kind === RecordKind.MAP) learned = this.applyMap(reg, r.off, r.key, r.body) || learned;
      else if (r.kind === RecordKind.PROGRAM) {
        const rec = decodeShared<ProgramRecord>(r.body, `program ${r.key}`);
        // this thread's own programs, even those it has closed since, are never copied back in
        if (!this.ownPrograms.has(rec.id) && !this.host.hasProgram(rec.id)) {
          const prog = this.programFrom(rec);
          if (prog instanceof BpfProgram) {
            this.host.addProgram(prog);
            learned = true;
          } else {
            this.unavailablePrograms.set(rec.spec.name, prog);
          }
        }
      }
      this.cursor = r.end;
    }
    return learned;
  }

  private applyMap(reg: ShareRegistry, off: number, id: number, body: Uint8Array): boolean {
    const rec = decodeShared<MapRecord>(body, `map ${id}`);
    const name = rec.handle.spec.name;
    this.mapIds.set(name, id);
    if (reg.state(off) === MAP_CLOSED) {
      this.unavailableMaps.set(name, 'was closed by the runtime that created it');
      return false;
    }
    if (this.host.maps.byIdLocal(id) !== undefined) return false;
    // devmaps, cgroup/sk storage, stack traces: their state is JS objects in the creating thread
    if (mapTypeRow(rec.handle.spec.typeName)?.shared !== true) {
      this.unavailableMaps.set(name, `is a ${rec.handle.spec.typeName} map, whose state is outside the shared memory: only the thread that created it can use it`);
      return false;
    }
    this.host.mem.learn(rec.regions);
    try {
      this.host.maps.adopt(rec.handle);
    } catch (e) {
      if (!(e instanceof MapError)) throw e;
      this.unavailableMaps.set(name, `cannot be attached in this thread (${e.message})`);
      return false;
    }
    return true;
  }

  /** A map by name for a worker: the runtime's map, or a ShareError saying why there is none. */
  sharedMap(name: string): BpfMap {
    const m = this.host.maps.byName(name);
    if (m !== undefined) return m;
    const why = this.unavailableMaps.get(name);
    if (why !== undefined) throw new ShareError(`map '${name}' ${why}`);
    throw new ShareError(`no map '${name}' in the shared runtime (only the thread that created the memory creates maps)`);
  }

  publishMap(m: BpfMap): void {
    const reg = this.registry;
    if (reg === undefined || m.attached) return;
    const rec: MapRecord = { handle: m.handle(), regions: this.host.maps.regionsOf(m) };
    this.mapRecords.set(m, reg.append(RecordKind.MAP, m.id, encodeShared(rec)));
  }

  private readonly mapRecords = new Map<BpfMap, number>();

  private mapFreed(m: BpfMap): void {
    const off = this.mapRecords.get(m);
    if (off === undefined || this.registry === undefined) return;
    this.registry.setState(off, MAP_CLOSED);
    this.mapRecords.delete(m);
  }

  publishProgram(p: BpfProgram): void {
    const reg = this.registry;
    if (reg === undefined) return;
    const log = p.verifierLog;
    const rec: ProgramRecord = {
      id: p.id,
      // line info is source text for display, most of a record's bytes (falco's
      // 206 programs: 17 MB with it, 5 MB without); nothing at run time reads it
      spec: { ...p.spec, lineInfo: [] },
      insns: p.insns,
      verdict: log === undefined ? undefined : lastLine(log),
      trusted: isTrusted(p.code),
      callbacks: [...p.callbacks.keys()],
      maps: p.maps.map((m) => m.id),
      maxCtxOffset: p.maxCtxOffset,
    };
    const arena = arenaAccessOf(p.code);
    if (arena !== undefined) rec.arena = arena;
    reg.append(RecordKind.PROGRAM, p.id, encodeShared(rec));
    this.ownPrograms.add(p.id);
  }

  /** Ids of the programs this thread loaded and published. */
  private readonly ownPrograms = new Set<number>();

  /** Why a program another thread published is not here, if it is not (programNamed's error). */
  whyNoProgram(name: string): string | undefined {
    return this.unavailablePrograms.get(name);
  }

  /**
   * This thread's copy of a published program, or why there is none: a map it
   * uses was closed (the program was unloaded where it was made) or cannot be
   * used from this thread.
   */
  private programFrom(rec: ProgramRecord): BpfProgram | string {
    const maps: BpfMap[] = [];
    for (const id of rec.maps) {
      const m = this.host.maps.byIdLocal(id);
      if (m === undefined) {
        const name = [...this.unavailableMaps.keys()].find((n) => this.mapIds.get(n) === id);
        return `it uses map ${name !== undefined ? `'${name}', which ${this.unavailableMaps.get(name)!}` : `id ${id}, which is gone`}`;
      }
      maps.push(m);
    }
    const code = decodeProgram(rec.insns);
    try {
      // functions do not travel: an embedder's helpers must be registered here too
      checkHelperCalls(code, this.host.helpers, rec.spec.license);
    } catch (e) {
      if (!(e instanceof TsbpfError)) throw e;
      return `${e.message} in this thread (pass the creator's extra helpers as AttachOptions.helpers)`;
    }
    const callbacks = new Map<number, Program>(rec.callbacks.map((t) => [t, decodeProgram(callbackTrampoline(rec.insns, t))]));
    if (rec.trusted) {
      trustProgram(code);
      for (const c of callbacks.values()) trustProgram(c);
    }
    if (rec.arena !== undefined) markArenaEntries(code, rec.arena, callbacks.values());
    const prog = new BpfProgram(this.host, rec.id, rec.spec, rec.insns, code, rec.verdict, callbacks, maps, rec.maxCtxOffset);
    for (const m of maps) m.hold();
    return prog;
  }
}

/** A RuntimeShare's shape (it crossed a thread boundary as plain data): anything else is a ShareError, not a TypeError later. */
export function checkShare(share: RuntimeShare): void {
  const s = share as Partial<RuntimeShare> | undefined;
  const ok =
    s !== undefined && s !== null && typeof s === 'object' &&
    s.memory !== undefined && s.memory.memory instanceof WebAssembly.Memory && Array.isArray(s.memory.regions) && s.memory.arena !== undefined &&
    [s.registry, s.claim, s.cpus, s.cpu].every((v) => Number.isInteger(v) && (v as number) >= 0) && typeof s.engine === 'string';
  if (!ok) throw new ShareError('Runtime.attach: not a runtime share (pass what rt.share() returned, as workerData or by postMessage)');
}

function lastLine(log: string): string {
  const lines = log.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}
