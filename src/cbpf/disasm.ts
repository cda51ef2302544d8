// Classic programs as text: tcpdump's `-d` listing (libpcap's bpf_image
// format, byte for byte for every code libpcap knows), `-dd` (a C array) and
// `-ddd` (decimal). The operand forms come from the table in insn.ts.

import { ANCILLARY, Operand, SKF_AD_MAX, SKF_AD_OFF, classicDef, isCondJump, type ClassicInsn, type ClassicProgram } from './insn.js';

const PRINT_NAMES: ReadonlyMap<number, string> = new Map(ANCILLARY.map(([ad, printed]) => [ad, printed] as const));

const signed = (k: number): number => k | 0;
const hex = (k: number): string => '0x' + (k >>> 0).toString(16);

/** `[k]`, or `[name]` for a Linux ancillary offset, as bpf_image prints it. */
function absOperand(k: number): string {
  const u = k >>> 0;
  const base = SKF_AD_OFF >>> 0;
  if (u >= base && u < base + SKF_AD_MAX) {
    const name = PRINT_NAMES.get(u - base);
    if (name !== undefined) return `[${name}]`;
  }
  return `[${signed(k)}]`;
}

/** The operand text of one instruction at index n. */
function operandText(ins: ClassicInsn, n: number, form: Operand): string {
  switch (form) {
    case Operand.None:
      return '';
    case Operand.Abs:
      return absOperand(ins.k);
    case Operand.Ind:
      return `[x + ${signed(ins.k)}]`;
    case Operand.Len:
      return '#pktlen';
    case Operand.ImmHex:
      return '#' + hex(ins.k);
    case Operand.Mem:
      return `M[${signed(ins.k)}]`;
    case Operand.Msh:
      return `4*([${signed(ins.k)}]&0xf)`;
    case Operand.ImmDec:
      return `#${signed(ins.k)}`;
    case Operand.X:
      return 'x';
    case Operand.Target:
      return String(signed(n + 1 + ins.k));
  }
}

/** One line of `tcpdump -d`: `(004) jeq      #0x800           jt 5\tjf 9`. */
export function formatClassicInsn(ins: ClassicInsn, n: number): string {
  const d = classicDef(ins.code);
  const op = d ? d.name : 'unimp';
  const operand = d ? operandText(ins, n, d.operand) : hex(ins.code);
  const idx = String(n).padStart(3, '0');
  if (isCondJump(ins.code) && d !== undefined) {
    return `(${idx}) ${op.padEnd(8)} ${operand.padEnd(16)} jt ${n + 1 + ins.jt}\tjf ${n + 1 + ins.jf}`;
  }
  return `(${idx}) ${op.padEnd(8)} ${operand}`;
}

/** The whole program as `tcpdump -d` prints it (one line per instruction, each ending in a newline). */
export function disassembleClassic(prog: ClassicProgram): string {
  let out = '';
  for (let i = 0; i < prog.length; i++) out += formatClassicInsn(prog[i]!, i) + '\n';
  return out;
}

/** `tcpdump -dd`: one C initialiser per instruction. */
export function formatDd(prog: ClassicProgram): string {
  let out = '';
  for (const ins of prog) {
    out += `{ 0x${ins.code.toString(16)}, ${ins.jt}, ${ins.jf}, 0x${(ins.k >>> 0).toString(16).padStart(8, '0')} },\n`;
  }
  return out;
}

/** `tcpdump -ddd`: the count, then `code jt jf k` in decimal, one instruction per line. */
export function formatDdd(prog: ClassicProgram): string {
  let out = `${prog.length}\n`;
  for (const ins of prog) out += `${ins.code} ${ins.jt} ${ins.jf} ${ins.k >>> 0}\n`;
  return out;
}
