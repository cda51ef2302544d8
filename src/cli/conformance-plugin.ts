// `tsbpf conformance-plugin`: the plugin process of the bpf_conformance runner
// (shared/conformance/FORMAT.md §4.2), so the upstream C++ runner can test
// tsbpf directly:
//   bpf_conformance_runner --test_file_directory tests \
//     --plugin_path tsbpf-plugin.sh --plugin_options "--interpret"
// where tsbpf-plugin.sh is `exec node dist/src/cli/main.js conformance-plugin "$@"`.
//
// argv: [<mem-hex>] [--interpret|--jit] [--debug] [--elf]; stdin: the
// program as hex bytes on one line. Success prints r0 in bare lower-case hex
// and exits 0; failure prints the reason and exits 1.

import { parseElf, SHF, STT } from '../elf/elf-file.js';
import { decodeProgram } from '../isa/decode.js';
import { ElfError, ProgramError, UsageError } from '../internal/errors.js';
import { conformanceHelpers } from '../helpers/test-helpers.js';
import { checkRegisterInit } from '../verifier/init-check.js';
import { hasEngine } from '../vm/engines.js';
import { createVm } from '../vm/vm.js';
import { disassembleProgram } from '../asm/disassemble.js';
import { EXIT_OK, type Command } from './command.js';
import { traceHook } from './run.js';

const HELP = `usage: tsbpf conformance-plugin [MEM-HEX] [--interpret | --jit] [--debug] [--elf]

Plugin for the bpf_conformance runner. Reads the program from stdin as hex
bytes ("b7  00  00  00 ..."; unparsable tokens are ignored), takes the input
memory as one argument in the same format, runs the program and prints r0 in
hex. r1 = memory address, r2 = its length; helper 5 returns r1.

Options:
  --interpret  run on the interpreter (default)
  --jit        run on the WebAssembly JIT (fails if this build has none)
  --debug      print the disassembly and an instruction trace to stderr
  --elf        stdin holds an ELF object; run the function 'main' (or .text)

Exit status: 0 with r0 on stdout; 1 when the program is rejected or faults;
2 on bad usage.`;

/** Hex bytes separated by whitespace; tokens that are not a hex byte are skipped, as the runner's own plugins do. */
export function parsePluginHex(text: string): Uint8Array {
  const out: number[] = [];
  for (const tok of text.split(/\s+/)) {
    if (/^[0-9a-fA-F]{1,2}$/.test(tok)) out.push(parseInt(tok, 16));
  }
  return Uint8Array.from(out);
}

/** The instructions of an ELF object: the function `main`, else its code section. */
export function codeFromElf(bytes: Uint8Array): Uint8Array {
  const elf = parseElf(bytes, '<stdin>');
  const main = elf.symbols.find((s) => s.name === 'main' && s.type === STT.FUNC);
  if (main !== undefined) {
    const sec = elf.sections[main.shndx];
    if (sec === undefined) throw new ElfError(`symbol main points at missing section ${main.shndx}`, '<stdin>');
    const size = main.size > 0 ? main.size : sec.data.length - main.value;
    return sec.data.subarray(main.value, main.value + size);
  }
  // no main: the (only) non-empty code section, preferring .text and xdp
  const code = elf.sections.filter((s) => (s.flags & SHF.EXECINSTR) !== 0 && s.data.length > 0);
  const pick = code.find((s) => s.name === '.text' || s.name === 'xdp') ?? (code.length === 1 ? code[0] : undefined);
  if (pick === undefined) {
    throw new ElfError(code.length === 0 ? 'no main symbol and no code section' : `no main symbol and ${code.length} code sections (${code.map((s) => s.name).join(', ')})`, '<stdin>');
  }
  return pick.data;
}

export const conformancePlugin: Command = {
  name: 'conformance-plugin',
  summary: 'plugin process for the bpf_conformance runner (program hex on stdin, r0 on stdout)',
  help: HELP,
  async run(args, io) {
    let engine = 'interp';
    let debug = false;
    let elf = false;
    let memHex: string | undefined;
    for (const a of args) {
      if (a === '--interpret') engine = 'interp';
      else if (a === '--jit') engine = 'jit';
      else if (a === '--debug') debug = true;
      else if (a === '--elf') elf = true;
      else if (a.startsWith('--')) throw new UsageError(`unknown option '${a}'`);
      else if (memHex === undefined) memHex = a;
      else throw new UsageError('more than one memory argument');
    }
    if (!hasEngine(engine)) throw new ProgramError(0, `engine '${engine}' is not available in this build`);
    const input = new TextDecoder().decode(await io.readStdin());
    const hex = parsePluginHex(input);
    const code = elf ? codeFromElf(hex) : hex;
    const prog = decodeProgram(code);
    if (prog.length === 0) throw new ProgramError(0, 'no instructions');
    if (debug) io.err(disassembleProgram(prog, { index: true }).join('\n'));
    checkRegisterInit(prog, { entryArgs: 2 });
    const vm = createVm({ helpers: conformanceHelpers() });
    const mem = memHex !== undefined ? parsePluginHex(memHex) : undefined;
    const trace = debug ? traceHook(prog, (l) => io.err(l)) : undefined;
    const final = new Int32Array(22);
    const r = vm.run(prog, { engine, ...(mem ? { mem } : {}), ...(trace ? { hook: trace.hook } : {}), regsOut: final });
    if (trace) trace.finish(final);
    io.out(r.r0.toString(16));
    return EXIT_OK;
  },
};
