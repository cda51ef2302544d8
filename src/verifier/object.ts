// Verifier options for a program of a loaded object (src/elf ObjectSpec):
// its maps as the verifier sees them (inner maps included), map loads no
// relocation filled in made invalid, license, BTF functions and line info.
// Shared by `tsbpf check` and the runtime, so both verify the same thing.

import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { ctxLayout } from '../progtypes/ctx.js';
import { funcSignatures } from './btf-funcs.js';
import type { MapInfo, VerifyOptions } from './env.js';

/** The maps an object's programs refer to (lddw map index = position here). */
export function verifierMaps(spec: ObjectSpec): MapInfo[] {
  const info = (m: MapSpec): MapInfo => ({
    type: m.typeId, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, name: m.name,
    readonly: m.frozen === true, ...(m.innerMap ? { inner: info(m.innerMap) } : {}),
  });
  return spec.maps.map(info);
}

/**
 * The program's bytes with map loads that no relocation filled in (a raw
 * lddw with a map pseudo source) pointed at a map index that does not exist,
 * so the verifier refuses them as the kernel refuses a bad fd.
 */
export function unrelocatedMapLoads(p: ProgramSpec): Uint8Array {
  const out = new Uint8Array(p.insns);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const refs = new Set(p.mapRefs.map((r) => r.insn));
  for (let i = 0; i < out.length >> 3; i++) {
    const src = out[i * 8 + 1]! >> 4;
    if (out[i * 8] === 0x18 && (src === 1 || src === 2) && !refs.has(i)) dv.setInt32(i * 8 + 4, -1, true);
  }
  return out;
}

export interface ObjectVerifyExtras {
  /** Program type instead of the section's. */
  readonly progType?: number;
  readonly logLevel?: number;
  readonly possibleCpus?: number;
  /** The program's own context struct size (programs attached in Node). */
  readonly ctxSize?: number;
}

/** Everything verify() needs to know about program p of an object. */
export function objectVerifyOptions(spec: ObjectSpec, p: ProgramSpec, extras: ObjectVerifyExtras = {}): VerifyOptions {
  const progType = extras.progType ?? p.typeId;
  return {
    progType,
    maps: verifierMaps(spec),
    license: p.license,
    logLevel: extras.logLevel ?? 1,
    sleepable: p.sleepable,
    btf: p.funcInfo.length > 0,
    funcs: funcSignatures(spec.btf, p.funcInfo, ctxLayout(progType).name),
    ...(p.expectedAttachTypeId !== undefined ? { expectedAttachType: p.expectedAttachTypeId } : {}),
    ...(extras.possibleCpus !== undefined ? { possibleCpus: extras.possibleCpus } : {}),
    ...(extras.ctxSize !== undefined ? { ctxSize: extras.ctxSize } : {}),
    lineInfo: p.lineInfo.map((l) => ({ insn: l.insn, file: l.file.slice(l.file.lastIndexOf('/') + 1), line: l.line, column: l.col, text: l.text })),
  };
}
