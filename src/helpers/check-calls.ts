// Load-time checks of a program's helper calls against a registry: an id
// nobody implements and a GPL-only helper in a program whose license is not
// GPL-compatible are refused before the program runs, with the kernel
// verifier's messages.

import { VerifierError } from '../internal/errors.js';
import { BPF_FUNC, nameOf } from '../internal/uapi.gen.js';
import type { Program } from '../isa/decode.js';
import { Op } from '../isa/table.js';
import type { HelperRegistry } from './registry.js';
import { isGplCompatible } from '../elf/license.js';
import { CORE_POISON_IMM } from '../elf/core-apply.js';

// The license rule lives in one place (elf/license.ts); re-exported for helper users.
export { isGplCompatible };

/** The kernel's name for a helper id in messages: bpf_map_lookup_elem, or "unknown". */
function funcName(id: number): string {
  const n = id > 0 ? nameOf(BPF_FUNC, id) : undefined;
  return n === undefined ? 'unknown' : `bpf_${n}`;
}

/**
 * Throw a VerifierError at the first helper call the program may not make:
 *   "invalid func unknown#N"              an id neither the kernel nor the registry knows
 *   "program of this type cannot use helper bpf_X#N"   a kernel helper the registry lacks
 *   "cannot call GPL-restricted function from non-GPL compatible program"
 */
export function checkHelperCalls(prog: Program, helpers: HelperRegistry, license: string): void {
  const gpl = isGplCompatible(license);
  for (let pc = 0; pc < prog.length; pc++) {
    if (prog.op[pc] !== Op.CALL) continue;
    const id = prog.imm[pc]!;
    // libbpf's CO-RE poison (elf/core-apply.ts) stands in code that is dead on
    // this kernel (behind bpf_core_field_exists() and the like); the verifier
    // rejects it with the same text only where it is reachable.
    if (id === CORE_POISON_IMM) continue;
    const def = id >= 0 ? helpers.get(id) : undefined;
    if (def === undefined) {
      const name = funcName(id);
      throw new VerifierError(pc, name === 'unknown' ? `invalid func unknown#${id}` : `program of this type cannot use helper ${name}#${id}`);
    }
    if (def.gplOnly && !gpl) throw new VerifierError(pc, 'cannot call GPL-restricted function from non-GPL compatible program');
  }
}
