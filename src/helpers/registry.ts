// Helpers are dispatched by their Linux id through a registry that embedders
// can extend. One calling convention serves the interpreter and the JIT: the
// arguments r1..r5 and the result r0 travel as (lo, hi) int32 halves in a
// register block, so a call from Wasm into JavaScript passes no i64 (BigInt)
// values, and a helper that works on pointers only reads the low halves
// (every address in the runtime's memory fits in 32 bits).

import type { RuntimeMemory } from '../vm/memory.js';
import { UsageError } from '../internal/errors.js';
import type { ArgKind, RetKind, HelperProto } from './protos.js';

/** What a helper sees while it runs. */
export interface HelperEnv {
  readonly mem: RuntimeMemory;
  /**
   * r0..r5 as int32 pairs: regs[2*i] is the low half of ri, regs[2*i+1] the high
   * half. Read arguments from r1..r5; write the result into r0 (indices 0 and 1).
   */
  readonly regs: Int32Array;
  /** Program counter of the call instruction (for error messages). */
  readonly pc: number;
  /**
   * Per-run state the runtime attaches (program type context, maps, trace
   * pipe...). Helpers that need it narrow it with their own type guard.
   */
  readonly run: unknown;
}

export type HelperFn = (env: HelperEnv) => void;

export interface HelperDef {
  /** Linux helper id (BPF_FUNC_*), or an embedder's own id. */
  readonly id: number;
  /** Name without the bpf_ prefix, as in the kernel's BPF_FUNC_ list (map_lookup_elem). */
  readonly name: string;
  readonly fn: HelperFn;
  /** GPL-only helpers are refused for programs whose license is not GPL-compatible. */
  readonly gplOnly?: boolean;
  /**
   * For an embedder's own helper: its prototype (argument and return kinds
   * as in src/helpers/protos.ts), so the verifier can check calls to it.
   * Without one, a helper the kernel does not know cannot pass verification.
   */
  readonly proto?: { readonly args: readonly ArgKind[]; readonly ret: RetKind };
}

/** Read helper argument i (1..5) as an unsigned 32-bit number (pointers, sizes, flags). */
export const argU32 = (env: HelperEnv, i: number): number => env.regs[2 * i]! >>> 0;
/** Read helper argument i (1..5) as a signed 64-bit BigInt (rarely needed; off the hot path). */
export const argI64 = (env: HelperEnv, i: number): bigint =>
  (BigInt(env.regs[2 * i + 1]!) << 32n) | BigInt(env.regs[2 * i]! >>> 0);
/** Set r0 from a JavaScript number in the signed 53-bit range (negative errno values included). */
export function setR0(env: HelperEnv, v: number): void {
  env.regs[0] = v | 0;
  env.regs[1] = Math.floor(v / 4294967296) | 0;
}
/** Set r0 from a 64-bit BigInt. */
export function setR0Big(env: HelperEnv, v: bigint): void {
  env.regs[0] = Number(BigInt.asIntN(32, v));
  env.regs[1] = Number(BigInt.asIntN(32, v >> 32n));
}

export class HelperRegistry {
  private readonly byId = new Map<number, HelperDef>();
  /** Dense table for the interpreter's hot path. */
  private table: (HelperDef | undefined)[] = [];

  constructor(defs: readonly HelperDef[] = []) {
    for (const d of defs) this.register(d);
  }

  register(def: HelperDef, options: { replace?: boolean } = {}): this {
    if (!Number.isInteger(def.id) || def.id < 0 || def.id > 0xffff) throw new UsageError(`helper ${def.name}: bad id ${def.id}`);
    if (this.byId.has(def.id) && !options.replace) throw new UsageError(`helper id ${def.id} is already registered (${this.byId.get(def.id)!.name})`);
    this.byId.set(def.id, def);
    this.table[def.id] = def;
    return this;
  }

  get(id: number): HelperDef | undefined {
    return this.table[id];
  }

  has(id: number): boolean {
    return this.table[id] !== undefined;
  }

  list(): HelperDef[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Prototypes of the helpers that carry one (embedders' helpers), for the verifier. */
  protos(): Map<number, HelperProto> {
    const out = new Map<number, HelperProto>();
    for (const d of this.byId.values()) {
      if (d.proto !== undefined) out.set(d.id, { id: d.id, name: d.name, args: d.proto.args, ret: d.proto.ret, gplOnly: d.gplOnly ?? false });
    }
    return out;
  }

  /** A copy that can be extended without touching this one. */
  clone(): HelperRegistry {
    return new HelperRegistry(this.list());
  }
}
