// The classic checker: Linux's rules for classic filters (bpf_check_classic
// in net/core/filter.c), and on top of them, for seccomp, the rules of
// seccomp_check_filter. The first problem is reported as a ClassicError
// naming the instruction and the rule.
//
// The rules:
//  - 1..4096 instructions;
//  - every code is a known classic instruction the kernel accepts;
//  - division and modulo by the constant 0 are rejected, shifts by a
//    constant must be < 32, M[k] needs k < 16;
//  - jumps go forward and stay inside the program (the libpcap dialect
//    also allows a `ja` back to an earlier instruction: see below);
//  - an absolute load at a negative offset in the ancillary area must name
//    a known SKF_AD_* field;
//  - the last instruction is `ret #k` or `ret a`;
//  - M[k] is read only after it is written on every path to the read.
//    Like the kernel, the scan is linear: the state after a `ret` flows
//    into the next instruction as well as the state of every jump to it.
//
// seccomp additionally allows only 32-bit aligned absolute loads inside
// struct seccomp_data (64 bytes), the length loads (which mean 64), and the
// ALU, jump, scratch, register-move and return instructions.

import { ClassicError } from './errors.js';
import {
  ANCILLARY,
  BPF_ALU_OP,
  BPF_CLASS,
  BPF_JMP_OP,
  BPF_MAXINSNS,
  BPF_MEMWORDS,
  COp,
  SKF_AD_MAX,
  SKF_AD_OFF,
  classicDef,
  opOf,
  type ClassicProgram,
} from './insn.js';

export type ClassicMode = 'socket' | 'seccomp';

// The libpcap dialect. libpcap's own interpreter (bpf_filter) runs a `ja`
// with a negative k as a backward jump, and libpcap's compiler emits such
// loops for `protochain` (it walks the IPv6/IPv4 extension headers). The
// kernel refuses them, so they are allowed only for programs that come from
// libpcap's world: compiled from a tcpdump expression (filter/compile.ts
// marks them) or read from a listing the user says is libpcap's. The mark
// is an own enumerable property of the program array, so it travels with
// the program wherever the array goes, a worker thread included (structured
// clone copies it); a copied or rebuilt instruction list is unmarked.
const LIBPCAP_MARK = 'libpcapDialect';

/** Mark a program as libpcap's (backward `ja` allowed); returns it. */
export function markLibpcapProgram<P extends ClassicProgram>(prog: P): P {
  Object.defineProperty(prog, LIBPCAP_MARK, { value: true, enumerable: true, configurable: true, writable: false });
  return prog;
}

/** Is this program marked as libpcap's (see markLibpcapProgram)? */
export function isLibpcapProgram(prog: ClassicProgram): boolean {
  return (prog as { readonly [LIBPCAP_MARK]?: unknown })[LIBPCAP_MARK] === true;
}

const JA_CODE = BPF_CLASS.JMP | BPF_JMP_OP.JA;

/** Does the program contain a backward jump? */
export function hasBackwardJump(prog: ClassicProgram): boolean {
  return prog.some((ins) => ins.code === JA_CODE && (ins.k | 0) < 0);
}

/** sizeof(struct seccomp_data): nr, arch, instruction_pointer, args[6]. */
export const SECCOMP_DATA_SIZE = 64;

export interface CheckClassicOptions {
  /** Socket filter (default) or seccomp filter rules. */
  mode?: ClassicMode;
  /** Allow `ja` back to an earlier instruction (libpcap's dialect). Default: whether the program is marked as libpcap's. */
  backwardJumps?: boolean;
}

const KNOWN_AD: ReadonlySet<number> = new Set(ANCILLARY.map(([ad]) => ad));

/** Is k (unsigned) in the ancillary area, and if so is it a known selector? */
export function ancillaryOf(k: number): number | undefined {
  const base = SKF_AD_OFF >>> 0;
  const u = k >>> 0;
  if (u < base) return undefined;
  const ad = u - base;
  return ad < SKF_AD_MAX && KNOWN_AD.has(ad) ? ad : -1;
}

/** Check a classic program; throws ClassicError on the first rule it breaks. */
export function checkClassic(prog: ClassicProgram, options: CheckClassicOptions = {}): void {
  const mode = options.mode ?? 'socket';
  const backward = options.backwardJumps ?? isLibpcapProgram(prog);
  const n = prog.length;
  if (n === 0) throw new ClassicError(-1, 'empty program');
  if (n > BPF_MAXINSNS) throw new ClassicError(-1, `${n} instructions, more than the limit of ${BPF_MAXINSNS}`);

  for (let pc = 0; pc < n; pc++) {
    const ins = prog[pc]!;
    const d = classicDef(ins.code);
    const hex = `0x${ins.code.toString(16)}`;
    if (d === undefined) throw new ClassicError(pc, `unknown opcode ${hex}`);
    if (!d.kernel) throw new ClassicError(pc, `opcode ${hex} (${d.name}) is not allowed in Linux classic filters`);
    if (mode === 'seccomp' && !d.seccomp) throw new ClassicError(pc, `opcode ${hex} (${d.name}) is not allowed in seccomp filters`);
    const k = ins.k >>> 0;
    switch (d.op) {
      case COp.ALU_K: {
        const aop = opOf(ins.code);
        if ((aop === BPF_ALU_OP.DIV || aop === BPF_ALU_OP.MOD) && k === 0) throw new ClassicError(pc, `${d.name} by constant zero`);
        if ((aop === BPF_ALU_OP.LSH || aop === BPF_ALU_OP.RSH) && k >= 32) throw new ClassicError(pc, `${d.name} by ${k}: shift must be less than 32`);
        break;
      }
      case COp.LD_MEM:
      case COp.LDX_MEM:
      case COp.ST:
      case COp.STX:
        if (k >= BPF_MEMWORDS) throw new ClassicError(pc, `scratch memory index M[${k}] out of range (0..${BPF_MEMWORDS - 1})`);
        break;
      case COp.JA:
        if ((k | 0) < 0) {
          const to = pc + 1 + (k | 0);
          if (!backward) throw new ClassicError(pc, `ja ${k | 0} jumps back to ${to}: Linux classic filters only jump forward (libpcap's programs may loop)`);
          if (to < 0) throw new ClassicError(pc, `ja ${k | 0} jumps to ${to}, before the start of the program`);
          break;
        }
        if (k >= n - pc - 1) throw new ClassicError(pc, `ja +${k} jumps to ${pc + 1 + k}, past the end of the program (${n} instructions)`);
        break;
      case COp.JMP_K:
      case COp.JMP_X:
        if (pc + ins.jt + 1 >= n || pc + ins.jf + 1 >= n) {
          throw new ClassicError(pc, `${d.name} targets ${pc + 1 + ins.jt}/${pc + 1 + ins.jf}: past the end of the program (${n} instructions)`);
        }
        break;
      case COp.LD_W_ABS:
      case COp.LD_H_ABS:
      case COp.LD_B_ABS: {
        if (mode === 'seccomp') {
          if (k >= SECCOMP_DATA_SIZE || (k & 3) !== 0) {
            throw new ClassicError(pc, `seccomp load at offset ${k | 0}: must be 4-byte aligned and inside struct seccomp_data (${SECCOMP_DATA_SIZE} bytes)`);
          }
        } else if (ancillaryOf(k) === -1) {
          throw new ClassicError(pc, `unknown ancillary load at SKF_AD_OFF+${k - (SKF_AD_OFF >>> 0)}`);
        }
        break;
      }
      default:
        break;
    }
  }

  const last = classicDef(prog[n - 1]!.code)!;
  if (last.op !== COp.RET_K && last.op !== COp.RET_A) throw new ClassicError(n - 1, `the program must end in 'ret', found '${last.name}'`);
  checkScratch(prog);
}

/**
 * M[] reads only after writes on all paths (the kernel's check_load_and_stores).
 * With backward jumps the state at a loop head also depends on later
 * instructions, so the linear scan repeats until no entry mask shrinks
 * (masks only lose bits, so at most 17 passes).
 */
function checkScratch(prog: ClassicProgram): void {
  const n = prog.length;
  const masks = new Uint16Array(n).fill(0xffff);
  for (let again = true; again; ) {
    again = false;
    /** Narrow the state at a jump target; a narrowed earlier target needs another pass. */
    const into = (from: number, to: number, valid: number): void => {
      const m = masks[to]! & valid;
      if (m !== masks[to]) {
        masks[to] = m;
        if (to <= from) again = true;
      }
    };
    let valid = 0;
    for (let pc = 0; pc < n; pc++) {
      const ins = prog[pc]!;
      valid &= masks[pc]!;
      const op = classicDef(ins.code)!.op;
      switch (op) {
        case COp.ST:
        case COp.STX:
          valid |= 1 << ins.k;
          break;
        case COp.LD_MEM:
        case COp.LDX_MEM:
          if ((valid & (1 << ins.k)) === 0) throw new ClassicError(pc, `M[${ins.k}] is read before it is written on some path`);
          break;
        case COp.JA:
          into(pc, pc + 1 + (ins.k | 0), valid);
          valid = 0xffff;
          break;
        case COp.JMP_K:
        case COp.JMP_X:
          into(pc, pc + 1 + ins.jt, valid);
          into(pc, pc + 1 + ins.jf, valid);
          valid = 0xffff;
          break;
        default:
          break;
      }
    }
  }
}
