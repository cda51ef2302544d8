// Map references in a linked program become plain 64-bit immediates, as
// libbpf plus the kernel's verifier turn them into map pointers:
//   lddw rX, map       (src 1, BPF_PSEUDO_MAP_FD)    -> the map's descriptor address
//   lddw rX, map[0]+k  (src 2, BPF_PSEUDO_MAP_VALUE) -> address of byte k of its value
// The spec's bytes are left as they are (inspect and dis show the references).

import { UnsupportedError, VerifierError } from '../internal/errors.js';
import { ArrayMap } from '../maps/array.js';
import type { BpfMap } from '../maps/base.js';
import type { ProgramSpec } from '../elf/spec.js';

const SLOT = 8;

/** A copy of `spec.insns` with every map reference resolved against `maps` (the object's maps, by index). */
export function relocateMapRefs(spec: ProgramSpec, maps: readonly BpfMap[]): Uint8Array {
  const out = spec.insns.slice();
  const dv = new DataView(out.buffer);
  for (const ref of spec.mapRefs) {
    const map = maps[ref.map];
    if (map === undefined) throw new VerifierError(ref.insn, `lddw refers to map index ${ref.map}; the object has ${maps.length}`);
    let addr: number;
    if (ref.kind === 'fd') {
      addr = map.desc;
    } else {
      // the kernel: only array maps have a direct value address (map_direct_value_addr)
      if (!(map instanceof ArrayMap) || map.perCpu) throw new VerifierError(ref.insn, `map '${map.name}' (${map.typeName}) has no direct value address for lddw map_value`);
      if (ref.offset < 0 || ref.offset >= map.valueSize) throw new VerifierError(ref.insn, `lddw map_value offset ${ref.offset} is outside map '${map.name}' value of ${map.valueSize} bytes`);
      addr = map.data + ref.offset;
    }
    const at = ref.insn * SLOT;
    if (at + 2 * SLOT > out.length) throw new VerifierError(ref.insn, 'lddw map reference past the end of the program');
    // clear src_reg (upper nibble of byte 1), keep dst_reg
    out[at + 1] = out[at + 1]! & 0x0f;
    dv.setInt32(at + 4, addr | 0, true);
    dv.setInt32(at + SLOT + 4, 0, true);
  }
  return out;
}
