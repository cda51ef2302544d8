// Verifier options for a program of a loaded object (src/elf ObjectSpec):
// its maps as the verifier sees them (inner maps included), map loads no
// relocation filled in made invalid, license, BTF functions and line info.
// Shared by `tsbpf check` and the runtime, so both verify the same thing.

import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { ctxLayout } from '../progtypes/ctx.js';
import { funcSignatures } from './btf-funcs.js';
import type { MapInfo, VerifyOptions } from './env.js';
import { kfuncCalls } from './kfuncs-object.js';
import { tracingCtxOf, type TracingCtx } from './tracing-ctx.js';
import { BPF_PROG_TYPE } from '../internal/uapi.gen.js';
import { lockOffset, spinLockOffset } from '../runtime/spin-lock.js';

/** Whether the map's value has BTF, and where its bpf_spin_lock (the runtime's and the verifier's one reading) and bpf_timer are. */
function valueBtf(spec: ObjectSpec, m: MapSpec): Pick<MapInfo, 'valueBtf' | 'spinLockOff' | 'resSpinLockOff' | 'timerOff'> {
  if (spec.btf === undefined || !m.valueTypeId) return {};
  const off = spinLockOffset(spec.btf, m.valueTypeId, m.name);
  const res = lockOffset(spec.btf, m.valueTypeId, m.name, 'bpf_res_spin_lock');
  const timer = lockOffset(spec.btf, m.valueTypeId, m.name, 'bpf_timer');
  return {
    valueBtf: true, ...(off !== undefined ? { spinLockOff: off } : {}), ...(res !== undefined ? { resSpinLockOff: res } : {}),
    ...(timer !== undefined ? { timerOff: timer } : {}),
  };
}

/** The maps an object's programs refer to (lddw map index = position here). */
export function verifierMaps(spec: ObjectSpec): MapInfo[] {
  const info = (m: MapSpec): MapInfo => ({
    type: m.typeId, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, name: m.name,
    readonly: m.frozen === true, ...(m.innerMap ? { inner: info(m.innerMap) } : {}), ...valueBtf(spec, m),
  });
  // Only the object's own maps carry contents: an inner map is never frozen.
  return spec.maps.map((m) => (m.frozen === true && m.initial !== undefined ? { ...info(m), values: m.initial } : info(m)));
}

/**
 * The program's bytes as the kernel's verifier sees them after libbpf: each
 * map reference an lddw with BPF_PSEUDO_MAP_FD (src 1) or BPF_PSEUDO_MAP_VALUE
 * (src 2, offset in the second slot) and the map's index as imm, whatever
 * the loader left there; a map load that no relocation filled in points at
 * an index that does not exist, so it is refused as the kernel refuses a bad fd.
 */
export function unrelocatedMapLoads(p: ProgramSpec): Uint8Array {
  const out = new Uint8Array(p.insns);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const refs = new Set<number>();
  for (const r of p.mapRefs) {
    const at = r.insn * 8;
    if (r.insn < 0 || at + 16 > out.length || out[at] !== 0x18) continue;
    refs.add(r.insn);
    out[at + 1] = (out[at + 1]! & 0x0f) | ((r.kind === 'fd' ? 1 : 2) << 4);
    dv.setInt32(at + 4, r.map, true);
    dv.setInt32(at + 12, r.kind === 'fd' ? 0 : r.offset, true);
  }
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
  /** Embedders' helper prototypes (VerifyOptions.extraHelpers). */
  readonly extraHelpers?: VerifyOptions['extraHelpers'];
  /** The kernel's BTF for reads of kernel objects (VerifyOptions.kernelBtf; kfuncs-vmlinux.ts loads it). */
  readonly kernelBtf?: VerifyOptions['kernelBtf'];
}

/** A BTF tracing program's context from the kernel's BTF (none for programs attached in Node, which read their own struct). */
function tracingCtxFor(p: ProgramSpec, progType: number, extras: ObjectVerifyExtras): { tracingCtx?: TracingCtx } {
  if (progType !== BPF_PROG_TYPE['tracing'] || extras.ctxSize !== undefined || !extras.kernelBtf) return {};
  if (p.expectedAttachType === undefined || p.attachTo === undefined) return {};
  const tc = tracingCtxOf(extras.kernelBtf, p.expectedAttachType, p.attachTo);
  return typeof tc === 'string' ? {} : { tracingCtx: tc };
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
    ...(extras.extraHelpers !== undefined ? { extraHelpers: extras.extraHelpers } : {}),
    kfuncs: kfuncCalls(spec, p),
    ...(extras.kernelBtf !== undefined ? { kernelBtf: extras.kernelBtf } : {}),
    ...(spec.coreTarget !== undefined ? { coreTarget: spec.coreTarget } : {}),
    ...tracingCtxFor(p, progType, extras),
    lineInfo: p.lineInfo.map((l) => ({ insn: l.insn, file: l.file.slice(l.file.lastIndexOf('/') + 1), line: l.line, column: l.col, text: l.text })),
  };
}
