// `tsbpf run FILE`: execute a program on the VM and print r0.
// FILE may be raw instruction bytes, hex text, assembly (conformance or LLVM
// dialect), or a bpf_conformance .data file (its memory is used unless --mem
// is given); the kind is detected from the content.

import { parseArgs } from 'node:util';
import { assemble } from '../asm/assemble.js';
import { parseDataFile } from '../asm/data-file.js';
import { formatInsn } from '../asm/disassemble.js';
import { parseHexText } from '../asm/hex-text.js';
import { loadObject } from '../elf/load.js';
import { decodeProgram, type Program } from '../isa/decode.js';
import { AsmError, UsageError } from '../internal/errors.js';
import { conformanceHelpers } from '../helpers/test-helpers.js';
import { checkRegisterInit } from '../verifier/init-check.js';
import { createVm } from '../vm/vm.js';
import { REG_FILE_LENGTH, type RegFile, type StepHook } from '../vm/types.js';
import { readInput } from './asm.js';
import { EXIT_OK, type Command, type Io } from './command.js';
import { OBJECT_RUN_OPTIONS, RUN_OBJECT_HELP, runObject } from './run-object.js';

const HELP = `usage: tsbpf run FILE [--mem HEX] [--trace] [--budget N] [--hex] [--engine NAME] [--no-check]
                [--section S]

Run an eBPF program and print r0 in hex and decimal. FILE (or - for stdin) is
detected by content: raw instruction bytes (binary), hex text
(b7 00 00 00 2a 00 00 00 ...), assembly in the conformance (%r0) or LLVM
(r0 = 42) dialect, a bpf_conformance .data file, or a BPF ELF object (the
first program, or --section S; programs that use maps are not supported yet).

r1 holds the address of the input memory and r2 its length (0 and 0 without
memory); r10 is the frame pointer. Helper 5 (return r1) is available. For an
XDP program from an object, --mem is the packet and r1 points to a struct
xdp_md whose data/data_end delimit it.

Options:
  --mem HEX      input memory as hex bytes ("00 01 02" or "000102")
  --trace        print each instruction as it executes, with the registers it changed
  --budget N     stop after N instructions (default 10000000)
  --hex          FILE is hex text (skip detection)
  --engine NAME  interp (default) or another registered engine (jit)
  --no-check     skip the register-initialisation check
  --section S    the program of an object file to run (section or function name)

Exit status: 0 when the program exits, 1 when it is rejected or faults
(the message names the instruction), 2 on bad usage.

${RUN_OBJECT_HELP}`;

/** Does the input look like text (no control bytes other than tab, newline, carriage return)? */
function isText(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    if (c === 0x7f) return false;
  }
  return true;
}

export interface LoadedInput {
  readonly bytes: Uint8Array;
  readonly kind: 'binary' | 'hex' | 'asm' | 'data' | 'object';
  readonly mem?: Uint8Array;
  /** For objects: the program type from the section name ('xdp', ...). */
  readonly progType?: string;
}

const isElf = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

/** One program of an ELF object (by section or function name, else the first); it must need no maps. */
export function programFromObject(input: Uint8Array, name: string, section?: string): LoadedInput {
  const spec = loadObject(input, { file: name });
  const progs = spec.programs.filter((p) => section === undefined || p.section === section || p.name === section);
  const prog = progs[0];
  if (prog === undefined) {
    throw new UsageError(`${name}: no program${section !== undefined ? ` in section or named '${section}'` : ''} (have: ${spec.programs.map((p) => `${p.section}/${p.name}`).join(', ') || 'none'})`);
  }
  if (prog.mapRefs.length > 0) throw new UsageError(`${name}: program ${prog.name} uses maps: run it with --data PKT or --pcap IN.pcap (see --help)`);
  if (prog.externs.length > 0) throw new UsageError(`${name}: program ${prog.name} references externs (${prog.externs.join(', ')})`);
  return { bytes: prog.insns, kind: 'object', progType: prog.type };
}

/** Turn FILE contents into instruction bytes, detecting the kind. */
export function programFromInput(input: Uint8Array, name: string, forceHex: boolean, section?: string): LoadedInput {
  if (!forceHex && isElf(input)) return programFromObject(input, name, section);
  if (section !== undefined) throw new UsageError('--section applies to object files only');
  if (!forceHex && !isText(input)) return { bytes: input, kind: 'binary' };
  const text = new TextDecoder().decode(input);
  if (forceHex) return { bytes: parseHexText(text, name), kind: 'hex' };
  if (/^\s*--\s*(asm|raw|result|mem)\b/m.test(text)) {
    const df = parseDataFile(text, name);
    const bytes = df.raw ?? assemble(df.asm, { dialect: 'conformance', file: name, firstLine: df.asmLine });
    return df.mem ? { bytes, kind: 'data', mem: df.mem } : { bytes, kind: 'data' };
  }
  try {
    const bytes = parseHexText(text, name);
    if (bytes.length > 0 && bytes.length % 8 === 0) return { bytes, kind: 'hex' };
  } catch (e) {
    if (!(e instanceof AsmError)) throw e;
  }
  return { bytes: assemble(text, { dialect: 'auto', file: name }), kind: 'asm' };
}

/** `0x2a (42)`, and the signed value too when it differs. */
export function formatValue(v: bigint): string {
  const signed = BigInt.asIntN(64, v);
  return `0x${v.toString(16)} (${v}${signed !== v ? `, signed ${signed}` : ''})`;
}

const regValue = (regs: RegFile, r: number): bigint => (BigInt(regs[2 * r + 1]! >>> 0) << 32n) | BigInt(regs[2 * r]! >>> 0);

/** Registers whose value differs between two register files, as `rN = value` text. */
function changes(before: RegFile, after: RegFile): string {
  const parts: string[] = [];
  for (let r = 0; r <= 10; r++) {
    if (before[2 * r] !== after[2 * r] || before[2 * r + 1] !== after[2 * r + 1]) parts.push(`r${r} = 0x${regValue(after, r).toString(16)}`);
  }
  return parts.join(', ');
}

/** A hook that prints each executed instruction with the registers it changed. */
export function traceHook(prog: Program, out: (line: string) => void): { hook: StepHook; finish(final: RegFile): void } {
  const prev = new Int32Array(REG_FILE_LENGTH);
  let lastPc = -1;
  let lastDepth = 0;
  const emit = (now: RegFile): void => {
    if (lastPc < 0) return;
    const text = `${'  '.repeat(lastDepth)}${String(lastPc).padStart(4)}: ${formatInsn(prog, lastPc)}`;
    const ch = changes(prev, now);
    out(ch ? `${text.padEnd(44)} ; ${ch}` : text);
  };
  return {
    hook: (pc, _p, regs, depth) => {
      emit(regs);
      prev.set(regs);
      lastPc = pc;
      lastDepth = depth;
    },
    finish: (final) => emit(final),
  };
}

export async function runFile(args: string[], io: Io): Promise<number> {
  // objects with maps, packets and captures: the runtime path (run-object.ts)
  if (args.some((a) => OBJECT_RUN_OPTIONS.some((o) => a === `--${o}` || a.startsWith(`--${o}=`)))) return runObject(args, io);
  const { values, positionals } = parseArgs({
    args,
    options: {
      mem: { type: 'string' },
      trace: { type: 'boolean' },
      budget: { type: 'string' },
      hex: { type: 'boolean' },
      engine: { type: 'string' },
      'no-check': { type: 'boolean' },
      section: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError(`expected one input FILE, got ${positionals.length}`);
  const file = positionals[0]!;
  let budget: number | undefined;
  if (values.budget !== undefined) {
    if (!/^\d+$/.test(values.budget)) throw new UsageError(`--budget expects a non-negative integer, got '${values.budget}'`);
    budget = Number(values.budget);
  }
  const name = file === '-' ? '<stdin>' : file;
  const loaded = programFromInput(await readInput(file, io), name, values.hex === true, values.section);
  const engine = values.engine ?? 'interp';
  // Raw instructions have no program type to verify against: the unchecked engine is for verified objects only.
  if (engine === 'jit-verified') throw new UsageError('engine jit-verified runs without memory checks and only verified programs; a raw program is not verified here (use --engine jit, or tsbpf run FILE.o, which verifies)');
  if (values.trace === true && engine !== 'interp') throw new UsageError('--trace needs the interpreter (the hook is not called by other engines)');
  let mem = loaded.mem;
  if (values.mem !== undefined) {
    try {
      mem = parseHexText(values.mem, '--mem');
    } catch (e) {
      throw new UsageError(`--mem: ${(e as Error).message}`);
    }
  }
  const prog = decodeProgram(loaded.bytes);
  if (prog.length === 0) throw new UsageError(`${name}: no instructions`);
  if (values['no-check'] !== true) checkRegisterInit(prog, { entryArgs: 2 });

  const vm = createVm({ helpers: conformanceHelpers() });
  const final = new Int32Array(REG_FILE_LENGTH);
  const trace = values.trace === true ? traceHook(prog, (l) => io.out(l)) : undefined;
  const common = {
    engine,
    ...(budget !== undefined ? { budget } : {}),
    ...(trace ? { hook: trace.hook } : {}),
    regsOut: final,
  };
  let r;
  if (loaded.progType === 'xdp') {
    // struct xdp_md { u32 data; u32 data_end; ... } around the packet
    const data = mem ?? new Uint8Array(0);
    const pkt = vm.mem.alloc(data.length, { name: 'packet', kind: 'packet', init: data });
    const xdp = vm.mem.alloc(24, { name: 'xdp_md', kind: 'ctx', writable: false });
    vm.mem.dv.setUint32(xdp.start, pkt.start, true);
    vm.mem.dv.setUint32(xdp.start + 4, pkt.start + data.length, true);
    r = vm.run(prog, { ...common, args: [xdp.start] });
  } else {
    r = vm.run(prog, { ...common, ...(mem ? { mem } : {}) });
  }
  if (trace) {
    trace.finish(final);
    io.out(`${r.insns} instructions`);
  }
  io.out(`r0 = ${formatValue(r.r0)}`);
  return EXIT_OK;
}

export const run: Command = {
  name: 'run',
  summary: 'run a program (object file, bytes, hex, assembly or .data file) over packets or memory: retval, verdicts, maps',
  help: HELP,
  run: runFile,
};
