// Load-time verification through src/verifier: the program as the loader
// linked it (map references still indexes into the object's maps, as the
// kernel sees them; loads no relocation filled in are refused), its maps'
// shapes with inner maps, license, BTF functions, line info, the runtime's
// CPU count, and, for programs attached in Node (src/attach), the context
// struct the attach layer will lay out for them.

import type { ObjectSpec, ProgramSpec } from '../elf/spec.js';
import { decodeProgram } from '../isa/decode.js';
import { TsbpfError, VerifierError } from '../internal/errors.js';
import { verify } from '../verifier/verify.js';
import type { ArenaInfo } from '../verifier/arena.js';
import type { HelperProto } from '../helpers/protos.js';
import { objectVerifyOptions, unrelocatedMapLoads } from '../verifier/object.js';
import { ctxLayoutOf, DEFAULT_FUNC_LAYOUT } from '../attach/ctx-layout.js';
import { attachPointOf } from '../attach/section.js';

/**
 * Size of the context a Node attach point gives the program (its BTF
 * struct, or struct js_args for function probes without one); undefined
 * for programs whose section names no Node attach point, or whose struct
 * the attach layer cannot lay out (attaching will say why).
 */
export function attachCtxSize(spec: ObjectSpec, p: ProgramSpec): number | undefined {
  const point = attachPointOf(p.section);
  if (point === undefined) return undefined;
  try {
    const layout = ctxLayoutOf(spec.btf, p);
    if (layout !== undefined) return layout.size;
  } catch (e) {
    if (!(e instanceof TsbpfError)) throw e;
    return undefined;
  }
  return point.kind === 'uprobe' || point.kind === 'uretprobe' ? DEFAULT_FUNC_LAYOUT.size : undefined;
}

export interface RuntimeVerifyOptions {
  readonly possibleCpus?: number;
  /** Prototypes of the runtime's embedder-registered helpers (HelperRegistry.protos()). */
  readonly extraHelpers?: ReadonlyMap<number, HelperProto>;
}

/** An accepted program: the verifier's log, the context bytes it touches, and its arena accesses for the engines (src/verifier/arena.ts). */
export interface VerifiedProgram {
  readonly log: string;
  /** One past the furthest context byte the program accesses (the kernel's max_ctx_offset). */
  readonly maxCtxOffset: number;
  readonly arena?: ArenaInfo;
}

/** Returns the verifier log (with the context extent and arena marks); throws the verifier's VerifierError when the program is rejected. */
export function verifyProgram(p: ProgramSpec, spec: ObjectSpec, options: RuntimeVerifyOptions = {}): VerifiedProgram {
  const code = decodeProgram(unrelocatedMapLoads(p), { validate: false });
  const ctxSize = attachCtxSize(spec, p);
  const res = verify(code, objectVerifyOptions(spec, p, {
    ...(options.possibleCpus !== undefined ? { possibleCpus: options.possibleCpus } : {}),
    ...(ctxSize !== undefined ? { ctxSize } : {}),
    ...(options.extraHelpers !== undefined && options.extraHelpers.size > 0 ? { extraHelpers: options.extraHelpers } : {}),
  }));
  if (!res.ok) throw res.error ?? new VerifierError(0, 'rejected by the verifier', res.log);
  return { log: res.log, maxCtxOffset: res.maxCtxOffset, ...(res.arena !== undefined ? { arena: res.arena } : {}) };
}
