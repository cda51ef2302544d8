// Whether a loaded program can run as it is. Loading lists CO-RE relocations
// (applied only when given a target BTF) and externs instead of failing; a runtime must refuse such a program with a
// clear reason rather than run it with unpatched offsets or zero constants.

import { UnsupportedError } from '../internal/errors.js';
import type { ObjectSpec, ProgramSpec } from './spec.js';

/** Reasons the program cannot run without more loader work; empty when it can. */
export function unsupportedReasons(spec: ObjectSpec, program: ProgramSpec): string[] {
  const out: string[] = [];
  const pending = program.coreRelos.filter((r) => r.result === undefined);
  if (pending.length > 0) {
    const types = [...new Set(pending.map((r) => r.typeName))].slice(0, 3).join(', ');
    out.push(`needs ${pending.length} CO-RE relocation${pending.length === 1 ? '' : 's'} against a target BTF (${types})`);
  }
  for (const name of program.externs) {
    const e = spec.externs.find((x) => x.name === name);
    const kind = e?.kind ?? 'unknown';
    const what = kind === 'kconfig' ? 'a .kconfig value' : kind === 'ksym' ? 'a kernel symbol' : kind === 'kfunc' ? 'a kernel function (kfunc)' : 'an undefined symbol';
    out.push(`uses extern ${name}, ${what}`);
  }
  if (spec.endianness !== 'little') out.push('is a big-endian (bpfeb) object; its data is in the wrong byte order for this runtime');
  return out;
}

/** Throw UnsupportedError naming the program and every reason it cannot run as-is. */
export function assertRunnable(spec: ObjectSpec, program: ProgramSpec): void {
  const reasons = unsupportedReasons(spec, program);
  if (reasons.length > 0) throw new UnsupportedError(`program ${program.name} (section ${program.section}) ${reasons.join('; ')}`);
}
