// Hands linked programs and their maps to the running kernel through
// test/elf/kernel-load.py (bpf(2) via python ctypes), for tests that check
// the kernel accepts what the linker produced.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Btf } from '../../src/btf/btf.js';
import { BtfEncoder } from '../../src/btf/encode.js';
import { BtfKind } from '../../src/btf/types.js';
import { sanitizeForKernel } from '../../src/btf/sanitize.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { Class, Mode, PseudoLd, Size } from '../../src/isa/fields.js';
import { Op } from '../../src/isa/table.js';

const HARNESS = fileURLToPath(new URL('../../../test/elf/kernel-load.py', import.meta.url));

/** Program types that load without an attach target or BTF (tracing, lsm, ext, struct_ops need one). */
const LOADABLE = new Set(['socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event', 'cgroup_skb', 'raw_tracepoint', 'syscall', 'lwt_in', 'lwt_out', 'lwt_xmit']);

/** clang -O0 calls helpers through a pointer (callx), which no kernel accepts; such objects are not a linker test. */
function usesCallx(p: ProgramSpec): boolean {
  const d = decodeProgram(p.insns, { validate: false });
  return d.op.some((op) => op === Op.CALLX);
}

/**
 * The kernel BTF id a tracing program attaches to, as libbpf finds it:
 * tp_btf/X -> typedef btf_trace_X, fentry/fexit/fmod_ret/X -> function X,
 * iter/X -> function bpf_iter_X. Undefined when the kernel has no such type.
 */
export function attachBtfId(p: ProgramSpec, vmlinux: Btf): number | undefined {
  if (p.type !== 'tracing' || p.attachTo === undefined) return undefined;
  const [name, kind] =
    p.expectedAttachType === 'trace_raw_tp' ? [`btf_trace_${p.attachTo}`, BtfKind.TYPEDEF]
    : p.expectedAttachType === 'trace_iter' ? [`bpf_iter_${p.attachTo}`, BtfKind.FUNC]
    : p.expectedAttachType === 'trace_fentry' || p.expectedAttachType === 'trace_fexit' || p.expectedAttachType === 'modify_return' ? [p.attachTo, BtfKind.FUNC]
    : ['', 0];
  return vmlinux.idsByName(name).find((id) => vmlinux.type(id).kind === kind);
}

/**
 * Where each kfunc call of a program goes: the linked instruction and the
 * kernel BTF id of the function, as libbpf resolves `__ksym` functions against
 * vmlinux. Undefined when the program references anything else, or a kfunc the
 * kernel does not have (libbpf fails such an object unless the extern is weak).
 */
export function kfuncCalls(spec: ObjectSpec, p: ProgramSpec, vmlinux: Btf | undefined): { insn: number; id: number }[] | undefined {
  const calls: { insn: number; id: number }[] = [];
  for (const name of p.externs) {
    const e = spec.externs.find((x) => x.name === name);
    if (!vmlinux || e?.kind !== 'kfunc') return undefined;
    const id = vmlinux.idsByName(name).find((i) => vmlinux.type(i).kind === BtfKind.FUNC);
    if (id === undefined) return undefined;
    for (const r of e.refs) if (r.program === p.name) calls.push({ insn: r.insn, id });
  }
  return calls;
}

/**
 * The program's kfunc references pointing at vmlinux BTF ids, as libbpf
 * writes them: a call keeps src_reg 2 (off 0: vmlinux, not a module); an
 * ld_imm64 of the function's address (bpf_ksym_exists) becomes src_reg 3
 * (BPF_PSEUDO_BTF_ID) with the id in its first imm.
 */
function withKfuncIds(p: ProgramSpec, calls: readonly { insn: number; id: number }[]): Uint8Array {
  if (calls.length === 0) return p.insns;
  const out = p.insns.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const c of calls) {
    const at = c.insn * 8;
    if (out[at] === LDDW_OPCODE) out[at + 1] = (out[at + 1]! & 0x0f) | (PseudoLd.BTF_ID << 4);
    dv.setInt32(at + 4, c.id, true);
  }
  return out;
}

const LDDW_OPCODE = Class.LD | Mode.IMM | Size.DW;

/** Programs of a spec that a kernel could load as they are (tracing ones too when the kernel's BTF names their target). */
export function kernelLoadable(spec: ObjectSpec, vmlinux?: Btf): ProgramSpec[] {
  if (spec.endianness !== 'little') return [];
  const typeOk = (p: ProgramSpec): boolean => LOADABLE.has(p.type) || (vmlinux !== undefined && attachBtfId(p, vmlinux) !== undefined);
  return spec.programs.filter((p) => typeOk(p) && p.coreRelos.every((r) => r.result !== undefined) && kfuncCalls(spec, p, vmlinux) !== undefined && !usesCallx(p));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const mapJson = (m: MapSpec): Record<string, unknown> => ({
  name: m.name,
  typeId: m.typeId,
  keySize: m.keySize,
  valueSize: m.valueSize,
  maxEntries: m.maxEntries,
  flags: m.flags,
  initial: m.initial ? hex(m.initial) : null,
  frozen: m.frozen === true,
  innerMap: m.innerMap ? mapJson(m.innerMap) : null,
  keyTypeId: m.keyTypeId ?? null,
  valueTypeId: m.valueTypeId ?? null,
});

export interface KernelResult {
  name: string;
  ok: boolean;
  error?: string;
  log?: string[];
  /** Set when the kernel refused the object's BTF (programs then load without it, as with libbpf). */
  btfError?: string;
}

/** Load the programs; undefined (with a reason) when bpf(2) is not usable here. */
export function kernelLoad(spec: ObjectSpec, programs: readonly ProgramSpec[], vmlinux?: Btf): KernelResult[] | string {
  if (process.getuid?.() !== 0) return 'needs root for bpf(2)';
  // The object's BTF (after the DATASEC fix-up) goes to the kernel with each
  // program's func_info and line_info, re-based by the linker: the kernel
  // checks that func_info marks exactly the start of every sub-function.
  const enc = spec.btf ? new BtfEncoder(sanitizeForKernel(spec.btf)) : undefined;
  const lineInfo = (p: ProgramSpec): number[][] =>
    enc ? p.lineInfo.map((l) => [l.insn, enc.stringOffset(l.file), enc.stringOffset(l.text), (l.line << 10) | l.col]) : [];
  const progs = programs.map((p) => ({
    name: p.name,
    typeId: p.typeId,
    expectedAttachTypeId: p.type === 'cgroup_skb' || p.type === 'tracing' ? (p.expectedAttachTypeId ?? null) : null,
    attachBtfId: vmlinux ? (attachBtfId(p, vmlinux) ?? null) : null,
    progFlags: p.progFlags,
    license: p.license,
    insns: hex(withKfuncIds(p, vmlinux ? (kfuncCalls(spec, p, vmlinux) ?? []) : [])),
    mapRefs: p.mapRefs,
    funcInfo: p.funcInfo,
    lineInfo: lineInfo(p),
  }));
  const input = JSON.stringify({ btf: enc ? hex(enc.finish()) : null, maps: spec.maps.map(mapJson), programs: progs });
  const r = spawnSync('python3', [HARNESS], { input, encoding: 'utf8', timeout: 20000 });
  if (r.error) return `kernel check unavailable: ${r.error.message}`;
  if (r.status === 77) return `kernel check unavailable: ${r.stderr.trim()}`;
  if (r.status !== 0) throw new Error(`harness failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as KernelResult[];
}
