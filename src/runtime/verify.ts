// Load-time verification through src/verifier: the program as the loader
// linked it (map references still indexes into the object's maps, as the
// kernel sees them), its maps' shapes, license and line info.

import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import type { Program } from '../isa/decode.js';
import type { BpfMap } from '../maps/base.js';
import { VerifierError } from '../internal/errors.js';
import { verify } from '../verifier/verify.js';

/** Returns the verifier log; throws the verifier's VerifierError when the program is rejected. */
export function verifyProgram(code: Program, p: ProgramSpec, _spec: ObjectSpec, maps: readonly BpfMap[]): string {
  const res = verify(code, {
    progType: p.typeId,
    license: p.license,
    maps: maps.map((m) => ({ type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, name: m.name, readonly: m.spec.frozen === true })),
    lineInfo: p.lineInfo.map((l) => ({ insn: l.insn, file: l.file, line: l.line, column: l.col, text: l.text })),
    sleepable: p.sleepable,
    ...(p.expectedAttachTypeId !== undefined ? { expectedAttachType: p.expectedAttachTypeId } : {}),
  });
  if (!res.ok) throw res.error ?? new VerifierError(0, 'rejected by the verifier', res.log);
  return res.log;
}
