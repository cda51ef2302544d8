// `tsbpf dis FILE.o`: disassemble the linked programs of an object file, with
// map names at map references, helper names at calls, a label at each
// function, and (with source) the C line before the instructions it produced,
// like `llvm-objdump -S`. The dis verb calls disassembleObjectFile.

import { readFile } from 'node:fs/promises';
import { disassembleProgram } from '../asm/disassemble.js';
import { LineTable } from '../btf/line-info.js';
import { loadObject } from '../elf/load.js';
import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { decodeProgram } from '../isa/decode.js';
import { PseudoLd } from '../isa/fields.js';
import { ElfError } from '../internal/errors.js';
import { BPF_FUNC, nameOf } from '../internal/uapi.gen.js';

export interface DisObjectOptions {
  /** Only programs in this ELF section (or with this program name). */
  section?: string;
  /** Interleave source lines from BTF line info. */
  source?: boolean;
  /** Show raw instruction bytes (default true, like objdump -d). */
  rawBytes?: boolean;
}

/** True when the bytes start with the ELF magic, so `dis` can tell objects from raw programs. */
export function isElfObject(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

export function disassembleProgramSpec(spec: ObjectSpec, p: ProgramSpec, options: DisObjectOptions = {}): string[] {
  const prog = decodeProgram(p.insns, { validate: false });
  const lines = options.source ? new LineTable(p.lineInfo) : undefined;
  let lastLine = '';
  const text = disassembleProgram(prog, {
    index: true,
    rawBytes: options.rawBytes ?? true,
    symbols: {
      helper: (id) => {
        const n = nameOf(BPF_FUNC, id);
        return n === undefined ? undefined : `bpf_${n}`;
      },
      pseudo: (src, imm, immHi, slot) => {
        if (src === PseudoLd.FUNC) {
          const fn = p.functions.find((f) => f.insn === slot + 1 + imm);
          return fn ? `func[${fn.name}]` : undefined;
        }
        const m = spec.maps[imm];
        if (src === PseudoLd.MAP_FD && m) return `map[${m.name}]`;
        if (src === PseudoLd.MAP_VALUE && m) return `map[${m.name}]${immHi ? `+${immHi}` : ''}`;
        return undefined;
      },
    },
    lineInfo: (slot) => {
      const l = lines?.startsAt(slot);
      if (!l) return undefined;
      // objdump -S prints a line once, even when several records repeat it.
      const key = `${l.file}:${l.line}:${l.text}`;
      if (key === lastLine || l.text === '') return undefined;
      lastLine = key;
      return l.text.trim();
    },
  });
  const starts = new Map(p.functions.map((f) => [f.insn, f.name]));
  const out: string[] = [];
  for (const line of text) {
    const m = /^\s*(\d+):\t/.exec(line);
    const fn = m ? starts.get(Number(m[1])) : undefined;
    if (fn !== undefined) {
      // Put the label before any '; source' lines that belong to the same instruction.
      let k = out.length;
      while (k > 0 && out[k - 1]!.startsWith('; ')) k--;
      out.splice(k, 0, '', `${fn}:`);
      starts.delete(Number(m![1]));
    }
    out.push(line);
  }
  return out;
}

export function disassembleObject(spec: ObjectSpec, options: DisObjectOptions = {}): string {
  const programs = spec.programs.filter((p) => options.section === undefined || p.section === options.section || p.name === options.section);
  if (programs.length === 0) {
    const known = spec.programs.map((p) => `${p.section} (${p.name})`).join(', ') || 'none';
    throw new ElfError(`no program in section ${options.section ?? '(any)'}; programs: ${known}`, spec.file);
  }
  const out: string[] = [];
  for (const p of programs) {
    out.push(`Disassembly of program ${p.name} (section ${p.section}, type ${p.type}, ${p.insns.length / 8} instructions):`);
    for (const line of disassembleProgramSpec(spec, p, options)) out.push(line);
    out.push('');
  }
  return out.join('\n');
}

/** Read, load and disassemble an object file (for the dis verb). */
export async function disassembleObjectFile(file: string, options: DisObjectOptions = {}): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new ElfError(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
  }
  return disassembleObject(loadObject(bytes, { file }), options);
}
