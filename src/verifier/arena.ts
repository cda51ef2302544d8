// Arena pointers (BPF_MAP_TYPE_ARENA, Linux 6.9+) in the verifier, as the
// kernel checks them:
//
// - A program has at most one arena: the arena map an lddw of it names
//   (resolve_pseudo_ldimm64: "Only one arena per program").
// - addr_space_cast converts between address spaces 1 (user pointers, what
//   `__arena` pointers hold in memory) and 0 (what loads and stores use):
//   as(1)->as(0) gives PTR_TO_ARENA, as(0)->as(1) an unknown scalar.
// - PTR_TO_ARENA is a 32-bit, scalar-like pointer: any arithmetic keeps it
//   an arena pointer (a 64-bit op on it runs as its 32-bit form, the
//   kernel's needs_zext), and loads and stores through it are allowed at any
//   offset, because the engines confine them to the arena and turn a miss
//   into a read of 0 or a dropped store (the kernel's BPF_PROBE_MEM32).
// - An lddw of an arena "value" (a global in .addr_space.1) is a scalar: it
//   holds a user address, which the program casts before use.
//
// The verifier records per instruction what the engines must do (ArenaMark):
// which loads, stores and atomics go through an arena pointer, and which
// 64-bit ALU instructions run as 32-bit ones. VerifyResult.arena carries it.

import { BPF_MAP_TYPE } from '../internal/uapi.gen.js';
import { AtomicOp, PseudoLd } from '../isa/fields.js';
import { INSNS, Shape } from '../isa/table.js';
import type { Program } from '../isa/decode.js';
import { reject, type Env, type MapInfo } from './env.js';
import { RegType, markUnknown, type RegState } from './reg-state.js';
// (what the marks make the engines do: src/vm/arena-access.ts)
import { ArenaMark } from '../vm/arena-access.js';

/** The program's arena: which of its maps, and the marks the walk leaves for the engines. */
export interface ArenaInfo {
  /** Index of the arena map in the verifier's maps. */
  readonly map: number;
  /** Per instruction slot: ArenaMark bits. */
  readonly marks: Uint8Array;
}

const ARENA = BPF_MAP_TYPE['arena']!;

/** Is this map an arena (BPF_MAP_TYPE_ARENA)? */
export function isArenaMap(m: MapInfo | undefined): boolean {
  return m !== undefined && m.type === ARENA;
}

/**
 * The arena an lddw of the program names (the kernel sets prog->aux->arena
 * that way); undefined when it names none. Two different arenas are refused.
 */
export function findArena(prog: Program, maps: readonly MapInfo[]): ArenaInfo | undefined {
  let map = -1;
  for (let i = 0; i < prog.length; i++) {
    const op = prog.op[i]!;
    if (op < 0 || INSNS[op]!.shape !== Shape.Lddw) continue;
    const src = prog.src[i]!;
    if (src === PseudoLd.IMM64 || src === PseudoLd.FUNC || src === PseudoLd.BTF_ID) continue;
    const idx = prog.imm[i]!;
    if (!isArenaMap(maps[idx])) continue;
    if (map >= 0 && map !== idx) reject('Only one arena per program');
    map = idx;
  }
  return map < 0 ? undefined : { map, marks: new Uint8Array(prog.length) };
}

/** addr_space_cast's imm (dst_as << 16 | src_as) must convert between address spaces 1 and 0. */
export function checkCastSpaces(imm: number): void {
  if (imm !== 1 && imm !== 1 << 16) reject('addr_space_cast insn can only convert between address space 1 and 0');
}

/** dst = addr_space_cast(src, dst_as, src_as) (check_alu_op). */
export function checkAddrSpaceCast(env: Env, dstno: number, srcno: number, imm: number): void {
  checkCastSpaces(imm);
  if (env.arena === undefined) reject('addr_space_cast insn can only be used in a program that has an associated arena');
  const regs = env.state.cur.regs;
  if (regs[srcno]!.type === RegType.NOT_INIT) reject(`R${srcno} !read_ok`);
  const dst = regs[dstno]!;
  markUnknown(dst);
  // as(1) -> as(0): a pointer the program may dereference; as(0) -> as(1): a user address, a number
  if (imm === 1) dst.type = RegType.PTR_TO_ARENA;
}

/**
 * ALU with an arena pointer on either side (adjust_reg_min_max_vals): the
 * result is an arena pointer, whatever the operation; a 64-bit operation is
 * marked to run as 32-bit, so the pointer stays 32 bits wide.
 */
export function checkArenaAlu(env: Env, dst: RegState, src: RegState, bits: 32 | 64): boolean {
  if (dst.type !== RegType.PTR_TO_ARENA && src.type !== RegType.PTR_TO_ARENA) return false;
  if (dst.type !== RegType.PTR_TO_ARENA) dst.copyFrom(src);
  if (bits === 64) mark(env, ArenaMark.ZEXT);
  return true;
}

/**
 * A load, store or atomic through an arena pointer (check_mem_access and
 * check_atomic): allowed at any offset; a load gives an unknown scalar
 * (narrowed to its size by the caller, sign-extending or not).
 */
export function checkArenaAccess(env: Env, write: boolean, value: RegState | undefined): void {
  // (6.12 refused sign-extending loads here; 6.18, the oracle, runs them as PROBE_MEM32SX)
  if (!write && value !== undefined) markUnknown(value);
  mark(env, ArenaMark.ACCESS);
}

/**
 * Atomics on an arena pointer: the x86-64 JIT (bpf_jit_supports_insn) has no
 * fetching and/or/xor there, so the kernel refuses them.
 */
export function arenaAtomicAllowed(imm: number): boolean {
  return imm !== (AtomicOp.AND | AtomicOp.FETCH) && imm !== (AtomicOp.OR | AtomicOp.FETCH) && imm !== (AtomicOp.XOR | AtomicOp.FETCH);
}

function mark(env: Env, bit: number): void {
  const a = env.arena;
  if (a !== undefined) a.marks[env.insnIdx] |= bit;
}
