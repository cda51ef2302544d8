// Shared helpers for the map tests: a fresh table, and little-endian byte builders.
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';

export function newTable(cpus = 1): MapTable {
  return new MapTable(new RuntimeMemory({ maxBytes: 32 * 1024 * 1024 }), { cpus });
}

export function u32(...vs: number[]): Uint8Array {
  const b = new Uint8Array(vs.length * 4);
  const dv = new DataView(b.buffer);
  vs.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, true));
  return b;
}

export function u64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

export function readU32(b: Uint8Array | undefined, off = 0): number | undefined {
  return b === undefined ? undefined : new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

/** Assert that `f` throws a MapError with this errno. */
export function errnoOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return (e as { errno?: number }).errno;
  }
  return undefined;
}
