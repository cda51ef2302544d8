// Map references in a linked program become plain 64-bit immediates, as
// libbpf plus the kernel's verifier turn them into map pointers:
//   lddw rX, map       (src 1, BPF_PSEUDO_MAP_FD)    -> the map's descriptor address
//   lddw rX, map[0]+k  (src 2, BPF_PSEUDO_MAP_VALUE) -> address of byte k of its value
// The spec's bytes are left as they are (inspect and dis show the references).

import { UnsupportedError, VerifierError } from '../internal/errors.js';
import { ArrayMap } from '../maps/array.js';
import { ArenaMap } from '../maps/arena.js';
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
    } else if (map instanceof ArenaMap) {
      // an __arena global: its user address (arena_map_direct_value_addr)
      if (ref.offset < 0 || ref.offset > map.size) throw new VerifierError(ref.insn, `lddw map_value offset ${ref.offset} is outside arena '${map.name}' of ${map.size} bytes`);
      addr = map.userVmStart + ref.offset;
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
  refuseUnrelocatedMapLoads(out, spec.mapRefs);
  return out;
}

/**
 * A map load (lddw with a map pseudo source: fd, value, idx, idx value) that
 * no relocation resolved would hand the program whatever its imm says: refuse
 * it, as the kernel refuses an fd that names no map, verified or not.
 */
function refuseUnrelocatedMapLoads(insns: Uint8Array, refs: ProgramSpec['mapRefs']): void {
  const done = new Set(refs.map((r) => r.insn));
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const n = insns.length / SLOT;
  for (let i = 0; i + 1 < n; i++) {
    const at = i * SLOT;
    if (insns[at] !== 0x18) continue;
    const src = insns[at + 1]! >> 4;
    if ((src === 1 || src === 2 || src === 5 || src === 6) && !done.has(i)) {
      throw new VerifierError(i, `fd ${dv.getInt32(at + 4, true)} is not pointing to valid bpf_map`);
    }
    i++; // skip the second slot
  }
}

const LDDW = 0x18;
const BPF_PSEUDO_FUNC = 4;

/**
 * `lddw rX, func` (src 4, BPF_PSEUDO_FUNC: a callback for bpf_loop,
 * for_each_map_elem...) becomes `lddw rX, <target instruction index>`, in
 * place. The runtime's callback invoker accepts exactly these values, so a
 * program cannot make a helper jump anywhere else. Returns the targets.
 */
export function resolveFuncRefs(insns: Uint8Array): number[] {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const n = insns.length / SLOT;
  const targets: number[] = [];
  for (let i = 0; i + 1 < n; i++) {
    const at = i * SLOT;
    if (insns[at] !== LDDW) continue;
    if (insns[at + 1]! >> 4 === BPF_PSEUDO_FUNC) {
      const target = i + 1 + dv.getInt32(at + 4, true);
      if (target < 0 || target >= n) throw new VerifierError(i, `lddw func target ${target} is outside the program (${n} instructions)`);
      insns[at + 1] = insns[at + 1]! & 0x0f;
      dv.setInt32(at + 4, target, true);
      dv.setInt32(at + SLOT + 4, 0, true);
      if (!targets.includes(target)) targets.push(target);
    }
    i++; // skip the second slot
  }
  return targets;
}

/**
 * The program as a callback entry: `call <target>; exit` in front of the
 * unchanged instructions (every relative jump and call inside them keeps its
 * meaning), so an engine that always starts at instruction 0 runs the
 * callback with r1..r5 as given, in its own frame, and returns its r0.
 */
export function callbackTrampoline(insns: Uint8Array, target: number): Uint8Array {
  const out = new Uint8Array(insns.length + 2 * SLOT);
  const dv = new DataView(out.buffer);
  out[0] = 0x85; // call
  out[1] = 1 << 4; // src 1: BPF_PSEUDO_CALL (a local function)
  dv.setInt32(4, target + 1, true); // from slot 1 to target + 2
  out[SLOT] = 0x95; // exit
  out.set(insns, 2 * SLOT);
  return out;
}
