// tsbpf check FILE.o [--prog NAME] [--type T] [--btf FILE|kernel] [--json] [--log-level N]: run
// the verifier on an object's programs, the same check the runtime does
// before it runs one. Exit status 0 when every checked program is safe, 1
// when one is not (with the verifier log), 2 for usage errors.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadObject } from '../elf/load.js';
import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { decodeProgram } from '../isa/decode.js';
import { verify } from '../verifier/verify.js';
import { objectVerifyOptions, unrelocatedMapLoads } from '../verifier/object.js';
import { attachCtxSize } from '../runtime/verify.js';
import { kernelBtfFor } from '../verifier/kfuncs-vmlinux.js';
import { loadTargets } from '../elf/target-btf.js';
import { BPF_PROG_TYPE, nameOf } from '../internal/uapi.gen.js';
import { UsageError } from '../internal/errors.js';
import { EXIT_FAIL, EXIT_OK, type Command } from './command.js';

const HELP = `usage: tsbpf check FILE.o [--prog NAME] [--type T] [--btf FILE|kernel] [--json] [--log-level N]

Verify the programs of a BPF object file: prove each one safe the way the
Linux verifier does (control flow, register and stack state, context,
map, packet and helper rules), before anything runs.

  --prog NAME      check only this program (function name); repeatable
  --type T         program type for programs whose section does not say it:
                   a kernel name (xdp, socket_filter, sched_cls, kprobe...) or its number
  --btf FILE       apply the object's CO-RE relocations first, against FILE's BTF
                   (raw or an ELF's .BTF) or 'kernel' (the running kernel's), as
                   libbpf would load it; default: checked as compiled
  --json           print [{program, section, type, verdict, error?, insn?, line?, processed, ms}]
  --log-level N    1 (default): the failing path; 2: every state

Exit status: 0 when every checked program is accepted, 1 when one is
rejected (its log is printed), 2 for bad arguments.`;

export interface CheckRow {
  program: string;
  section: string;
  type: string;
  verdict: 'accept' | 'reject';
  error?: string;
  insn?: number;
  line?: string;
  processed: number;
  ms: number;
}

/** A kernel program type name or number -> BPF_PROG_TYPE_* number. */
export function parseProgType(t: string): number {
  if (/^\d+$/.test(t)) return Number(t);
  const n = BPF_PROG_TYPE[t.toLowerCase().replace(/^bpf_prog_type_/, '')];
  if (n === undefined) throw new UsageError(`unknown program type '${t}' (a kernel name such as xdp, socket_filter, sched_cls, kprobe, or a number)`);
  return n;
}

export { verifierMaps, unrelocatedMapLoads } from '../verifier/object.js';

/** Verify one program of a loaded object. */
export function checkProgram(spec: ObjectSpec, p: ProgramSpec, typeOverride: number | undefined, logLevel: number): CheckRow & { log: string } {
  const progType = typeOverride ?? p.typeId;
  const typeName = nameOf(BPF_PROG_TYPE, progType) ?? String(progType);
  const t0 = performance.now();
  if (progType <= 0) {
    return {
      program: p.name, section: p.section, type: typeName, verdict: 'reject', processed: 0, ms: 0,
      error: `section '${p.section}' does not name a program type; pass --type`, log: '',
    };
  }
  const prog = decodeProgram(unrelocatedMapLoads(p), { validate: false });
  // Programs attached in Node read their own struct (src/attach), laid out from offset 0.
  const ctxSize = attachCtxSize(spec, p);
  // Kernel objects (kfunc and bpf_get_current_task_btf results) are read by the running kernel's BTF, when it has one.
  const kernelBtf = kernelBtfFor(p);
  const r = verify(prog, objectVerifyOptions(spec, p, { progType, logLevel, ...(ctxSize !== undefined ? { ctxSize } : {}), ...(kernelBtf ? { kernelBtf } : {}) }));
  const ms = Math.round((performance.now() - t0) * 100) / 100;
  const row: CheckRow & { log: string } = {
    program: p.name, section: p.section, type: typeName, verdict: r.ok ? 'accept' : 'reject', processed: r.processed, ms, log: r.log,
  };
  if (r.error) {
    row.error = r.error.reason;
    row.insn = r.error.insn;
    if (r.error.sourceLine) row.line = r.error.sourceLine;
  }
  return row;
}

export const check: Command = {
  name: 'check',
  summary: 'verify the programs of an object file (exit 0 when all are safe)',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        prog: { type: 'string', multiple: true },
        type: { type: 'string' },
        btf: { type: 'string' },
        json: { type: 'boolean', default: false },
        'log-level': { type: 'string', default: '1' },
      },
    });
    if (positionals.length !== 1) throw new UsageError('expected one object file (tsbpf check FILE.o)');
    const file = positionals[0]!;
    const level = Number(values['log-level']);
    if (!Number.isInteger(level) || level < 1 || level > 2) throw new UsageError(`--log-level must be 1 or 2, not '${values['log-level']}'`);
    const typeOverride = values.type !== undefined ? parseProgType(values.type) : undefined;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const compiled = loadObject(bytes, { file });
    // relocated as libbpf would load it: the verifier then reads CO-RE type ids in the target (ObjectSpec.coreTarget)
    const spec = values.btf === undefined ? compiled : loadObject(bytes, { file, ...loadTargets(compiled, values.btf, 'none') });
    let programs = spec.programs;
    if (values.prog) {
      const want = values.prog;
      const missing = want.filter((n) => !programs.some((p) => p.name === n));
      if (missing.length) throw new UsageError(`no program named ${missing.join(', ')} in ${file} (has ${programs.map((p) => p.name).join(', ') || 'none'})`);
      programs = programs.filter((p) => want.includes(p.name));
    }
    if (programs.length === 0) throw new UsageError(`${file} has no programs`);
    const rows = programs.map((p) => checkProgram(spec, p, typeOverride, level));
    if (values.json) {
      io.out(JSON.stringify(rows.map(({ log: _log, ...r }) => r), null, 2));
    } else {
      for (const r of rows) {
        if (r.verdict === 'accept') {
          io.out(`${r.program} (${r.section}, ${r.type}): accepted, ${r.processed} insns processed in ${r.ms} ms`);
          if (level >= 2) io.out(r.log);
        } else {
          io.out(`${r.program} (${r.section}, ${r.type}): rejected${r.insn !== undefined ? ` at insn ${r.insn}` : ''}: ${r.error}`);
          if (r.log) io.out(r.log);
        }
      }
    }
    return rows.every((r) => r.verdict === 'accept') ? EXIT_OK : EXIT_FAIL;
  },
};
