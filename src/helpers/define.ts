// Building HelperDefs by the kernel's name: the id comes from the generated
// BPF_FUNC table, and GPL-only-ness from the prototype table (protos.ts) when
// it has the helper, so neither fact is written twice.

import { BPF_FUNC } from '../internal/uapi.gen.js';
import { helperProto } from './protos.js';
import type { HelperDef, HelperEnv, HelperFn } from './registry.js';

/** A standard helper by its kernel name; `gplOnly` is used only when protos.ts has no row for it. */
export function helper(name: string, fn: HelperFn, gplOnly = false): HelperDef {
  const id = BPF_FUNC[name];
  if (id === undefined) throw new Error(`helpers: no BPF_FUNC_${name} in uapi.gen.ts`);
  return { id, name, fn, gplOnly: helperProto(id)?.gplOnly ?? gplOnly };
}

/** r0 = an unsigned 32-bit value (addresses, counts): high half 0. */
export function retU32(env: HelperEnv, v: number): void {
  env.regs[0] = v | 0;
  env.regs[1] = 0;
}

/** r0 = a small signed value (0 or -errno), sign-extended to 64 bits. */
export function retInt(env: HelperEnv, v: number): void {
  env.regs[0] = v | 0;
  env.regs[1] = v < 0 ? -1 : 0;
}

/** r0 = a 64-bit BigInt (clocks). */
export function retU64(env: HelperEnv, v: bigint): void {
  env.regs[0] = Number(v & 0xffffffffn) | 0;
  env.regs[1] = Number((v >> 32n) & 0xffffffffn) | 0;
}

/** Argument i (1..5) low half as unsigned. */
export const arg = (env: HelperEnv, i: number): number => env.regs[2 * i]! >>> 0;
/** Argument i (1..5) high half as unsigned. */
export const argHi = (env: HelperEnv, i: number): number => env.regs[2 * i + 1]! >>> 0;
