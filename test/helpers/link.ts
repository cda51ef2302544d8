// Test glue until the runtime's loader exists: create an object's maps in a
// MapTable and point its lddw map references at them, the way the runtime
// will (fd -> descriptor address, value -> DATA + offset of the array).
import { readFileSync } from 'node:fs';
import { loadObject } from '../../src/elf/index.js';
import type { MapTable } from '../../src/maps/table.js';
import type { BpfMap } from '../../src/maps/base.js';
import { ArrayMap } from '../../src/maps/array.js';

export function linkObject(path: string, table: MapTable): { maps: BpfMap[]; programs: Map<string, Uint8Array>; license: string } {
  const spec = loadObject(readFileSync(path), { file: path });
  const maps = spec.maps.map((m) => table.create(m));
  const programs = new Map<string, Uint8Array>();
  for (const p of spec.programs) {
    const code = p.insns.slice();
    const dv = new DataView(code.buffer);
    for (const ref of p.mapRefs) {
      const m = maps[ref.map]!;
      let addr: number;
      if (ref.kind === 'fd') addr = m.desc;
      else if (m instanceof ArrayMap) addr = m.data + ref.offset;
      else throw new Error(`map value reference into ${m.typeName} map ${m.name}`);
      const at = ref.insn * 8;
      code[at + 1] = code[at + 1]! & 0x0f; // src_reg = 0: a plain 64-bit immediate
      dv.setInt32(at + 4, addr | 0, true);
      dv.setInt32(at + 12, 0, true);
    }
    programs.set(p.name, code);
  }
  return { maps, programs, license: spec.license };
}
