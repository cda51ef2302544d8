// Stack tracking (the kernel's check_stack_write_* / check_stack_read_*):
// per byte what was written (nothing, data, zeros, part of a spilled
// register) and per 8-byte slot the spilled register, so pointers and known
// scalars survive a trip through the stack.

import { RegState, RegType, markUnknown, markConstScalar, isNullConst } from './reg-state.js';
import { StackByte, type FuncState } from './state.js';
import { tnumIsConst, tnumString } from './tnum.js';
import { reject, type Env } from './env.js';
import { STACK_SIZE } from '../isa/fields.js';

/** Byte index in FuncState.bytes of stack offset `off` (negative, from the frame pointer). */
const pos = (off: number): number => STACK_SIZE + off;

function touch(f: FuncState, off: number): void {
  const d = -off;
  if (d > f.depth) f.depth = (d + 7) & ~7;
}

function clearSpill(f: FuncState, slot: number): void {
  const base = slot * 8;
  if (f.spilled[slot]) {
    const bytes = f.wbytes();
    f.wspilled()[slot] = null;
    for (let i = 0; i < 8; i++) if (bytes[base + i] === StackByte.SPILL) bytes[base + i] = StackByte.MISC;
  }
}

/**
 * Write `size` bytes at fixed stack offset `off` of frame f. `value` is the
 * stored register (STX) or undefined for a store of the immediate `imm` (ST).
 */
export function stackWriteFixed(env: Env, f: FuncState, off: number, size: number, value: RegState | undefined, imm: number): void {
  const slot = pos(off) >> 3;
  touch(f, off);
  const aligned = (off & 7) === 0;
  if (value && aligned && value.type === RegType.SCALAR && env.privileged) {
    spill(f, slot, value, size, env.privileged);
    return;
  }
  if (!value && aligned && env.privileged) {
    const tmp = new RegState();
    markConstScalar(tmp, BigInt(imm));
    spill(f, slot, tmp, size, env.privileged);
    return;
  }
  if (value && value.isPointer()) {
    if (size !== 8) reject('invalid size of register spill');
    if (f !== env.state.cur && value.type === RegType.PTR_TO_STACK) reject('cannot spill pointers to stack into stack frame of the caller');
    spill(f, slot, value, 8, env.privileged);
    return;
  }
  clearSpill(f, slot);
  const zero = value ? isNullConst(value) : imm === 0;
  const t = zero ? StackByte.ZERO : StackByte.MISC;
  const bytes = f.wbytes();
  for (let i = 0; i < size; i++) bytes[pos(off) + i] = t;
}

function spill(f: FuncState, slot: number, value: RegState, size: number, privileged = true): void {
  const base = slot * 8;
  const bytes = f.wbytes();
  const spilled = f.wspilled();
  spilled[slot] = value.clone();
  // The spill occupies the low `size` bytes of the slot; the rest becomes data.
  for (let i = 0; i < 8; i++) {
    if (i < size) bytes[base + i] = StackByte.SPILL;
    else if (bytes[base + i] === StackByte.SPILL) bytes[base + i] = StackByte.MISC;
    // Privileged, untouched bytes stay uninitialised (the kernel's mark_stack_slot_misc).
    else if (bytes[base + i] === StackByte.INVALID && !privileged) bytes[base + i] = StackByte.MISC;
  }
  // A narrow spill of a value wider than the stored bytes only keeps the stored part.
  if (size < 8 && value.type === RegType.SCALAR) {
    const s = spilled[slot]!;
    if (!(s.umax < 1n << BigInt(size * 8))) {
      markUnknown(s);
      s.id = 0;
    }
  }
}

/** Read `size` bytes at fixed offset `off` into dst (or only check, when dst is undefined). */
export function stackReadFixed(env: Env, f: FuncState, off: number, size: number, dst: RegState | undefined): void {
  const slot = pos(off) >> 3;
  const base = slot * 8;
  const p = pos(off);
  const sp = f.spilled[slot];
  if (sp && f.bytes[base] === StackByte.SPILL) {
    let spillSize = 0;
    while (spillSize < 8 && f.bytes[base + spillSize] === StackByte.SPILL) spillSize++;
    if (size !== 8 || spillSize !== 8) {
      if (sp.type !== RegType.SCALAR) reject('invalid size of register fill');
      if (!dst) return;
      if (size <= spillSize && (off & 7) === 0) {
        dst.copyFrom(sp);
        if (!(sp.umax < 1n << BigInt(size * 8))) dst.id = 0;
        return;
      }
      let spills = 0, zeros = 0;
      for (let i = 0; i < size; i++) {
        const t = f.bytes[p + i]!;
        if (t === StackByte.SPILL) spills++;
        else if (t === StackByte.ZERO) zeros++;
        else if (t === StackByte.INVALID && !env.privileged) reject(`invalid read from stack off ${off}+${i} size ${size}`);
      }
      if ((spills === size && tnumIsConst(sp.varOff) && sp.varOff.value === 0n) || zeros === size) markConstScalar(dst, 0n);
      else markUnknown(dst);
      return;
    }
    if (dst) dst.copyFrom(sp);
    return;
  }
  let zeros = 0;
  for (let i = 0; i < size; i++) {
    const t = f.bytes[p + i]!;
    if (t === StackByte.ZERO) zeros++;
    else if (t === StackByte.INVALID && !env.privileged) reject(`invalid read from stack off ${off}+${i} size ${size}`);
    else if (t === StackByte.ITER) reject(`invalid read from stack off ${off}+${i} size ${size}`);
    else if (t === StackByte.SPILL) {
      // Part of a spill that does not start here (a narrow spill); read as data.
    }
  }
  if (!dst) return;
  if (zeros === size) markConstScalar(dst, 0n);
  else markUnknown(dst);
}

/** An atomic update's write: the bytes become data (a spill there is gone). */
export function stackWriteMisc(f: FuncState, off: number, size: number): void {
  const slot = pos(off) >> 3;
  touch(f, off);
  clearSpill(f, slot);
  const bytes = f.wbytes();
  for (let i = 0; i < size; i++) bytes[pos(off) + i] = StackByte.MISC;
}

/** A write through a stack pointer with a variable offset: every byte it may touch becomes data. */
export function stackWriteVar(env: Env, f: FuncState, minOff: number, maxOff: number, value: RegState | undefined, imm: number): void {
  const zero = value ? isNullConst(value) : imm === 0;
  touch(f, minOff);
  for (let o = minOff; o < maxOff; o++) {
    const p = pos(o);
    const slot = p >> 3;
    const t = f.bytes[p]!;
    if (zero && t === StackByte.SPILL && f.spilled[slot]?.type === RegType.SCALAR) continue;
    if (f.spilled[slot] && f.spilled[slot]!.type !== RegType.SCALAR) clearSpill(f, slot);
    else if (t === StackByte.SPILL) clearSpill(f, slot);
    if (t === StackByte.INVALID && !env.privileged) reject(`uninit stack in range of var-offset write prohibited for !root; insn ${env.insnIdx}, off: ${o}`);
    f.wbytes()[p] = zero && t === StackByte.ZERO ? StackByte.ZERO : StackByte.MISC;
  }
}

/** A read with a variable offset: all bytes must be readable; the result is unknown. */
export function stackReadVar(env: Env, f: FuncState, minOff: number, maxOff: number, dst: RegState | undefined): void {
  for (let o = minOff; o < maxOff; o++) {
    const t = f.bytes[pos(o)]!;
    if ((t === StackByte.INVALID && !env.privileged) || t === StackByte.ITER) {
      reject(`invalid variable-offset read from stack R? var_off=${tnumString({ value: 0n, mask: 0n })} off=${o} size=1`);
    }
  }
  if (dst) markUnknown(dst);
}

/**
 * Helper access to stack memory [off, off+size): reads need initialised
 * bytes (always true when privileged); writes make the bytes data and
 * destroy spills.
 */
export function stackHelperAccess(env: Env, f: FuncState, regno: number, off: number, size: number, write: boolean): void {
  touch(f, off);
  for (let o = off; o < off + size; o++) {
    const p = pos(o);
    const t = f.bytes[p]!;
    if (!write && ((t === StackByte.INVALID && !env.privileged) || t === StackByte.ITER)) {
      reject(`invalid indirect read from stack R${regno} off ${off}+${o - off} size ${size}`);
    }
    if (!write && t === StackByte.SPILL && f.spilled[p >> 3]?.isPointer() && !env.privileged) {
      reject(`invalid indirect read from stack R${regno} off ${off}+${o - off} size ${size}`);
    }
  }
  if (write) {
    for (let o = off; o < off + size; o++) {
      const p = pos(o);
      if (f.bytes[p] === StackByte.SPILL) clearSpill(f, p >> 3);
      f.wbytes()[p] = StackByte.MISC;
    }
  }
}
