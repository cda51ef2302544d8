// `tsbpf run FILE`: execute a program on the VM and print r0.
// FILE may be raw instruction bytes, hex text, assembly (conformance or LLVM
// dialect), or a bpf_conformance .data file (its memory is used unless --mem
// is given); the kind is detected from the content.

import { parseArgs } from 'node:util';
import { assemble } from '../asm/assemble.js';
import { parseDataFile } from '../asm/data-file.js';
import { formatInsn } from '../asm/disassemble.js';
import { parseHexText } from '../asm/hex-text.js';
import { decodeProgram, type Program } from '../isa/decode.js';
import { AsmError, UsageError } from '../internal/errors.js';
import { conformanceHelpers } from '../helpers/test-helpers.js';
import { checkRegisterInit } from '../verifier/init-check.js';
import { createVm } from '../vm/vm.js';
import { REG_FILE_LENGTH, type RegFile, type StepHook } from '../vm/types.js';
import { readInput } from './asm.js';
import { EXIT_OK, type Command, type Io } from './command.js';

const HELP = `usage: tsbpf run FILE [--mem HEX] [--trace] [--budget N] [--hex] [--engine NAME] [--no-check]

Run an eBPF program and print r0 in hex and decimal. FILE (or - for stdin) is
detected by content: raw instruction bytes (binary), hex text
(b7 00 00 00 2a 00 00 00 ...), assembly in the conformance (%r0) or LLVM
(r0 = 42) dialect, or a bpf_conformance .data file.

r1 holds the address of the input memory and r2 its length (0 and 0 without
memory); r10 is the frame pointer. Helper 5 (return r1) is available.

Options:
  --mem HEX      input memory as hex bytes ("00 01 02" or "000102")
  --trace        print each instruction as it executes, with the registers it changed
  --budget N     stop after N instructions (default 10000000)
  --hex          FILE is hex text (skip detection)
  --engine NAME  interp (default) or another registered engine (jit)
  --no-check     skip the register-initialisation check

Exit status: 0 when the program exits, 1 when it is rejected or faults
(the message names the instruction), 2 on bad usage.`;

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
  readonly kind: 'binary' | 'hex' | 'asm' | 'data';
  readonly mem?: Uint8Array;
}

/** Turn FILE contents into instruction bytes, detecting the kind. */
export function programFromInput(input: Uint8Array, name: string, forceHex: boolean): LoadedInput {
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
  const { values, positionals } = parseArgs({
    args,
    options: {
      mem: { type: 'string' },
      trace: { type: 'boolean' },
      budget: { type: 'string' },
      hex: { type: 'boolean' },
      engine: { type: 'string' },
      'no-check': { type: 'boolean' },
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
  const loaded = programFromInput(await readInput(file, io), name, values.hex === true);
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
  const r = vm.run(prog, {
    ...(mem ? { mem } : {}),
    ...(budget !== undefined ? { budget } : {}),
    ...(trace ? { hook: trace.hook } : {}),
    ...(values.engine !== undefined ? { engine: values.engine } : {}),
    regsOut: final,
  });
  if (trace) {
    trace.finish(final);
    io.out(`${r.insns} instructions`);
  }
  io.out(`r0 = ${formatValue(r.r0)}`);
  return EXIT_OK;
}

export const run: Command = {
  name: 'run',
  summary: 'run a program (bytes, hex, assembly or .data file) on the interpreter and print r0',
  help: HELP,
  run: runFile,
};
