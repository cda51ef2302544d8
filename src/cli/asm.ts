// `tsbpf asm FILE`: assembly text (conformance or LLVM dialect, or the asm
// section of a bpf_conformance .data file) -> instruction bytes.

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { assemble, type Dialect } from '../asm/assemble.js';
import { parseDataFile } from '../asm/data-file.js';
import { formatHexSlots } from '../asm/hex-text.js';
import { UsageError } from '../internal/errors.js';
import { EXIT_OK, type Command, type Io } from './command.js';

const HELP = `usage: tsbpf asm FILE [-o OUT] [--hex] [--dialect conformance|llvm|auto]

Assemble eBPF assembly into raw instruction bytes (8 bytes per slot,
little-endian). FILE may be - for standard input.

Dialects:
  conformance  bpf_conformance / uBPF syntax: mov32 %r0, 1; ldxw %r2, [%r1+4]
  llvm         LLVM syntax as llvm-objdump prints it: w0 = 0x1; r2 = *(u32 *)(r1 + 0x4)
               (pasted objdump output, with its address and byte columns, works)
  auto         conformance if any line uses a %r register, else llvm (default)
A FILE ending in .data is read as a bpf_conformance test and its -- asm section assembled.

Options:
  -o, --output OUT   write the bytes to OUT (- for stdout)
  --hex              write hex text, one instruction slot per line (the default
                     when there is no -o)
  --dialect D        conformance, llvm or auto

Exit status: 0 on success, 1 when the text does not assemble (the message
gives file:line:column and what was expected), 2 on bad usage.`;

/** Read FILE, or standard input for `-`. A missing file is a usage error. */
export async function readInput(file: string, io: Io): Promise<Uint8Array> {
  if (file === '-') return io.readStdin();
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function dialectOf(v: string | undefined): Dialect {
  if (v === undefined) return 'auto';
  if (v === 'conformance' || v === 'llvm' || v === 'auto') return v;
  throw new UsageError(`unknown dialect '${v}' (expected conformance, llvm or auto)`);
}

export const asm: Command = {
  name: 'asm',
  summary: 'assemble eBPF assembly (conformance or LLVM syntax) into instruction bytes',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: { output: { type: 'string', short: 'o' }, hex: { type: 'boolean' }, dialect: { type: 'string' } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError(`expected one input FILE, got ${positionals.length}`);
    const file = positionals[0]!;
    const dialect = dialectOf(values.dialect);
    let text = new TextDecoder().decode(await readInput(file, io));
    const name = file === '-' ? '<stdin>' : file;
    let firstLine = 1;
    if (file.endsWith('.data')) {
      const data = parseDataFile(text, name);
      text = data.asm;
      firstLine = data.asmLine;
    }
    const bytes = assemble(text, { dialect, file: name, firstLine });
    const out = values.output;
    if (out === undefined || out === '-') {
      if (out === '-' && values.hex !== true) {
        process.stdout.write(bytes);
        return EXIT_OK;
      }
      io.out(formatHexSlots(bytes).trimEnd());
      return EXIT_OK;
    }
    await writeFile(out, values.hex === true ? formatHexSlots(bytes) : bytes);
    return EXIT_OK;
  },
};
