// The maps of a fuzz run: a plan drawn from the seed (types, sizes, flags,
// hash seeds, initial elements), built in the harness's memory once per
// engine so that every engine starts from the same state at the same
// addresses, and a snapshot of what a run left in them (through the
// user-space API, and as raw bytes of descriptors and data) to compare.

import { MapError } from '../../maps/errno.js';
import { ArrayMap } from '../../maps/array.js';
import type { BpfMap } from '../../maps/base.js';
import { DESC_SIZE } from '../../maps/descriptor.js';
import { HashMap } from '../../maps/hash.js';
import { BPF_F_RDONLY_PROG, type MapSpec } from '../../maps/spec.js';
import { MapTable } from '../../maps/table.js';
import type { RuntimeMemory } from '../memory.js';
import type { FuzzMap } from './gen-maps.js';
import { Prng } from './prng.js';

/** Per-CPU maps keep this many copies; programs run as CPU 0 or 1 (see DiffHarness). */
export const FUZZ_CPUS = 2;

export interface PlannedMap {
  readonly spec: MapSpec;
  /** The hash seed (hash maps draw it from Math.random; the build makes it this). */
  readonly hashSeed: number;
  readonly keys: readonly Uint8Array[];
  /** Elements user space puts in before the run (user-sized values: per-CPU maps hold every CPU's copy). */
  readonly initial: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
}

export type MapPlan = readonly PlannedMap[];

const TYPES: ReadonlyArray<readonly [number, string]> = [
  [4, 'array'],
  [4, 'hash'],
  [3, 'lru_hash'],
  [2, 'percpu_array'],
  [1, 'percpu_hash'],
  [1, 'lru_percpu_hash'],
];

function bytes(r: Prng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.chance(0.25) ? 0 : r.int(256);
  return b;
}

/** 1..4 maps with small max_entries, so hash maps fill up and LRU maps evict. */
export function planMaps(seed: number): MapPlan {
  const r = new Prng(seed ^ 0x2545f491);
  const n = r.range(1, 4);
  const plan: PlannedMap[] = [];
  for (let i = 0; i < n; i++) {
    const type = r.weighted(TYPES);
    const isArray = type.endsWith('array');
    const perCpu = type.startsWith('percpu') || type.startsWith('lru_percpu');
    const keySize = isArray ? 4 : r.range(1, 40);
    const valueSize = r.range(1, 40);
    const maxEntries = r.range(1, 8);
    const flags = r.chance(0.1) ? BPF_F_RDONLY_PROG : 0;
    const keys: Uint8Array[] = [];
    const nKeys = isArray ? maxEntries : r.range(1, maxEntries + 3);
    for (let k = 0; k < nKeys; k++) {
      if (isArray) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, k, true);
        keys.push(key);
      } else keys.push(bytes(r, keySize));
    }
    const userValue = perCpu ? ((valueSize + 7) & ~7) * FUZZ_CPUS : valueSize;
    const initial: [Uint8Array, Uint8Array][] = [];
    for (const k of keys) if (r.chance(0.6)) initial.push([k, bytes(r, userValue)]);
    plan.push({
      spec: { name: `m${i}_${type}`, type, keySize, valueSize, maxEntries, flags },
      hashSeed: r.next(),
      keys,
      initial,
    });
  }
  return plan;
}

/** Run `f` with Math.random returning `seed / 2^32` (HashMap draws its hash seed from it). */
function withRandom<T>(seed: number, f: () => T): T {
  const saved = Math.random;
  Math.random = () => (seed >>> 0) / 4294967296;
  try {
    return f();
  } finally {
    Math.random = saved;
  }
}

/** The planned maps, created in a memory; close() gives the memory back for the next build. */
export class FuzzMapSet {
  readonly table: MapTable;
  readonly maps: readonly BpfMap[];
  private readonly plan: MapPlan;

  constructor(mem: RuntimeMemory, plan: MapPlan) {
    this.plan = plan;
    // a fresh table numbers the maps from 1 every time: ids are in descriptors, which programs may read
    this.table = new MapTable(mem, { cpus: FUZZ_CPUS });
    const maps: BpfMap[] = [];
    for (const p of plan) {
      const m = withRandom(p.hashSeed, () => this.table.create(p.spec));
      // the user-space API allocates its scratch region on first use: do it now, not after the run
      m.lookup(new Uint8Array(m.keySize));
      for (const [k, v] of p.initial) {
        try {
          m.update(k, v);
        } catch (e) {
          // a full hash map refuses (E2BIG): the same refusal on every build
          if (!(e instanceof MapError)) throw e;
        }
      }
      maps.push(m);
    }
    this.maps = maps;
  }

  /** What the generator needs to know of each map. */
  fuzzMaps(): FuzzMap[] {
    return this.maps.map((m, i) => ({
      desc: m.desc,
      typeName: m.typeName,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      keys: this.plan[i]!.keys,
    }));
  }

  /** Where the maps live: descriptor and data addresses, to check that a rebuild put them in the same places. */
  layout(): string {
    return this.maps.map((m) => `${m.desc}:${dataRegion(m)?.start ?? -1}`).join(',');
  }

  /**
   * Every map's elements as text (user-space view), in key order. The walk
   * is bounded: a program that wrote into a hash element's key (below its
   * value) leaves a key whose hash no longer matches, and get_next_key of a
   * missing key restarts at the first one, so BpfMap.keys() would not end.
   */
  contents(): string[] {
    const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return this.maps.map((m) => {
      const rows: string[] = [];
      let k = m.nextKey();
      for (let n = 0; k !== undefined; n++) {
        if (n > m.maxEntries) {
          rows.push('(walk does not end)');
          break;
        }
        const v = m.lookup(k);
        rows.push(`${hex(k)}=${v === undefined ? '(none)' : hex(v)}`);
        k = m.nextKey(k);
      }
      return `${m.name}: ${rows.sort().join(' ')}`;
    });
  }

  /** Descriptors and data regions, byte for byte (hash chains, LRU lists and reference bits included). */
  rawBytes(): Uint8Array[] {
    const u8 = this.table.mem.u8;
    const out: Uint8Array[] = [];
    for (const m of this.maps) {
      out.push(u8.slice(m.desc, m.desc + DESC_SIZE));
      const r = dataRegion(m);
      if (r !== undefined) out.push(u8.slice(r.start, r.start + r.size));
    }
    return out;
  }

  close(): void {
    for (let i = this.maps.length - 1; i >= 0; i--) this.table.close(this.maps[i]!);
  }
}

function dataRegion(m: BpfMap): { start: number; size: number } | undefined {
  return m instanceof ArrayMap || m instanceof HashMap ? m.region : undefined;
}
