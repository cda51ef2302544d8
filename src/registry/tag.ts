// A program's tag, computed as the kernel's bpf_prog_calc_tag does: SHA-1 of
// the instructions with the immediates of map-referencing lddw instructions
// (BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE: both slots) set to zero, so the
// tag does not depend on map fds or addresses; the first 8 bytes, in hex.
// `bpftool prog show` prints the same string for the same object. Linux 6.18
// hashes with SHA-256 instead (the digest program signing checks), the rest
// unchanged; `hash: 'sha256'` gives that kernel's tag.

import { createHash } from 'node:crypto';
import { Class, Mode, PseudoLd, Size } from '../isa/fields.js';

const LDDW = Class.LD | Mode.IMM | Size.DW;

/** The tag of an instruction stream (8 bytes per slot, little-endian, as the loader links it). */
export function programTag(insns: Uint8Array, hash: 'sha1' | 'sha256' = 'sha1'): string {
  const copy = insns.slice();
  const n = Math.floor(copy.length / 8);
  for (let i = 0; i < n; i++) {
    const at = i * 8;
    const src = copy[at + 1]! >> 4;
    if (copy[at] === LDDW && (src === PseudoLd.MAP_FD || src === PseudoLd.MAP_VALUE) && i + 1 < n) {
      copy.fill(0, at + 4, at + 8);
      // the kernel clears the second slot's imm only when that slot is a proper lddw tail (all fields zero)
      const next = at + 8;
      if (copy[next] === 0 && copy[next + 1] === 0 && copy[next + 2] === 0 && copy[next + 3] === 0) {
        copy.fill(0, next + 4, next + 8);
        i++;
      }
    }
  }
  return createHash(hash).update(copy.subarray(0, n * 8)).digest('hex').slice(0, 16);
}
