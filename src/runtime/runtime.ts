// A Runtime is what the kernel is to libbpf: it owns one RuntimeMemory, the
// map table, the helper registry (every standard helper plus the program-type
// helpers), the engines, the trace pipe, and a namespace of pins. Loading an
// object (bytes or an ObjectSpec) creates its maps, checks and (optionally)
// verifies its programs, resolves their map references and gives back a
// Collection of programs and maps by name.
//
//   const rt = new Runtime();
//   const coll = rt.loadObject(readFileSync('flowcount.o'));
//   const res = coll.program('flowcount').testRun({ dataIn: packet });
//   for (const { key, value } of coll.typedMap('flows').entries()) ...

import type { Btf } from '../btf/btf.js';
import { loadObject as loadSpec } from '../elf/load.js';
import { unsupportedReasons } from '../elf/runnable.js';
import { corePoisonReason } from '../elf/core-apply.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { checkHelperCalls } from '../helpers/check-calls.js';
import type { HelperContextOptions } from '../helpers/context.js';
import { STANDARD_HELPERS } from '../helpers/index.js';
import { HelperRegistry, type HelperDef } from '../helpers/registry.js';
import { KFUNC_HELPERS, kfuncLoadCheck, kfuncsTrustable, mapKfuncCalls } from '../helpers/kfuncs.js';
import { TracePipe } from '../helpers/trace-pipe.js';
import { decodeProgram } from '../isa/decode.js';
import { ProgramError, TsbpfError, UsageError, VerifierError } from '../internal/errors.js';
import type { BpfMap } from '../maps/base.js';
import { ArrayOfMaps, HashOfMaps } from '../maps/map-in-map.js';
import { ProgArrayMap } from '../maps/prog-array.js';
import { MapTable } from '../maps/table.js';
import { NET_HELPERS } from '../progtypes/net-helpers.js';
import { releaseTestRunContext } from '../progtypes/test-run.js';
import { SKB_HELPERS } from '../progtypes/skb.js';
import { SKB_RESIZE_HELPERS } from '../progtypes/skb-resize.js';
import { SOCK_HELPERS } from '../progtypes/sock-helpers.js';
import { ROUTE_HELPERS } from '../progtypes/route-helpers.js';
import { XDP_HELPERS } from '../progtypes/xdp.js';
import { RuntimeMemory, type MemoryOptions } from '../vm/memory.js';
import { createVm, requireEngine, type Vm } from '../vm/vm.js';
import { mapIntrinsics, setJitDefaults } from '../vm/jit/index.js';
import { Collection } from './collection.js';
import { LoadError, ShareError } from './errors.js';
import { BpfProgram, type ProgramHost } from './program.js';
import { callbackTrampoline, relocateMapRefs, resolveFuncRefs } from './relocate.js';
import { runtimeTailCall } from './tail-call.js';
import { verifyProgram } from './verify.js';
import { spinLockOffset } from './spin-lock.js';
import { trustProgram } from '../vm/engines.js';
import { markArenaProgram } from '../maps/arena.js';
import type { ArenaInfo } from '../verifier/arena.js';
import { checkShare, RuntimeSharing, type RuntimeShare, type ShareOptions, type SharingHost } from './share.js';

const MAX_CALLBACK_DEPTH = 8;

export interface RuntimeOptions {
  /** Default engine for runs: 'interp' (default) or 'jit'. */
  engine?: string;
  /**
   * Run the verifier on every program at load time (default true: a program
   * the verifier rejects does not load). `verify: false` is the explicit
   * opt-out: such programs run only on the engines that check every access.
   */
  verify?: boolean;
  /** Possible CPUs: per-CPU map copies (default 1). */
  cpus?: number;
  /** Instruction budget per run (default: the engines' 10,000,000). */
  budget?: number;
  /** Extra helpers (embedder ids), or replacements for standard ones. */
  helpers?: readonly HelperDef[];
  memory?: MemoryOptions;
  tracePipe?: TracePipe;
}

/** Options of `Runtime.attach`: what cannot travel in a share (functions, the trace pipe) and overrides. */
export interface AttachOptions {
  /** The creator's extra helpers: functions do not travel, so each thread registers the same ones. */
  helpers?: readonly HelperDef[];
  tracePipe?: TracePipe;
  /** Default engine here (default: the creator's). */
  engine?: string;
}

export interface LoadObjectOptions {
  /** File name for messages when loading bytes. */
  file?: string;
  /**
   * Load only these programs (by function or section name) and those the
   * object's prog_arrays refer to; default: all but SEC("?...") ones.
   */
  programs?: readonly string[];
  /** Override the runtime's verify option for this object. */
  verify?: boolean;
  /**
   * Target BTF for the object's CO-RE relocations, usually the kernel's
   * (kernelBtf() or readTargetBtf(path) from src/elf/target-btf.ts in Node;
   * bytes through targetBtfFromBytes in a browser). Without it, programs
   * that need CO-RE are refused with the list of relocations.
   */
  coreTarget?: Btf;
  /**
   * Values for the object's `.kconfig` externs (CONFIG_* as a .config spells
   * them, LINUX_KERNEL_VERSION); kernelKconfig() in src/elf/kernel-config.ts
   * reads the running kernel's in Node. Without it such programs are refused.
   */
  kconfig?: ReadonlyMap<string, string>;
}

/** The helpers every runtime has: the standard set, program-type helpers, and the unwinding tail call. */
function runtimeHelpers(extra: readonly HelperDef[]): HelperRegistry {
  const reg = new HelperRegistry();
  for (const d of [...STANDARD_HELPERS, ...XDP_HELPERS, ...SKB_HELPERS, ...SKB_RESIZE_HELPERS, ...NET_HELPERS, ...SOCK_HELPERS, ...ROUTE_HELPERS]) reg.register(d, { replace: true });
  reg.register(runtimeTailCall, { replace: true });
  // kfuncs the runtime runs, under reserved helper ids (src/helpers/kfuncs.ts)
  for (const d of KFUNC_HELPERS) reg.register(d, { replace: true });
  for (const d of extra) reg.register(d, { replace: true });
  return reg;
}

export class Runtime implements ProgramHost, SharingHost {
  readonly vm: Vm;
  readonly maps: MapTable;
  readonly helpers: HelperRegistry;
  readonly tracePipe: TracePipe;
  readonly defaultEngine: string;
  readonly defaultBudget: number | undefined;
  private readonly verifyByDefault: boolean;
  private readonly cpus: number;
  /** This thread's CPU: test runs and helper contexts default to it (0 in the creating thread). */
  readonly cpu: number;
  /** Built by Runtime.attach over another thread's memory: maps come from that runtime, none are created here. */
  readonly attached: boolean;
  private readonly sharing: RuntimeSharing;
  private readonly programs: (BpfProgram | undefined)[] = [undefined]; // id 0 is never used
  private readonly pins = new Map<string, BpfMap | BpfProgram>();
  private readonly nested: Vm[] = [];

  constructor(options: RuntimeOptions = {}, attachTo?: { readonly mem: RuntimeMemory; readonly cpu: number }) {
    this.defaultEngine = options.engine ?? 'interp';
    requireEngine(this.defaultEngine);
    this.defaultBudget = options.budget;
    this.verifyByDefault = options.verify ?? true;
    this.cpus = options.cpus ?? 1;
    this.cpu = attachTo?.cpu ?? 0;
    this.attached = attachTo !== undefined;
    this.helpers = runtimeHelpers(options.helpers ?? []);
    this.vm = createVm({ helpers: this.helpers, ...(attachTo ? { mem: attachTo.mem } : options.memory ? { memOptions: options.memory } : {}) });
    this.maps = new MapTable(this.vm.mem, { cpus: this.cpus, resolveProgram: (id) => this.program(id) });
    // JIT-compiled programs look up and update this table's arrays and hashes inside Wasm
    setJitDefaults(this.vm.mem, mapIntrinsics(this.maps, this.helpers));
    this.tracePipe = options.tracePipe ?? new TracePipe();
    this.sharing = new RuntimeSharing(this);
  }

  /**
   * Describe this runtime for one other thread (a worker_threads Worker):
   * postMessage the result (or pass it as workerData) and call
   * `Runtime.attach` there. Each thread needs its own share (its arena and
   * CPU); maps and programs created later reach it too.
   */
  share(options: ShareOptions = {}): RuntimeShare {
    if (this.attached) throw new ShareError('share: only the runtime that created the memory makes shares (an attached runtime allocates only in its arena)');
    return this.sharing.share(options, { cpus: this.cpus, engine: this.defaultEngine, verify: this.verifyByDefault, budget: this.defaultBudget });
  }

  /** This thread's runtime over another thread's (see share): the same maps by name and id, the same programs. */
  static attach(share: RuntimeShare, options: AttachOptions = {}): Runtime {
    checkShare(share);
    const mem = RuntimeMemory.attach(share.memory);
    const rt = new Runtime(
      {
        engine: options.engine ?? share.engine,
        verify: share.verify,
        cpus: share.cpus,
        ...(share.budget !== undefined ? { budget: share.budget } : {}),
        ...(options.helpers ? { helpers: options.helpers } : {}),
        ...(options.tracePipe ? { tracePipe: options.tracePipe } : {}),
      },
      { mem, cpu: share.cpu },
    );
    try {
      rt.sharing.attach(share);
    } catch (e) {
      rt.dispose(); // the references it took so far, its stack
      throw e;
    }
    return rt;
  }

  /** The map of this name: in an attached runtime, a ShareError says when the creator closed it. */
  map(name: string): BpfMap {
    const m = this.maps.byName(name);
    if (m !== undefined) return m;
    if (this.attached) return this.sharing.sharedMap(name);
    throw new UsageError(`no map '${name}' in this runtime (have: ${this.maps.list().map((x) => x.name).join(', ') || 'none'})`);
  }

  /** A loaded program by function name (the newest of that name; programs of other threads included). */
  programNamed(name: string): BpfProgram {
    const find = (): BpfProgram | undefined => {
      for (let i = this.programs.length - 1; i > 0; i--) if (this.programs[i]?.name === name) return this.programs[i];
      return undefined;
    };
    const p = find() ?? (this.sharing.sync() ? find() : undefined);
    const why = p === undefined ? this.sharing.whyNoProgram(name) : undefined;
    if (why !== undefined) throw new ShareError(`program '${name}' is not available in this thread: ${why}`);
    if (p === undefined) throw new UsageError(`no program '${name}' in this runtime (have: ${this.loadedPrograms().map((x) => x.name).join(', ') || 'none'})`);
    return p;
  }

  loadedPrograms(): BpfProgram[] {
    return this.programs.filter((p): p is BpfProgram => p !== undefined);
  }

  hasProgram(id: number): boolean {
    return this.programs[id] !== undefined;
  }

  addProgram(prog: BpfProgram): void {
    this.programs[prog.id] = prog;
  }

  /** Callbacks (bpf_loop...) run while their caller is on the stack: each nesting level gets a VM with its own stack. */
  nestedVm(depth: number): Vm {
    if (depth <= 0) return this.vm;
    // the kernel allows few nested callback levels; 8 bounds the stacks a runaway program can allocate
    if (depth > MAX_CALLBACK_DEPTH) throw new ProgramError(-1, `callbacks nested more than ${MAX_CALLBACK_DEPTH} deep`);
    while (this.nested.length < depth) this.nested.push(createVm({ mem: this.vm.mem, helpers: this.helpers }));
    return this.nested[depth - 1]!;
  }

  get mem(): Vm['mem'] {
    return this.vm.mem;
  }

  helperContextOptions(cpu?: number): HelperContextOptions {
    return { maps: this.maps, tracePipe: this.tracePipe, cpu: cpu ?? this.cpu };
  }

  /** The program with this runtime-wide id. */
  program(id: number): BpfProgram | undefined {
    const p = this.programs[id];
    if (p === undefined && this.sharing.sync()) return this.programs[id];
    return p;
  }

  /** Load an object: bytes of a BPF ELF file, or an ObjectSpec from the loader. */
  loadObject(input: Uint8Array | ObjectSpec, options: LoadObjectOptions = {}): Collection {
    const spec = input instanceof Uint8Array
      ? loadSpec(input, { ...(options.file !== undefined ? { file: options.file } : {}), ...(options.coreTarget ? { coreTarget: options.coreTarget } : {}), ...(options.kconfig ? { kconfig: options.kconfig } : {}) })
      : input;
    if (spec.endianness !== 'little') throw new LoadError('object', spec.file, 'is a big-endian (bpfeb) object; this runtime runs little-endian programs');
    const selected = selectPrograms(spec, options.programs);
    const created: BpfMap[] = [];
    const maps: BpfMap[] = [];
    const programsBefore = this.programs.length;
    try {
      for (const m of spec.maps) {
        const map = this.mapFor(m, spinLockOffset(spec.btf, m.valueTypeId, m.name));
        if (!this.attached && (!this.pins.has(m.name) || this.pins.get(m.name) !== map)) created.push(map);
        maps.push(map);
      }
      for (let i = 0; i < spec.maps.length; i++) this.fillInnerMaps(spec.maps[i]!, maps[i]!, spec, maps);
      const verify = options.verify ?? this.verifyByDefault;
      const progs = selected.map((p) => this.loadProgram(spec, p, maps, verify));
      const coll = new Collection(this, spec, progs, maps);
      for (let i = 0; i < spec.maps.length; i++) this.fillProgArray(spec.maps[i]!, maps[i]!, coll);
      for (let i = 0; i < spec.maps.length; i++) if (spec.maps[i]!.pinning === 1 && !this.pins.has(spec.maps[i]!.name)) this.pins.set(spec.maps[i]!.name, maps[i]!);
      for (const p of progs) this.sharing.publishProgram(p);
      return coll;
    } catch (e) {
      // nothing of a failed load stays: its programs let go of their maps, its maps are closed
      for (const p of this.programs.splice(programsBefore)) p?.releaseMaps();
      for (const m of created) this.maps.close(m);
      throw e;
    }
  }

  /** Pin a map or program under `name` (a runtime-wide namespace, like bpffs paths). */
  pin(name: string, obj: BpfMap | BpfProgram): void {
    if (this.pins.has(name)) throw new UsageError(`pin '${name}' exists`);
    this.pins.set(name, obj);
  }

  pinned(name: string): BpfMap | BpfProgram | undefined {
    return this.pins.get(name);
  }

  unpin(name: string): boolean {
    return this.pins.delete(name);
  }

  /** Is this map or program pinned under some name? */
  isPinned(obj: BpfMap | BpfProgram): boolean {
    for (const v of this.pins.values()) if (v === obj) return true;
    return false;
  }

  /** Close a map unless it is pinned (a pin keeps it alive, as bpffs does). */
  closeMap(map: BpfMap): void {
    if (!this.isPinned(map)) this.maps.close(map);
  }

  /** A pinned map of the same name and shape is shared (LIBBPF_PIN_BY_NAME); otherwise a new map. */
  private mapFor(m: MapSpec, spinLockOff: number | undefined): BpfMap {
    if (this.attached) return this.boundMap(m);
    if (m.pinning === 1) {
      const p = this.pins.get(m.name);
      if (p !== undefined) {
        const same = !(p instanceof BpfProgram) && p.type === m.typeId && p.keySize === m.keySize && p.valueSize === m.valueSize && p.maxEntries === m.maxEntries && p.flags === m.flags;
        if (!same) throw new LoadError('map', m.name, 'is pinned by name with a different definition (type, key/value size, max_entries or flags); cannot reuse it');
        return p as BpfMap;
      }
    }
    try {
      return this.maps.create(spinLockOff !== undefined ? { ...m, spinLockOff } : m);
    } catch (e) {
      throw new LoadError('map', m.name, (e as Error).message, { cause: e });
    }
  }

  /** An attached runtime creates no maps: an object's map is the shared map of its name, of the same definition. */
  private boundMap(m: MapSpec): BpfMap {
    let map: BpfMap;
    try {
      map = this.sharing.sharedMap(m.name);
    } catch (e) {
      throw new LoadError('map', m.name, `${(e as Error).message}; a worker's objects use the maps of the runtime it attached to`, { cause: e });
    }
    // perf_event_array's max_entries 0 means "one per CPU", what the creator resolved it to
    const sameSize = map.maxEntries === m.maxEntries || (m.type === 'perf_event_array' && m.maxEntries === 0);
    if (map.type !== m.typeId || map.keySize !== m.keySize || map.valueSize !== m.valueSize || !sameSize || map.flags !== m.flags)
      throw new LoadError('map', m.name, 'the shared map of this name has a different definition (type, key/value size, max_entries or flags)');
    return map;
  }

  private fillInnerMaps(m: MapSpec, map: BpfMap, spec: ObjectSpec, maps: readonly BpfMap[]): void {
    if (!(map instanceof ArrayOfMaps || map instanceof HashOfMaps) || m.initValues === undefined) return;
    for (const iv of m.initValues) {
      if (iv.map === undefined) continue;
      const idx = spec.maps.findIndex((x) => x.name === iv.map);
      if (idx < 0) throw new LoadError('map', m.name, `slot ${iv.index} refers to map '${iv.map}', which the object does not define`);
      map.update(u32le(iv.index), u32le(maps[idx]!.id));
    }
  }

  private fillProgArray(m: MapSpec, map: BpfMap, coll: Collection): void {
    if (!(map instanceof ProgArrayMap) || m.initValues === undefined) return;
    for (const iv of m.initValues) {
      if (iv.program === undefined) continue;
      const p = coll.programs.get(iv.program);
      // a program left out by LoadObjectOptions.programs leaves its slot empty
      if (p !== undefined) map.set(iv.index, p, p.id);
    }
  }

  private loadProgram(spec: ObjectSpec, p: ProgramSpec, maps: readonly BpfMap[], verify: boolean): BpfProgram {
    const fail = (reason: string, cause?: unknown): LoadError =>
      new LoadError('program', `${p.name} (section ${p.section})`, reason, cause !== undefined ? { cause } : undefined);
    // kfunc externs the runtime runs are not reasons; the others are, named with why
    const kf = kfuncLoadCheck(spec, p);
    const reasons = [...unsupportedReasons(spec, { ...p, externs: kf.otherExterns }), ...kf.reasons];
    if (reasons.length > 0) throw fail(reasons.join('; '));
    let log: string | undefined;
    let arena: ArenaInfo | undefined;
    let maxCtxOffset = 0;
    try {
      const raw = decodeProgram(p.insns);
      checkHelperCalls(raw, this.helpers, p.license);
      if (verify) ({ log, arena, maxCtxOffset } = verifyProgram(p, spec, { possibleCpus: this.cpus, extraHelpers: this.helpers.protos() }));
      const insns = relocateMapRefs(p, maps);
      mapKfuncCalls(insns, spec, p);
      const callbacks = new Map(resolveFuncRefs(insns).map((t) => [t, decodeProgram(callbackTrampoline(insns, t))]));
      const code = decodeProgram(insns);
      // proven safe: the unchecked engine may run it (and its callback entries); not with loads
      // the kernel guards by its fault handler instead (bpf_rdonly_cast results)
      if (log !== undefined && kfuncsTrustable(spec, p)) {
        trustProgram(code);
        for (const c of callbacks.values()) trustProgram(c);
      }
      // arena loads and stores the verifier found: the engines confine them to the arena
      markArenaProgram(arena, maps, code, callbacks.values());
      const id = this.sharing.nextProgramId() ?? this.programs.length;
      // the program holds the maps it refers to, as the kernel's used_maps: closing them keeps them alive for it
      const used = [...new Set(p.mapRefs.map((r) => maps[r.map]!))];
      const prog = new BpfProgram(this, id, p, insns, code, log, callbacks, used, maxCtxOffset);
      for (const m of used) m.hold();
      this.programs[id] = prog;
      return prog;
    } catch (e) {
      // a reachable CO-RE poison call: name the relocation, as libbpf rewrites the kernel's log
      if (e instanceof VerifierError) throw fail(corePoisonReason(p, e.insn) !== undefined ? `instruction ${e.insn}: ${corePoisonReason(p, e.insn)}` : e.message, e);
      if (e instanceof TsbpfError) throw fail(e.message, e);
      throw e;
    }
  }

  /**
   * Unload a program (BpfProgram.close calls this): it is forgotten and lets
   * go of its maps; a map whose handle was closed is freed with its last holder.
   */
  unloadProgram(prog: BpfProgram): void {
    if (this.programs[prog.id] !== prog) return;
    this.programs[prog.id] = undefined;
    releaseTestRunContext(prog);
    for (const m of prog.maps) this.maps.release(m);
  }

  /** Forget every map (their memory is released) and program. */
  dispose(): void {
    this.sharing.retire();
    for (const p of this.programs) if (p !== undefined) releaseTestRunContext(p);
    // an attached runtime's programs hold references to maps another thread frees: give them back
    if (this.attached) for (const p of this.programs) p?.releaseMaps();
    for (const m of this.maps.list()) this.maps.destroy(m);
    this.programs.length = 1;
    this.pins.clear();
    for (const v of this.nested.splice(0)) v.dispose();
    this.vm.dispose();
  }
}

function selectPrograms(spec: ObjectSpec, names: readonly string[] | undefined): readonly ProgramSpec[] {
  // SEC("?...") programs load only when asked for by name, as with libbpf
  if (names === undefined) return spec.programs.filter((p) => p.autoload !== false);
  const chosen = new Set(
    names.map((n) => {
      const p = spec.programs.find((x) => x.name === n) ?? spec.programs.find((x) => x.section === n);
      if (p === undefined) throw new UsageError(`${spec.file}: no program named or in section '${n}' (have: ${spec.programs.map((x) => x.name).join(', ') || 'none'})`);
      return p;
    }),
  );
  // programs the object puts into prog_array slots come along: a tail call should find its target
  for (const m of spec.maps) {
    for (const iv of m.initValues ?? []) {
      const p = iv.program !== undefined ? spec.programs.find((x) => x.name === iv.program) : undefined;
      if (p !== undefined) chosen.add(p);
    }
  }
  return spec.programs.filter((p) => chosen.has(p));
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}
