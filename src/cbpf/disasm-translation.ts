// The eBPF translation of a classic program as LLVM-syntax text, with each
// classic instruction (in tcpdump -d form) as a comment before the eBPF
// instructions it became, and a note at the shared `return 0` tail.

import { disassembleProgram, type DisassembleOptions } from '../asm/disassemble.js';
import { decodeProgram } from '../isa/decode.js';
import { formatClassicInsn } from './disasm.js';
import type { ClassicProgram } from './insn.js';
import type { Translation } from './translate.js';

/** One line per eBPF instruction (with its slot index) and one comment line per classic instruction. */
export function disassembleTranslation(prog: ClassicProgram, t: Translation, options: Omit<DisassembleOptions, 'lineInfo'> = {}): string[] {
  const starts = new Map<number, string[]>();
  for (let pc = 0; pc < prog.length; pc++) {
    const slot = t.pcMap[pc]!;
    if (slot < 0) continue; // unreachable: not translated
    const list = starts.get(slot) ?? [];
    list.push(formatClassicInsn(prog[pc]!, pc));
    starts.set(slot, list);
  }
  return disassembleProgram(decodeProgram(t.ebpf), {
    index: true,
    ...options,
    lineInfo: (slot) => (slot === t.failSlot ? 'out of packet / division by zero: return 0' : starts.get(slot)?.join('\n; ')),
  });
}
