// The verifier log, in the kernel's format: `12: (bf) r1 = r6`, state lines
// `0: R1=ctx() R10=fp0`, `; source line @ file:line`, and the final
// `processed N insns (limit 1000000) ...` line. Instruction text comes from
// the one disassembler (src/asm/disassemble.ts) in its kernel syntax.

import { formatInsn, type SymbolHooks } from '../asm/disassemble.js';
import type { Program } from '../isa/decode.js';
import { nameOf, BPF_FUNC } from '../internal/uapi.gen.js';

/** Kernel helper name as the log prints it: bpf_map_lookup_elem#1, unknown#999. */
export function helperLogName(id: number): string {
  const n = nameOf(BPF_FUNC, id);
  return n !== undefined ? `bpf_${n}#${id}` : `unknown#${id}`;
}

/** Symbol hooks for the kernel printer: helper names as the kernel spells them, maps and functions by the caller's names. */
function kernelSymbols(mapName?: (src: number, imm: number) => string): SymbolHooks {
  return {
    helper: (id) => {
      const n = nameOf(BPF_FUNC, id);
      return n !== undefined ? `bpf_${n}` : 'unknown';
    },
    pseudo: (src, imm) => mapName?.(src, imm) ?? `map[id:${imm}]`,
  };
}

/**
 * `12: (bf) r1 = r6`: instruction i as the kernel's verifier log prints it,
 * from the one shared printer (src/asm/disassemble.ts, kernel syntax).
 */
export function kernelInsnLine(prog: Program, i: number, mapName?: (src: number, imm: number) => string): string {
  return `${i}: ${formatInsn(prog, i, { syntax: 'kernel', symbols: kernelSymbols(mapName) })}`;
}

/** Text of instruction i as the kernel's verifier log prints it, without the `N: (op) ` prefix. */
export function kernelStyle(prog: Program, i: number, mapName?: (src: number, imm: number) => string): string {
  return formatInsn(prog, i, { syntax: 'kernel', symbols: kernelSymbols(mapName) }).replace(/^\([0-9a-f]{2}\) /, '');
}

/** Spaces between an instruction of `len` characters and its `; state` comment (the kernel's vlog_alignment). */
export function commentPad(len: number): number {
  return Math.ceil(Math.max(len + 5, 40) / 8) * 8 - len - 2;
}

/**
 * The log buffer. Text is kept as an array of chunks so that, like the
 * kernel at level 1, the log can be rewound to where a branch was pushed
 * when that branch verifies cleanly.
 */
export class VerifierLog {
  private chunks: string[] = [];
  constructor(readonly level: number) {}

  get enabled(): boolean {
    return this.level > 0;
  }

  /** True when the last write left a line open (an instruction whose `; state` comment is pending). */
  private open = false;

  write(text: string): void {
    if (this.level > 0 && text) {
      this.chunks.push(text);
      this.open = !text.endsWith('\n');
    }
  }

  /** A whole line; an open instruction line is ended first, so messages never share its line. */
  line(text: string): void {
    if (this.level > 0) {
      this.chunks.push((this.open ? '\n' : '') + text + '\n');
      this.open = false;
    }
  }

  /** Position to rewind to later. */
  mark(): number {
    return this.chunks.length;
  }

  rewind(pos: number): void {
    if (pos < this.chunks.length) this.chunks.length = pos;
    this.open = this.chunks.length > 0 && !this.chunks[this.chunks.length - 1]!.endsWith('\n');
  }

  clear(): void {
    this.chunks = [];
    this.open = false;
  }

  text(): string {
    return this.chunks.join('');
  }
}

/** The kernel's closing statistics line. */
export function statsLine(processed: number, limit: number, maxStates: number, totalStates: number, peakStates: number): string {
  return `processed ${processed} insns (limit ${limit}) max_states_per_insn ${maxStates} total_states ${totalStates} peak_states ${peakStates} mark_read 0`;
}
