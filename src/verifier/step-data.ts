// Per-instruction rules for the data instructions: ALU and moves, loads,
// stores, atomics, lddw and the legacy packet loads (LD_ABS/LD_IND). Each
// step checks one instruction of the current path and updates its state;
// the walk (walk.ts) logs the instruction before and advances after.

import type { InsnDef } from '../isa/table.js';
import { Shape } from '../isa/table.js';
import { AluOp, AtomicOp, PseudoLd } from '../isa/fields.js';
import { BPF_PROG_TYPE } from '../internal/uapi.gen.js';
import { Reject, type Env } from './env.js';
import { RegState, RegType, markConstScalar, markNotInit, markPointer, markUnknown } from './reg-state.js';
import { checkBinaryAlu, checkMov, checkMovImm, checkUnaryAlu } from './alu.js';
import { checkMemAccess } from './memory-access.js';
import { coerceToSize } from './bounds.js';
import { tnumIsConst } from './tnum.js';
import { emitComment, regName } from './log-state.js';
import type { Walk } from './walk.js';
import { returnToCaller } from './step-call.js';
import { checkResourceLeak } from './critical.js';
import { arenaAtomicAllowed, checkAddrSpaceCast, isArenaMap } from './arena.js';

/** The immediate operand as a register (one, reused: no allocation per instruction). */
const immReg = new RegState();

export function readReg(regs: readonly RegState[], r: number): RegState {
  const x = regs[r]!;
  if (x.type === RegType.NOT_INIT) throw new Reject(`R${r} !read_ok`);
  return x;
}

/** ALU instructions: binary ops and moves (imm or reg), neg, byte swaps, sign-extending moves. */
export function stepAlu(w: Walk, def: InsnDef): void {
  const env = w.env;
  const prog = env.prog;
  const insn = w.insn;
  const code = prog.opcode[insn]!;
  const dst = prog.dst[insn]!;
  const src = prog.src[insn]!;
  const imm = prog.imm[insn]!;
  const regs = env.state.cur.regs;
  if (dst === 10) throw new Reject('frame pointer is read only');
  switch (def.shape) {
    case Shape.Neg:
    case Shape.Endian:
      readReg(regs, dst);
      checkUnaryAlu(env, dst, code & 0xf0, def.width === 32 && def.shape === Shape.Neg ? 32 : 64);
      if (def.shape === Shape.Endian) markUnknown(regs[dst]!);
      break;
    case Shape.MovSx:
      checkMov(env, dst, src, (code & 0x07) === 0x07 ? 64 : 32, def.width / 8);
      break;
    case Shape.AddrSpaceCast:
      checkAddrSpaceCast(env, dst, src, imm);
      break;
    default: {
      const bits = def.width as 32 | 64;
      const aluOp = code & 0xf0;
      if (aluOp === AluOp.MOV) {
        if (def.shape === Shape.AluImm) checkMovImm(env, dst, imm, bits);
        else checkMov(env, dst, src, bits, 0);
        break;
      }
      let operand: RegState;
      if (def.shape === Shape.AluImm) {
        if ((aluOp === AluOp.DIV || aluOp === AluOp.MOD) && imm === 0) throw new Reject('div by zero');
        if ((aluOp === AluOp.LSH || aluOp === AluOp.RSH || aluOp === AluOp.ARSH) && (imm < 0 || imm >= bits)) {
          throw new Reject(`invalid shift ${imm}`);
        }
        operand = immReg;
        markConstScalar(operand, bits === 64 ? BigInt(imm) : BigInt(imm >>> 0));
      } else {
        operand = readReg(regs, src);
      }
      readReg(regs, dst);
      checkBinaryAlu(env, dst, operand, aluOp, prog.off[insn] === 1, bits, def.shape === Shape.AluReg ? src : -1);
    }
  }
  if (w.level >= 1) emitComment(env, w.insnText, dst);
}

/** Loads (zero- or sign-extending) into dst through src. */
export function stepLoad(w: Walk, def: InsnDef): void {
  const env = w.env;
  const prog = env.prog;
  const dst = prog.dst[w.insn]!;
  const src = prog.src[w.insn]!;
  const regs = env.state.cur.regs;
  readReg(regs, src);
  if (dst === 10) throw new Reject('frame pointer is read only');
  const value = new RegState();
  checkMemAccess(env, { regno: src, off: prog.off[w.insn]!, size: def.width / 8, write: false, value, valueRegno: dst, signExtend: def.shape === Shape.LoadSx });
  w.samePointer(src);
  if (value.type === RegType.NOT_INIT) markUnknown(value);
  regs[dst]!.copyFrom(value);
  if (w.level >= 1) emitComment(env, w.insnText, dst);
}

/** Stores of an immediate (ST) or a register (STX) through dst. */
export function stepStore(w: Walk, def: InsnDef): void {
  const env = w.env;
  const prog = env.prog;
  const dst = prog.dst[w.insn]!;
  const off = prog.off[w.insn]!;
  const regs = env.state.cur.regs;
  if (def.shape === Shape.Store) {
    readReg(regs, dst);
    checkMemAccess(env, { regno: dst, off, size: def.width / 8, write: true, imm: prog.imm[w.insn]! });
  } else {
    const src = prog.src[w.insn]!;
    const orig = readReg(regs, src);
    // A scalar spilled to the stack stays linked to its register (same id), like a copy.
    if (regs[dst]!.type === RegType.PTR_TO_STACK && orig.type === RegType.SCALAR && orig.id === 0 && !tnumIsConst(orig.varOff)) {
      orig.id = ++env.nextId;
    }
    const v = orig.clone();
    readReg(regs, dst);
    checkMemAccess(env, { regno: dst, off, size: def.width / 8, write: true, value: v, valueRegno: src });
  }
  w.samePointer(dst);
  if (w.level >= 1) emitComment(env, w.insnText);
}

/** Atomic read-modify-write instructions. */
export function stepAtomic(w: Walk, def: InsnDef): void {
  const env = w.env;
  const prog = env.prog;
  const src = prog.src[w.insn]!;
  const imm = prog.imm[w.insn]!;
  checkAtomic(env, prog.dst[w.insn]!, src, prog.off[w.insn]!, imm, def.width / 8);
  if (w.level >= 1) emitComment(env, w.insnText, imm === AtomicOp.CMPXCHG ? 0 : imm & AtomicOp.FETCH ? src : undefined);
}

function checkAtomic(env: Env, dst: number, src: number, off: number, imm: number, size: number): void {
  const regs = env.state.cur.regs;
  if (regs[src]!.type === RegType.NOT_INIT) throw new Reject(`R${src} !read_ok`);
  if (regs[dst]!.type === RegType.NOT_INIT) throw new Reject(`R${dst} !read_ok`);
  if (imm === AtomicOp.CMPXCHG && regs[0]!.type === RegType.NOT_INIT) throw new Reject('R0 !read_ok');
  const p = regs[dst]!;
  if (p.type === RegType.PTR_TO_CTX || p.type === RegType.PTR_TO_PACKET || p.type === RegType.PTR_TO_PACKET_META || p.type === RegType.PTR_TO_FLOW_KEYS) {
    throw new Reject(`BPF_ATOMIC stores into R${dst} ${regName(p)} is not allowed`);
  }
  if (p.type === RegType.PTR_TO_ARENA && !arenaAtomicAllowed(imm)) throw new Reject(`BPF_ATOMIC stores into R${dst} ${regName(p)} is not allowed`);
  if (regs[src]!.isPointer() && !env.privileged) throw new Reject(`R${src} leaks addr into mem`);
  const loaded = new RegState();
  checkMemAccess(env, { regno: dst, off, size, write: false, value: loaded, valueRegno: -1, atomic: p.type === RegType.PTR_TO_STACK, aligned: true });
  if (p.type !== RegType.PTR_TO_STACK) checkMemAccess(env, { regno: dst, off, size, write: true, value: unknownScalar(), valueRegno: -1, aligned: true });
  const out = imm === AtomicOp.CMPXCHG ? 0 : imm & AtomicOp.FETCH ? src : -1;
  if (out >= 0) {
    // The fetched register gets what the read saw (a stack spill is restored, anything else is unknown).
    if (loaded.type === RegType.NOT_INIT || loaded.isPointer()) markUnknown(loaded);
    regs[out]!.copyFrom(loaded);
    if (size < 8) coerceToSize(regs[out]!, size);
  }
}

function unknownScalar(): RegState {
  const r = new RegState();
  markUnknown(r);
  return r;
}

/** lddw: a 64-bit constant, a map, a map value address or a function. */
export function stepLddw(w: Walk): void {
  const env = w.env;
  const prog = env.prog;
  const insn = w.insn;
  const dst = prog.dst[insn]!;
  const imm = prog.imm[insn]!;
  if (dst === 10) throw new Reject('frame pointer is read only');
  const r = env.state.cur.regs[dst]!;
  const hi = prog.imm64hi[insn]!;
  switch (prog.src[insn]!) {
    case PseudoLd.IMM64:
      markConstScalar(r, (BigInt(hi) << 32n) | BigInt(imm >>> 0));
      break;
    case PseudoLd.MAP_FD:
    case PseudoLd.MAP_IDX:
      markPointer(r, RegType.CONST_PTR_TO_MAP);
      r.mapIndex = imm;
      break;
    case PseudoLd.MAP_VALUE:
    case PseudoLd.MAP_IDX_VALUE:
      // an arena global's address is a user address, a number until cast (check_ld_imm)
      if (isArenaMap(env.maps[imm])) {
        markUnknown(r);
        break;
      }
      markPointer(r, RegType.PTR_TO_MAP_VALUE);
      r.mapIndex = imm;
      r.off = hi >>> 0;
      break;
    case PseudoLd.FUNC:
      // check_ld_imm: a function pointer needs the program's BTF func_info.
      if (!env.opts.btf) throw new Reject('missing btf func_info');
      markPointer(r, RegType.PTR_TO_FUNC);
      r.frameno = insn + 1 + imm;
      break;
  }
  if (w.level >= 1) emitComment(env, w.insnText, dst);
}

/** LD_ABS / LD_IND: legacy packet loads from the skb in r6; r1..r5 are clobbered, r0 gets the value. */
export function stepLdAbs(w: Walk, def: InsnDef): void {
  const env = w.env;
  const regs = env.state.cur.regs;
  const t = env.opts.progType;
  const T = BPF_PROG_TYPE;
  if (t !== T['socket_filter'] && t !== T['sched_cls'] && t !== T['sched_act']) {
    throw new Reject('BPF_LD_[ABS|IND] instructions not allowed for this program type');
  }
  for (const f of env.state.frames) if (f.callback) throw new Reject('cannot use BPF_LD_[ABS|IND] within callback');
  // An LD_ABS that fails ends the program: no lock, section or reference may be held (the kernel checks before R6).
  checkResourceLeak(env, 'BPF_LD_[ABS|IND]');
  if (def.shape === Shape.LdInd) readReg(regs, env.prog.src[w.insn]!);
  const r6 = regs[6]!;
  if (r6.type !== RegType.PTR_TO_CTX) throw new Reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb');
  for (let i = 1; i <= 5; i++) markNotInit(regs[i]!);
  markUnknown(regs[0]!);
  coerceToSize(regs[0]!, def.width / 8);
  if (w.level >= 1) emitComment(env, w.insnText, 0);
  // In a called function a failed load returns 0 from it (a hidden exit): the load's success
  // goes on later, the failure returns now. (In the main program it ends the program with 0.)
  if (env.state.frames.length > 1) {
    w.pushBranch(env.state.clone(), w.insn + 1, w.log.mark());
    markConstScalar(regs[0]!, 0n);
    returnToCaller(w);
  }
}
