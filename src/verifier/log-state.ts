// The state parts of the verifier log: `R1=ctx() R10=fp0 fp-8=mmmmmmmm`
// lines, the `; R1=...` comment after an instruction, and source lines. The
// instruction text itself comes from log.ts.

import { STACK_SIZE } from '../isa/fields.js';
import { INSNS, Shape } from '../isa/table.js';
import { useDef } from './cfg.js';
import type { Env, LineInfo } from './env.js';
import { commentPad } from './log.js';
import { RegType, formatReg, type RegState } from './reg-state.js';
import { StackByte, type FuncState, type VerifierState } from './state.js';
import { iterSlotText } from './iter.js';

/**
 * A register or spilled value as the log prints it. With `marks`, a precise
 * scalar gets the kernel's `P` (R0=P0, Pscalar(...)): the kernel marks
 * precision only in stored (checkpointed) states, never in the current one
 * of a privileged loader, while tsbpf marks the current state too, so only
 * stored states are printed with marks.
 */
export function regText(r: RegState, curFrame: number, sizes: MapSizes | undefined, marks: boolean): string {
  return (marks && r.type === RegType.SCALAR && r.precise ? 'P' : '') + formatReg(r, curFrame, sizes);
}

type MapSizes = (idx: number) => { keySize: number; valueSize: number } | undefined;

/** Registers and stack of a frame as the kernel prints them; with `onlySlot`, just that stack slot; `marks`: see regText. */
export function formatState(env: Env, fs: FuncState, onlySlot = -1, marks = false): string {
  const parts: string[] = [];
  const sizes = (i: number): { keySize: number; valueSize: number } | undefined => env.maps[i];
  if (onlySlot < 0) {
    fs.regs.forEach((r, i) => {
      if (r.type !== RegType.NOT_INIT) parts.push(`R${i}=${regText(r, fs.frameno, sizes, marks)}`);
    });
  }
  for (let slot = fs.spilled.length - 1; slot >= 0; slot--) {
    if (onlySlot >= 0 && slot !== onlySlot) continue;
    const base = slot * 8;
    let any = false;
    for (let b = 0; b < 8; b++) if (fs.bytes[base + b] !== StackByte.INVALID) any = true;
    if (!any) continue;
    const off = base - STACK_SIZE;
    const sp = fs.spilled[slot];
    const iter = iterSlotText(fs, slot);
    if (iter !== undefined) {
      // fp-8=iter_num(ref_id=1,state=active,depth=0), on the iterator's first slot only
      if (iter !== '') parts.push(`fp${off}=${iter}`);
    } else if (sp && fs.bytes[base] === StackByte.SPILL) {
      // A narrow spill prints the other bytes' kinds first, like the kernel: fp-8=mmmm0.
      let pre = '';
      for (let b = 7; b >= 0; b--) if (fs.bytes[base + b] !== StackByte.SPILL) pre += '?m0ri'[fs.bytes[base + b]!]!;
      parts.push(`fp${off}=${pre}${regText(sp, fs.frameno, sizes, marks)}`);
    } else {
      let s = '';
      for (let b = 7; b >= 0; b--) s += '?m0ri'[fs.bytes[base + b]!]!;
      parts.push(`fp${off}=${s}`);
    }
  }
  return parts.join(' ');
}

/** The current frame's state line, with the frame prefix and held references. */
export function stateLine(env: Env): string {
  const st = env.state;
  const f = st.cur;
  const refs = st.refs.length ? ` refs=${st.refs.map((r) => r.id).join(',')}` : '';
  return (st.frames.length > 1 ? `frame${f.frameno}: ` : '') + formatState(env, f) + refs;
}

/**
 * The kernel's lines after `infinite loop detected`: the current frame of
 * the current state and of the stored state it equals (print_verifier_state
 * with everything: ` frameN:` when not the main frame, refs, ` cb` in a callback).
 */
export function loopStateLines(env: Env, cur: VerifierState, old: VerifierState): string[] {
  const fr = cur.frames.length - 1;
  const one = (st: VerifierState, marks: boolean): string => {
    const fs = st.frames[fr]!;
    const parts = [formatState(env, fs, -1, marks)];
    if (fs.frameno) parts.unshift(`frame${fs.frameno}:`);
    if (st.refs.length) parts.push(`refs=${st.refs.map((r) => r.id).join(',')}`);
    if (fs.callback) parts.push('cb');
    return parts.filter((p) => p !== '').join(' ');
  };
  return [`cur state: ${one(cur, false)}`, `old state: ${one(old, true)}`];
}

/** The source line an instruction belongs to (the last line-info record at or before it). */
export function sourceLine(lines: readonly LineInfo[] | undefined, insn: number): LineInfo | undefined {
  if (!lines || lines.length === 0) return undefined;
  let best: LineInfo | undefined;
  for (const l of lines) if (l.insn <= insn && (!best || l.insn >= best.insn)) best = l;
  return best;
}

/**
 * End an instruction's log line with the kernel's `; R1=... fp-8=...` comment:
 * the registers the instruction read or wrote (only r0 for helper calls) and
 * the stack slot it touched, as they are now.
 */
export function emitComment(env: Env, insnText: string, written?: number): void {
  const prog = env.prog;
  const i = env.insnIdx;
  const shape = INSNS[prog.op[i]!]!.shape;
  let mask = 0;
  if (shape === Shape.Call || shape === Shape.LdAbs || shape === Shape.LdInd || (shape === Shape.CallLocal && written === 0)) mask = 1;
  else if (shape !== Shape.Exit && shape !== Shape.Ja && shape !== Shape.Ja32 && shape !== Shape.CallLocal) {
    const ud = useDef(prog, i);
    mask = ud.use | ud.def;
  }
  const f = env.state.cur;
  const parts: string[] = [];
  for (let r = 0; r <= 10; r++) {
    if (mask & (1 << r) && f.regs[r]!.type !== RegType.NOT_INIT) parts.push(`R${r}=${formatReg(f.regs[r]!, f.frameno, (k) => env.maps[k])}`);
  }
  const tag = env.stackTag;
  if (tag > 0 && tag < 127) {
    const slot = tag - 1;
    const one = formatState(env, f, slot);
    if (one) parts.push(one);
  }
  if (parts.length && env.state.refs.length) parts.push(`refs=${env.state.refs.map((r) => r.id).join(',')}`);
  const prefix = env.state.frames.length > 1 ? `frame${f.frameno}: ` : '';
  env.log.write(parts.length ? `${' '.repeat(commentPad(insnText.length))}; ${prefix}${parts.join(' ')}\n` : '\n');
}

/** A register's type as error messages name it ('map_value', 'ctx'). */
export function regName(r: RegState): string {
  return formatReg(r, 0).replace(/\(.*$/, '');
}
