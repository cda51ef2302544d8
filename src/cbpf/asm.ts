// Classic BPF assembly text -> instructions. Two dialects share one parser:
//
//  - bpf_asm (Linux tools/bpf): `label:` definitions, `;` comments,
//    `jeq #0x800, ipv4, drop` with label targets, the two-target and
//    one-target (fall through on false) forms, the synthesised `jneq`,
//    `jlt`, `jle`, `ldi`/`ldxi`, `ld #len`, ancillary loads `ld #proto`.
//  - the `tcpdump -d` listing: `(004) jeq #0x800 jt 5 jf 9` with absolute
//    targets, `ja 11`, `[vlanp]`. A line is in this form when it starts
//    with `(NNN)`; the two forms may not be mixed in one program.
//
// Mnemonic + operand form select a row of CLASSIC_INSNS; no codes here.

import { AsmError } from '../internal/errors.js';
import {
  ANCILLARY,
  BPF_CLASS,
  CLASSIC_INSNS,
  Operand,
  SKF_AD_OFF,
  classOf,
  type ClassicDef,
  type ClassicInsn,
} from './insn.js';

/** A parsed operand, before it is matched to a table row. */
type Arg =
  | { kind: 'imm'; k: number }
  | { kind: 'len' }
  | { kind: 'abs'; k: number }
  | { kind: 'ind'; k: number }
  | { kind: 'mem'; k: number }
  | { kind: 'msh'; k: number }
  | { kind: 'x' }
  | { kind: 'a' }
  | { kind: 'word'; text: string };

/** Which table operand forms a parsed operand may fill. */
const FORMS: Record<Arg['kind'], readonly Operand[]> = {
  imm: [Operand.ImmHex, Operand.ImmDec],
  len: [Operand.Len],
  abs: [Operand.Abs],
  ind: [Operand.Ind],
  mem: [Operand.Mem],
  msh: [Operand.Msh],
  x: [Operand.X],
  a: [Operand.None],
  word: [],
};

/** bpf_asm spellings that are another mnemonic, maybe with the branch targets swapped. */
const ALIASES: ReadonlyMap<string, { name: string; swap: boolean }> = new Map([
  ['ldi', { name: 'ld', swap: false }],
  ['ldxi', { name: 'ldx', swap: false }],
  ['jmp', { name: 'ja', swap: false }],
  ['jneq', { name: 'jeq', swap: true }],
  ['jne', { name: 'jeq', swap: true }],
  ['jlt', { name: 'jge', swap: true }],
  ['jle', { name: 'jgt', swap: true }],
]);

const MNEMONICS: ReadonlySet<string> = new Set([...CLASSIC_INSNS.map((d) => d.name), ...ALIASES.keys()]);

const ANC_BY_NAME: ReadonlyMap<string, number> = new Map(
  ANCILLARY.flatMap(([ad, printed, names]) => [printed, ...names].map((n) => [n, ad] as const)),
);

const LABEL_RE = /^[A-Za-z_.$][\w.$]*$/;

/** Parse a number as C and bpf_asm write them: 0x hex, 0b binary, 0NNN octal, decimal, optional minus. */
export function parseClassicNumber(text: string): number | undefined {
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]+|[0-9]+)[uUlL]*$/.exec(text.trim());
  if (!m) return undefined;
  const body = m[2]!;
  let v: number;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body[0] === '0') v = parseInt(body.slice(1), 8);
  else v = parseInt(body, 10);
  if (m[1] === '-') v = -v;
  if (!Number.isSafeInteger(v) || v < -0x80000000 || v > 0xffffffff) return undefined;
  return v >>> 0;
}

interface Line {
  readonly no: number;
  readonly text: string;
  /** Column (1-based) where `text` starts in the source line. */
  readonly col: number;
}

interface Pending {
  readonly line: Line;
  readonly def: ClassicDef;
  readonly k: number;
  /** Targets, by label (bpf_asm) or absolute index (listing); undefined = next instruction. */
  readonly targets: readonly (string | number | undefined)[];
  readonly swap: boolean;
}

export interface ClassicAsmOptions {
  /** File name for error messages. */
  file?: string;
}

/** Assemble bpf_asm text or a tcpdump -d listing. Throws AsmError with line and column. */
export function assembleClassic(source: string, options: ClassicAsmOptions = {}): ClassicInsn[] {
  const file = options.file;
  const fail = (line: Line, reason: string, expected?: string, col = line.col): never => {
    throw new AsmError(line.no, col, reason, expected, file);
  };
  const labels = new Map<string, number>();
  const pending: Pending[] = [];
  let listing: boolean | undefined;

  const rawLines = source.split(/\r?\n/);
  for (let i = 0; i < rawLines.length; i++) {
    let text = stripComment(rawLines[i]!);
    let col = 1;
    const lead = /^\s*/.exec(text)![0].length;
    text = text.slice(lead);
    col += lead;
    if (text.trim() === '') continue;
    let line: Line = { no: i + 1, text, col };
    // `(NNN) ...`: a tcpdump -d listing line
    const idx = /^\((\d+)\)\s*/.exec(text);
    if (idx) {
      if (listing === false) fail(line, 'tcpdump -d listing line in a bpf_asm program');
      listing = true;
      if (Number(idx[1]) !== pending.length) fail(line, `listing index (${idx[1]}) out of sequence`, `(${String(pending.length).padStart(3, '0')})`);
      line = { no: line.no, text: text.slice(idx[0].length), col: col + idx[0].length };
    } else {
      // labels: `name:` possibly followed by an instruction
      const lab = /^([A-Za-z_.$][\w.$]*)\s*:\s*/.exec(text);
      if (lab && !MNEMONICS.has(lab[1]!.toLowerCase())) {
        if (listing === true) fail(line, 'label in a tcpdump -d listing');
        listing = false;
        const name = lab[1]!;
        if (labels.has(name)) fail(line, `label '${name}' defined twice`);
        labels.set(name, pending.length);
        line = { no: line.no, text: text.slice(lab[0].length), col: col + lab[0].length };
        if (line.text.trim() === '') continue;
      } else if (listing === undefined) {
        listing = false;
      }
    }
    pending.push(parseInsn(line, listing === true, fail));
  }

  // Resolve targets into jt/jf/k.
  const out: ClassicInsn[] = [];
  pending.forEach((p, pc) => {
    const resolve = (t: string | number | undefined): number => {
      if (t === undefined) return 0;
      let target: number;
      if (typeof t === 'number') target = t;
      else {
        const at = labels.get(t);
        if (at === undefined) return fail(p.line, `undefined label '${t}'`);
        target = at;
      }
      const rel = target - pc - 1;
      if (rel < 0) return fail(p.line, `jump to ${typeof t === 'string' ? `'${t}' (instruction ${target})` : target} goes backwards; classic BPF jumps only forward`);
      if (target >= pending.length) return fail(p.line, `jump target ${target} is past the end of the program (${pending.length} instructions)`);
      return rel;
    };
    if (p.def.operand === Operand.Target) {
      out.push({ code: p.def.code, jt: 0, jf: 0, k: resolve(p.targets[0]) >>> 0 });
    } else if (classOf(p.def.code) === BPF_CLASS.JMP) {
      let jt = resolve(p.targets[0]);
      let jf = resolve(p.targets[1]);
      if (p.swap) [jt, jf] = [jf, jt];
      if (jt > 255 || jf > 255) fail(p.line, `branch offset ${Math.max(jt, jf)} does not fit in 8 bits (use ja for long jumps)`);
      out.push({ code: p.def.code, jt, jf, k: p.k });
    } else {
      out.push({ code: p.def.code, jt: 0, jf: 0, k: p.k });
    }
  });
  return out;
}

function stripComment(s: string): string {
  const semi = s.indexOf(';');
  let t = semi >= 0 ? s.slice(0, semi) : s;
  const slash = t.indexOf('//');
  if (slash >= 0) t = t.slice(0, slash);
  return t.replace(/\/\*.*?\*\//g, '');
}

type Fail = (line: Line, reason: string, expected?: string, col?: number) => never;

function parseInsn(line: Line, listing: boolean, fail: Fail): Pending {
  const m = /^([A-Za-z]+)\b\s*(.*)$/.exec(line.text.trimEnd());
  if (!m) return fail(line, `expected an instruction, found '${line.text.trim()}'`, 'a mnemonic');
  const mnemonic = m[1]!.toLowerCase();
  const rest = m[2]!;
  const restCol = line.col + line.text.indexOf(rest, m[1]!.length);
  const alias = ALIASES.get(mnemonic);
  let name = alias?.name ?? mnemonic;
  const swap = alias?.swap ?? false;
  if (!CLASSIC_INSNS.some((d) => d.name === name)) return fail(line, `unknown mnemonic '${m[1]}'`);

  // Split the operands. In the listing, conditional jumps end in `jt N jf N`.
  let operandText = rest;
  let listingTargets: number[] | undefined;
  if (listing) {
    const jj = /\s*jt\s+(\d+)\s+jf\s+(\d+)\s*$/.exec(rest);
    if (jj) {
      listingTargets = [Number(jj[1]), Number(jj[2])];
      operandText = rest.slice(0, jj.index);
    }
  }
  const parts = operandText.trim() === '' ? [] : operandText.split(',').map((s) => s.trim());
  const args: Arg[] = parts.map((p) => parseArg(p, line, restCol + Math.max(0, operandText.indexOf(p)), fail));

  // `ldx 4*([k]&0xf)` is bpf_asm's spelling of ldxb.
  if (name === 'ldx' && args[0]?.kind === 'msh') name = 'ldxb';
  const candidates = CLASSIC_INSNS.filter((d) => d.name === name);
  const isJa = candidates[0]!.operand === Operand.Target;
  const isCond = !isJa && classOf(candidates[0]!.code) === BPF_CLASS.JMP;

  if (isJa) {
    if (args.length !== 1 || args[0]!.kind !== 'word' && args[0]!.kind !== 'imm') return fail(line, `${mnemonic} takes one target`, listing ? 'an instruction number' : 'a label');
    const a = args[0]!;
    const target = listing ? toIndex(a, line, fail) : labelOf(a, line, fail);
    return { line, def: candidates[0]!, k: 0, targets: [target], swap: false };
  }

  // The value operand: cond jumps take it first, then targets.
  const value: Arg = args[0] ?? { kind: 'a' };
  const def = candidates.find((d) => FORMS[value.kind].includes(d.operand) || (value.kind === 'a' && d.operand === Operand.None && args.length === 0));
  if (def === undefined) {
    const forms = candidates.map((d) => describeForm(d.operand)).join(' or ');
    return fail(line, `${mnemonic}: operand '${parts[0] ?? ''}' is not valid here`, forms);
  }
  if (value.kind === 'a' && args.length === 0 && def.operand !== Operand.None) return fail(line, `${mnemonic} needs an operand`, describeForm(def.operand));
  const k = 'k' in value ? value.k : 0;

  if (!isCond) {
    const max = value.kind === 'a' && args.length === 0 ? 0 : 1;
    if (args.length > max) return fail(line, `${mnemonic} takes ${max} operand${max === 1 ? '' : 's'}, found ${args.length}`);
    return { line, def, k, targets: [], swap: false };
  }
  if (listing) {
    if (!listingTargets) return fail(line, `${mnemonic} needs 'jt N jf N' in a listing`);
    if (args.length !== 1) return fail(line, `${mnemonic} takes one value operand`);
    return { line, def, k, targets: listingTargets, swap };
  }
  if (args.length < 2 || args.length > 3) return fail(line, `${mnemonic} takes a value and one or two labels`, `${mnemonic} #k, ltrue[, lfalse]`);
  const targets = args.slice(1).map((a) => labelOf(a, line, fail));
  return { line, def, k, targets: [targets[0], targets[1]], swap };
}

function labelOf(a: Arg, line: Line, fail: Fail): string {
  if (a.kind !== 'word' || !LABEL_RE.test(a.text)) return fail(line, 'expected a label');
  return a.text;
}

function toIndex(a: Arg, line: Line, fail: Fail): number {
  const n = a.kind === 'word' ? parseClassicNumber(a.text) : undefined;
  if (n === undefined) return fail(line, 'expected an instruction number');
  return n;
}

function describeForm(o: Operand): string {
  switch (o) {
    case Operand.None:
      return 'no operand';
    case Operand.Abs:
      return '[k]';
    case Operand.Ind:
      return '[x + k]';
    case Operand.Len:
      return '#len';
    case Operand.ImmHex:
    case Operand.ImmDec:
      return '#k';
    case Operand.Mem:
      return 'M[k]';
    case Operand.Msh:
      return '4*([k]&0xf)';
    case Operand.X:
      return 'x';
    case Operand.Target:
      return 'a label';
  }
}

function parseArg(text: string, line: Line, col: number, fail: Fail): Arg {
  const s = text.replace(/\s+/g, '');
  const num = (t: string): number => {
    const v = parseClassicNumber(t);
    if (v === undefined) return fail(line, `bad number '${t}'`, 'a 32-bit number', col);
    return v;
  };
  const lower = s.toLowerCase();
  if (lower === 'x' || lower === '%x') return { kind: 'x' };
  if (lower === 'a' || lower === '%a') return { kind: 'a' };
  if (s.startsWith('#')) {
    const body = s.slice(1);
    if (body === 'len' || body === 'pktlen') return { kind: 'len' };
    const ad = ANC_BY_NAME.get(body);
    if (ad !== undefined) return { kind: 'abs', k: (SKF_AD_OFF + ad) >>> 0 };
    return { kind: 'imm', k: num(body) };
  }
  let m = /^M\[(.+)\]$/i.exec(s);
  if (m) {
    const k = num(m[1]!);
    return { kind: 'mem', k };
  }
  m = /^4\*\(\[(.+)\]&0xf\)$/i.exec(s);
  if (m) return { kind: 'msh', k: num(m[1]!) };
  m = /^\[%?x(?:\+(.+))?\]$/i.exec(s);
  if (m) return { kind: 'ind', k: m[1] === undefined ? 0 : num(m[1]) };
  m = /^\[(.+)\]$/.exec(s);
  if (m) {
    const ad = ANC_BY_NAME.get(m[1]!);
    if (ad !== undefined) return { kind: 'abs', k: (SKF_AD_OFF + ad) >>> 0 };
    return { kind: 'abs', k: num(m[1]!) };
  }
  if (s === '') return fail(line, 'empty operand', undefined, col);
  return { kind: 'word', text: s };
}
