// The registry of what is loaded in one runtime — programs, maps and links —
// the seed's "lsmod-like facility": ids, names, types, tags, load times, and
// run counts and times while stats are on (the kernel's bpf_stats_enabled).
// The inspection endpoint (endpoint.ts) serves it to `tsbpf prog|map|link`.
//
//   const reg = new Registry(runtime);
//   const coll = reg.loadObject(bytes, { file: 'dropmon.o' });   // or reg.addCollection(rt.loadObject(...))
//   attachObject(coll, { sink: reg });                            // links announce themselves
//   await serveInspection(reg);

import type { Btf } from '../btf/btf.js';
import { btfValue, toJsonText } from '../btf/print.js';
import type { Link, LinkSink } from '../attach/link.js';
import { TsbpfError, UsageError } from '../internal/errors.js';
import type { BpfMap } from '../maps/base.js';
import { BPF_ANY } from '../maps/spec.js';
import type { Collection } from '../runtime/collection.js';
import type { BpfProgram } from '../runtime/program.js';
import type { LoadObjectOptions, Runtime } from '../runtime/runtime.js';
import { fromHex, toHex, type Hello, type LinkInfo, type MapDump, type MapEntryOut, type MapInfo, type MapLookup, type MapSelector, type ProgInfo, type Request } from './protocol.js';
import { programTag } from './tag.js';

export interface RegistryOptions {
  /** Count and time every run from the start (default false; enableStats turns it on later). */
  stats?: boolean;
  /** 'sha1' (default, Linux up to 6.17) or 'sha256' (Linux 6.18 and later) program tags. */
  tagHash?: 'sha1' | 'sha256';
}

interface ProgRecord {
  readonly prog: BpfProgram;
  readonly loadedAt: number;
  readonly file: string;
  readonly mapIds: readonly number[];
  readonly tag: string;
  readonly gpl: boolean;
}

interface MapTypes {
  readonly btf: Btf;
  readonly keyTypeId: number;
  readonly valueTypeId: number;
}

/** A request the registry cannot serve: unknown id, bad bytes. */
export class RegistryError extends TsbpfError {
  constructor(message: string) {
    super('EREGISTRY', message);
  }
}

const uid = (): number => (typeof process.getuid === 'function' ? process.getuid() : 0);

export class Registry implements LinkSink {
  readonly runtime: Runtime;
  private readonly progs = new Map<number, ProgRecord>();
  private readonly mapTypes = new Map<number, MapTypes>();
  private readonly linkList: Link[] = [];
  /** Run counters of links that were detached, per program id: a program's totals outlive its links. */
  private readonly retired = new Map<number, { runCnt: number; runTimeNs: number; recursionMisses: number }>();
  private readonly tagHash: 'sha1' | 'sha256';
  private stats: boolean;

  constructor(runtime: Runtime, options: RegistryOptions = {}) {
    this.runtime = runtime;
    this.stats = options.stats ?? false;
    this.tagHash = options.tagHash ?? 'sha1';
  }

  /** Load an object into the runtime and record it. */
  loadObject(bytes: Uint8Array, options: LoadObjectOptions = {}): Collection {
    const coll = this.runtime.loadObject(bytes, options);
    this.addCollection(coll);
    return coll;
  }

  /** Record a collection loaded directly from the runtime (load time: now). */
  addCollection(coll: Collection): void {
    const now = Date.now();
    const spec = coll.spec;
    const btf = spec.btf;
    for (const ms of spec.maps) {
      const m = coll.maps.get(ms.name);
      if (m !== undefined && btf !== undefined && ms.keyTypeId !== undefined && ms.valueTypeId !== undefined) {
        this.mapTypes.set(m.id, { btf, keyTypeId: ms.keyTypeId, valueTypeId: ms.valueTypeId });
      }
    }
    for (const p of coll.programs.values()) {
      if (this.progs.has(p.id)) continue;
      const mapIds = [...new Set(p.spec.mapRefs.map((r) => coll.maps.get(spec.maps[r.map]?.name ?? '')?.id).filter((id): id is number => id !== undefined))];
      this.progs.set(p.id, { prog: p, loadedAt: now, file: spec.file, mapIds, tag: programTag(p.spec.insns, this.tagHash), gpl: spec.gplCompatible });
    }
  }

  // ---- links (LinkSink) ----------------------------------------------------------

  addLink(link: Link): void {
    if (!this.linkList.includes(link)) this.linkList.push(link);
    if (this.stats) link.setStats(true);
  }

  removeLink(link: Link): void {
    const i = this.linkList.indexOf(link);
    if (i < 0) return;
    this.linkList.splice(i, 1);
    const r = this.retired.get(link.program.id) ?? { runCnt: 0, runTimeNs: 0, recursionMisses: 0 };
    r.runCnt += link.stats.runCnt;
    r.runTimeNs += link.stats.runTimeNs;
    r.recursionMisses += link.stats.recursionMisses;
    this.retired.set(link.program.id, r);
  }

  // ---- stats ---------------------------------------------------------------------

  get statsEnabled(): boolean {
    return this.stats;
  }

  /** Count and time runs (run_cnt, run_time_ns), like sysctl kernel.bpf_stats_enabled. */
  enableStats(on: boolean): void {
    this.stats = on;
    for (const l of this.linkList) l.setStats(on);
  }

  // ---- views ---------------------------------------------------------------------

  /** Every program of the runtime; those the registry was not told about are found by id. */
  programs(): ProgInfo[] {
    for (let id = 1; ; id++) {
      const p = this.runtime.program(id);
      if (p === undefined) break;
      if (!this.progs.has(id)) this.progs.set(id, { prog: p, loadedAt: Date.now(), file: '', mapIds: [], tag: programTag(p.spec.insns, this.tagHash), gpl: false });
    }
    return [...this.progs.values()].sort((a, b) => a.prog.id - b.prog.id).map((r) => this.progInfo(r));
  }

  program(id: number): ProgInfo {
    this.programs();
    const r = this.progs.get(id);
    if (r === undefined) throw new RegistryError(`no program with id ${id}`);
    return this.progInfo(r);
  }

  maps(): MapInfo[] {
    return this.runtime.maps.list().map((m) => this.mapInfo(m));
  }

  links(): LinkInfo[] {
    return this.linkList.map((l) => ({
      id: l.id,
      type: l.kind,
      progId: l.program.id,
      progName: l.program.name,
      target: l.target,
      attachedAt: l.attachedAt,
      events: l.stats.events,
      drops: l.stats.drops,
      faults: l.stats.faults,
      recursionMisses: l.stats.recursionMisses,
      runCnt: l.stats.runCnt,
      runTimeNs: l.stats.runTimeNs,
    }));
  }

  /** The map an id or name selects. */
  findMap(sel: MapSelector): BpfMap {
    const m = 'id' in sel ? this.runtime.maps.byId(sel.id) : this.runtime.maps.byName(sel.name);
    if (m === undefined) throw new RegistryError(`no map with ${'id' in sel ? `id ${sel.id}` : `name '${sel.name}'`}`);
    return m;
  }

  mapDump(sel: MapSelector): MapDump {
    const map = this.findMap(sel);
    const entries: MapEntryOut[] = [];
    // walk by next-key; a map changing under the walk may end it early, as in the kernel
    let key: Uint8Array | undefined;
    for (let n = 0; n <= map.maxEntries; n++) {
      key = map.nextKey(key);
      if (key === undefined) break;
      const value = map.lookup(key);
      if (value !== undefined) entries.push(this.entry(map, key, value));
    }
    return { map: this.mapInfo(map), entries };
  }

  mapLookup(sel: MapSelector, keyHex: string): MapLookup {
    const map = this.findMap(sel);
    const key = this.bytes(keyHex, map.keySize, 'key', map);
    const value = map.lookup(key);
    return { map: this.mapInfo(map), entry: value === undefined ? null : this.entry(map, key, value) };
  }

  mapUpdate(sel: MapSelector, keyHex: string, valueHex: string, flags = BPF_ANY): void {
    const map = this.findMap(sel);
    map.update(this.bytes(keyHex, map.keySize, 'key', map), this.bytes(valueHex, map.userValueSize, 'value', map), flags);
  }

  mapDelete(sel: MapSelector, keyHex: string): void {
    const map = this.findMap(sel);
    map.delete(this.bytes(keyHex, map.keySize, 'key', map));
  }

  hello(): Hello {
    return { pid: process.pid, argv: process.argv.slice(1), node: process.version, stats: this.stats };
  }

  /** Serve one request (everything but the trace pipe, which streams). */
  handle(req: Request): unknown {
    switch (req.op) {
      case 'hello':
        return this.hello();
      case 'prog.list':
        return this.programs();
      case 'prog.show':
        return this.program(req.id);
      case 'map.list':
        return this.maps();
      case 'map.show':
        return this.mapInfo(this.findMap(req.map));
      case 'map.dump':
        return this.mapDump(req.map);
      case 'map.lookup':
        return this.mapLookup(req.map, req.key);
      case 'map.update':
        this.mapUpdate(req.map, req.key, req.value, req.flags ?? BPF_ANY);
        return null;
      case 'map.delete':
        this.mapDelete(req.map, req.key);
        return null;
      case 'link.list':
        return this.links();
      case 'stats':
        this.enableStats(req.enable);
        return { stats: this.stats };
      case 'trace.pipe':
        throw new UsageError('trace.pipe streams; the endpoint serves it');
      default:
        throw new UsageError(`unknown operation '${(req as { op?: unknown }).op}'`);
    }
  }

  private progInfo(r: ProgRecord): ProgInfo {
    const links = this.linkList.filter((l) => l.program.id === r.prog.id);
    const old = this.retired.get(r.prog.id);
    let runCnt = old?.runCnt ?? 0;
    let runTimeNs = old?.runTimeNs ?? 0;
    let recursionMisses = old?.recursionMisses ?? 0;
    for (const l of links) {
      runCnt += l.stats.runCnt;
      runTimeNs += l.stats.runTimeNs;
      recursionMisses += l.stats.recursionMisses;
    }
    return {
      id: r.prog.id,
      type: r.prog.type,
      name: r.prog.name,
      tag: r.tag,
      gplCompatible: r.gpl,
      loadedAt: r.loadedAt,
      uid: uid(),
      bytesXlated: r.prog.insns.length,
      mapIds: r.mapIds,
      section: r.prog.section,
      file: r.file,
      runCnt,
      runTimeNs,
      recursionMisses,
      linkIds: links.map((l) => l.id),
    };
  }

  private mapInfo(m: BpfMap): MapInfo {
    return {
      id: m.id,
      type: m.typeName,
      name: m.name,
      flags: m.flags,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      frozen: m.frozen,
      btf: this.mapTypes.has(m.id),
    };
  }

  private entry(map: BpfMap, key: Uint8Array, value: Uint8Array): MapEntryOut {
    const t = this.mapTypes.get(map.id);
    if (t === undefined) return { key: toHex(key), value: toHex(value) };
    try {
      const perCpu = map.userValueSize !== map.valueSize;
      const v = perCpu
        ? Array.from({ length: map.userValueSize / map.valueStride }, (_, i) => btfValue(t.btf, t.valueTypeId, value, i * map.valueStride))
        : btfValue(t.btf, t.valueTypeId, value);
      return { key: toHex(key), value: toHex(value), formatted: { key: toJsonText(btfValue(t.btf, t.keyTypeId, key), ''), value: toJsonText(v, '') } };
    } catch (e) {
      if (e instanceof TsbpfError) return { key: toHex(key), value: toHex(value) };
      throw e;
    }
  }

  private bytes(hex: string, size: number, what: string, map: BpfMap): Uint8Array {
    const b = fromHex(hex);
    if (b === undefined) throw new RegistryError(`${what} '${hex}' is not hex bytes`);
    if (b.length !== size) throw new RegistryError(`map '${map.name}' (id ${map.id}): ${what} is ${b.length} bytes; the map's ${what} size is ${size}`);
    return b;
  }
}
