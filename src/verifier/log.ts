// The verifier log, in the kernel's format: `12: (bf) r1 = r6`, state lines
// `0: R1=ctx() R10=fp0`, `; source line @ file:line`, and the final
// `processed N insns (limit 1000000) ...` line. Instruction text comes from
// the one disassembler (src/asm/disassemble.ts); kernelStyle() is a thin
// adapter for the few places where the kernel's disasm.c prints differently
// from LLVM (decimal immediates, `pc+N` targets, `(r10 -8)` operands).

import { formatInsn } from '../asm/disassemble.js';
import type { Program } from '../isa/decode.js';
import { INSNS, Shape } from '../isa/table.js';
import { nameOf, BPF_FUNC } from '../internal/uapi.gen.js';

/** Kernel helper name as the log prints it: bpf_map_lookup_elem#1, unknown#999. */
export function helperLogName(id: number): string {
  const n = nameOf(BPF_FUNC, id);
  return n !== undefined ? `bpf_${n}#${id}` : `unknown#${id}`;
}

const HEX = /(-?)0x([0-9a-f]+)/;

function hexToDec(tok: string): string {
  const m = HEX.exec(tok);
  if (!m) return tok;
  return (m[1] ? '-' : '') + BigInt('0x' + m[2]).toString();
}

/** `r10 - 0x8` -> `r10 -8`, `r1 + 0x4c` -> `r1 +76`. */
function kernelMem(text: string): string {
  return text.replace(/\((r\d+) ([+-]) 0x([0-9a-f]+)\)/g, (_m, r: string, s: string, h: string) => `(${r} ${s}${parseInt(h, 16)})`);
}

/** Text of instruction i as the kernel's verifier log prints it (without the `N: (op) ` prefix). */
export function kernelStyle(prog: Program, i: number, mapName?: (src: number, imm: number) => string): string {
  const def = INSNS[prog.op[i]!]!;
  const rel = (t: number): string => {
    const d = t - i - 1;
    return d < 0 ? `pc${d}` : `pc+${d}`;
  };
  const text = formatInsn(prog, i, {
    alu32: def.shape === Shape.Atomic,
    labelOf: rel,
    symbols: {
      helper: (id) => helperLogName(id),
      pseudo: (src, imm) => mapName?.(src, imm) ?? `map[id:${imm}]`,
    },
  });
  const imm = prog.imm[i]!;
  switch (def.shape) {
    case Shape.AluImm:
      return text.replace(/ (-?0x[0-9a-f]+)$/, (_m, h: string) => ' ' + hexToDec(h));
    case Shape.Store:
      return kernelMem(text).replace(/= (-?0x[0-9a-f]+)$/, (_m, h: string) => '= ' + hexToDec(h));
    case Shape.Load:
    case Shape.LoadSx:
    case Shape.StoreReg:
      return kernelMem(text);
    case Shape.Atomic: {
      // disasm.c spells atomics differently from LLVM (atomic64_fetch_add((u64 *)(r10 -8), r1)),
      // so this one shape is written out from the row here.
      const dst = prog.dst[i]!, src = prog.src[i]!, off = prog.off[i]!;
      const mem = `(u${def.width} *)(r${dst} ${off < 0 ? off : '+' + off})`;
      const fam = def.width === 64 ? 'atomic64' : 'atomic';
      if (def.llvm.endsWith('=')) return `lock *${mem} ${def.llvm} r${src}`;
      if (def.llvm === 'cmpxchg') return `r0 = ${fam}_cmpxchg(${mem}, r0, r${src})`;
      if (def.llvm === 'xchg') return `r${src} = ${fam}_xchg(${mem}, r${src})`;
      return `r${src} = ${fam}_${def.llvm.replace(/^atomic_/, '')}(${mem}, r${src})`;
    }
    case Shape.Lddw:
      return text.replace(/ ll$/, '').replace(/= (-?0x[0-9a-f]+)$/, (_m, h: string) => `= 0x${BigInt.asUintN(64, BigInt(h.startsWith('-') ? '-' + h.slice(1) : h)).toString(16)}`);
    case Shape.LdAbs:
      return `r0 = *(${def.llvm} *)skb[${imm}]`;
    case Shape.LdInd:
      return `r0 = *(${def.llvm} *)skb[r${prog.src[i]!} + ${imm}]`;
    case Shape.JmpImm:
      return text.replace(/ (-?0x[0-9a-f]+) goto/, () => ` 0x${(imm >>> 0).toString(16)} goto`);
    case Shape.CallLocal:
      return `call ${rel(i + 1 + imm)}`;
    case Shape.CallKfunc:
      return `call kernel-function`;
    default:
      return text;
  }
}

/** Spaces between an instruction of `len` characters and its `; state` comment (the kernel's vlog_alignment). */
export function commentPad(len: number): number {
  return Math.ceil(Math.max(len + 5, 40) / 8) * 8 - len - 2;
}

/** `12: (bf) r1 = r6` */
export function kernelInsnLine(prog: Program, i: number, mapName?: (src: number, imm: number) => string): string {
  return `${i}: (${prog.opcode[i]!.toString(16).padStart(2, '0')}) ${kernelStyle(prog, i, mapName)}`;
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
