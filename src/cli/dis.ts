// `tsbpf dis FILE`: instruction bytes (raw, hex text, or an ELF object) ->
// LLVM assembly, one instruction per line as llvm-objdump prints it.

import { parseArgs } from 'node:util';
import { disassembleProgram } from '../asm/disassemble.js';
import { decodeProgram } from '../isa/decode.js';
import { UsageError } from '../internal/errors.js';
import { BPF_FUNC, nameOf } from '../internal/uapi.gen.js';
import { readInput } from './asm.js';
import { EXIT_OK, type Command } from './command.js';
import { disassembleObject, disassembleObjectFile, isElfObject } from './dis-object.js';
import { loadObject } from '../elf/load.js';
import { KERNEL_BTF_PATH, readTargetBtf } from '../elf/target-btf.js';
import { programFromInput } from './run.js';

const HELP = `usage: tsbpf dis FILE [--hex-input] [--raw-bytes] [--labels] [--cpu v1|v3] [--kernel]
       tsbpf dis FILE.o [--section S] [--source] [--no-raw-bytes] [--btf FILE|kernel]

Disassemble eBPF instructions into LLVM syntax, the way llvm-objdump-19 -d
prints them, one instruction per line with its slot index. FILE may be - for
standard input. An ELF object (BPF .o) is detected by its magic and its
programs are listed with map and helper names.

Options for raw programs:
  --hex-input     FILE is hex text (b7 00 00 00 01 00 00 00 ..., # comments)
                  rather than binary
  --raw-bytes     add objdump's raw byte column
  --labels        name jump and call targets L<slot> so the output can be
                  assembled again (tsbpf asm) to the same bytes
  --helper-names  print call 0x1 as call bpf_map_lookup_elem
  --cpu v1|v3     v3 (default) prints narrow loads/stores with wN registers,
                  as llvm-objdump --mcpu=v3; v1 prints them as plain objdump does
  --kernel        print as the Linux verifier log does: N: (07) r1 += -8
Options for objects:
  --section S     only the program in section (or named) S
  --source        interleave C source lines from BTF line info
  --no-raw-bytes  leave out the raw byte column
  --btf FILE      show the instructions after CO-RE relocation against this
                  BTF (raw or an ELF's .BTF; 'kernel' = ${KERNEL_BTF_PATH})

Exit status: 0 on success, 1 when the input is not a program (length not a
multiple of 8, bad hex text, malformed object), 2 on bad usage.`;

export const dis: Command = {
  name: 'dis',
  summary: 'disassemble eBPF bytes, hex text or an object file into LLVM syntax',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        'hex-input': { type: 'boolean' },
        'raw-bytes': { type: 'boolean' },
        'no-raw-bytes': { type: 'boolean' },
        labels: { type: 'boolean' },
        'helper-names': { type: 'boolean' },
        cpu: { type: 'string' },
        kernel: { type: 'boolean' },
        section: { type: 'string' },
        source: { type: 'boolean' },
        btf: { type: 'string' },
      },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError(`expected one input FILE, got ${positionals.length}`);
    const file = positionals[0]!;
    const cpu = values.cpu ?? 'v3';
    if (!['v1', 'v2', 'v3', 'v4'].includes(cpu)) throw new UsageError(`unknown cpu '${cpu}' (expected v1, v2, v3 or v4)`);
    const input = await readInput(file, io);
    if (values['hex-input'] !== true && isElfObject(input)) {
      if (file === '-') throw new UsageError('object files must be named, not read from stdin');
      const opts: { section?: string; source?: boolean; rawBytes?: boolean } = { rawBytes: values['no-raw-bytes'] !== true };
      if (values.section !== undefined) opts.section = values.section;
      if (values.source === true) opts.source = true;
      if (values.btf !== undefined) {
        const target = readTargetBtf(values.btf === 'kernel' ? KERNEL_BTF_PATH : values.btf);
        io.out(disassembleObject(loadObject(input, { file, coreTarget: target }), opts));
      } else {
        io.out(await disassembleObjectFile(file, opts));
      }
      return EXIT_OK;
    }
    if (values.section !== undefined || values.source === true || values.btf !== undefined) throw new UsageError('--section, --source and --btf apply to object files only');
    const name = file === '-' ? '<stdin>' : file;
    // Same content detection as `run`: raw bytes, hex text, assembly or a .data file.
    const bytes = programFromInput(input, name, values['hex-input'] === true).bytes;
    // No validation: show what is there, with <unknown> for non-instructions.
    const prog = decodeProgram(bytes, { validate: false });
    if (values.kernel === true && values.labels === true) throw new UsageError('--kernel cannot be combined with --labels');
    const lines = disassembleProgram(prog, {
      index: true,
      rawBytes: values['raw-bytes'] === true,
      labels: values.labels === true,
      alu32: cpu === 'v3' || cpu === 'v4',
      syntax: values.kernel === true ? 'kernel' : 'llvm',
      symbols:
        values['helper-names'] === true
          ? {
              helper: (id) => {
                const n = nameOf(BPF_FUNC, id);
                return n === undefined ? undefined : `bpf_${n}`;
              },
            }
          : {},
    });
    if (lines.length > 0) io.out(lines.join('\n'));
    return EXIT_OK;
  },
};
