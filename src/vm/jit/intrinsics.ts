// Hot helpers emitted as Wasm in place of a call into JavaScript:
//
// - map_lookup_elem on an ARRAY: a bounds check and `base + idx * stride`,
//   as the kernel's array_map_gen_lookup inlines it;
// - map_lookup_elem on a HASH / LRU_HASH: a call to the lookup function of
//   src/maps/lookup-wasm.ts, added to the same module (one implementation
//   of the layout, shared with the maps' own tests);
// - map_update_elem on an ARRAY: the helper's checks and a memory.copy;
// - ktime_get_ns: still the JS clock (Wasm has none), but the call skips
//   the argument spill, since the helper reads no arguments.
//
// Only calls whose map pointer (r1) is a compile-time constant naming a map
// of the table take the inline path: that is what clang emits (`r1 = map
// ll` right before the call), the constant is checked against the table, and
// the map's shape is then fixed. Per-CPU maps and anything else use the
// helper. In unverified mode the key and value must lie in fully readable
// granules (tested inline by `readable`, or known to be in the stack frame);
// otherwise the call goes to the helper, which gives the same result as the
// interpreter (NULL or -EFAULT); a map closed after compilation also sends
// the call to the helper (see emitLive). An intrinsic is used only while the
// registry still maps its id to the standard helper, so an embedder's
// replacement is always called.

import { mapLookupElem, mapUpdateElem } from '../../helpers/map-helpers.js';
import type { HelperRegistry } from '../../helpers/registry.js';
import { TASK_HELPERS } from '../../helpers/task.js';
import { BPF_FUNC, BPF_MAP_TYPE } from '../../internal/uapi.gen.js';
import { DESC_MAGIC, Desc } from '../../maps/descriptor.js';
import { E2BIG, EEXIST, EINVAL } from '../../maps/errno.js';
import { lookupFunctionBody } from '../../maps/lookup-wasm.js';
import { BPF_F_LOCK, BPF_F_RDONLY_PROG } from '../../maps/spec.js';
import type { MapTable } from '../../maps/table.js';
import { SHADOW_BASE } from '../memory.js';
import type { ExtraFunction, Intrinsic, IntrinsicContext } from './abi.js';
import { T, W, WM } from './wasm/opcodes.js';
import type { Writer } from './wasm/writer.js';

/** What JitOptions take to enable intrinsics (spread it into the options). */
export interface IntrinsicSet {
  readonly intrinsics: ReadonlyMap<number, Intrinsic>;
  readonly functions: readonly ExtraFunction[];
}

const ID_LOOKUP = BPF_FUNC.map_lookup_elem!;
const ID_UPDATE = BPF_FUNC.map_update_elem!;
const ID_KTIME = BPF_FUNC.ktime_get_ns!;
const ARRAY = BPF_MAP_TYPE.array!;
const HASH = BPF_MAP_TYPE.hash!;
const LRU_HASH = BPF_MAP_TYPE.lru_hash!;
const KTIME = TASK_HELPERS.find((d) => d.name === 'ktime_get_ns');

const FN_LOOKUP = 'map_lookup';
const FN_READABLE = 'readable';

/** lookup(desc, key, cpu) -> value address | 0 | -1: the body from src/maps/lookup-wasm.ts. */
const lookupFunction: ExtraFunction = {
  name: FN_LOOKUP,
  params: [T.i32, T.i32, T.i32],
  results: [T.i32],
  emit(w) {
    w.bytes(lookupFunctionBody());
  },
};

/**
 * readable(p: i64, n: i32) -> i32: 1 when [p, p + n) lies in granules that
 * are entirely readable (shadow byte R, not partial), else 0. A 0 does not
 * mean a fault: the caller then asks the helper, which knows partial
 * granules and gives the interpreter's answer.
 */
const readableFunction: ExtraFunction = {
  name: FN_READABLE,
  params: [T.i64, T.i32],
  results: [T.i32],
  emit(w, layout) {
    const P = 0;
    const N = 1;
    const G = 2;
    const LAST = 3;
    w.u32(1);
    w.u32(2);
    w.u8(T.i32);
    // p + n must stay below maxBytes - 8 (the limit every check uses); n <= 2^31 keeps this exact
    w.u8x2(W.local_get, P);
    w.u8(W.i64_const);
    w.s64(layout.maxBytes - 8, 0);
    w.u8x2(W.local_get, N);
    w.u8(W.i64_extend_i32_u);
    w.u8(W.i64_sub);
    w.u8(W.i64_gt_u);
    w.u8x2(W.if, T.void);
    w.u8x2(W.i32_const, 0);
    w.u8(W.return);
    w.u8(W.end);
    w.u8x2(W.local_get, P);
    w.u8(W.i32_wrap_i64);
    w.u8x2(W.local_tee, G);
    w.u8x2(W.local_get, N);
    w.u8(W.i32_add);
    w.u8x2(W.i32_const, 1);
    w.u8(W.i32_sub);
    w.u8x2(W.i32_const, 3);
    w.u8(W.i32_shr_u);
    w.u8x2(W.local_set, LAST);
    w.u8x2(W.local_get, G);
    w.u8x2(W.i32_const, 3);
    w.u8(W.i32_shr_u);
    w.u8x2(W.local_set, G);
    w.u8x2(W.loop, T.void);
    w.u8x2(W.local_get, G);
    w.u8(W.i32_load8_u);
    w.u32(0);
    w.u32(SHADOW_BASE);
    w.u8(W.i32_const);
    w.s32(0x81);
    w.u8(W.i32_and);
    w.u8x2(W.i32_const, 1);
    w.u8(W.i32_ne);
    w.u8x2(W.if, T.void);
    w.u8x2(W.i32_const, 0);
    w.u8(W.return);
    w.u8(W.end);
    w.u8x2(W.local_get, G);
    w.u8x2(W.local_get, LAST);
    w.u8(W.i32_ge_u);
    w.u8x2(W.if, T.void);
    w.u8x2(W.i32_const, 1);
    w.u8(W.return);
    w.u8(W.end);
    w.u8x2(W.local_get, G);
    w.u8x2(W.i32_const, 1);
    w.u8(W.i32_add);
    w.u8x2(W.local_set, G);
    w.u8x2(W.br, 0);
    w.u8(W.end);
    w.u8(W.unreachable);
    w.u8(W.end);
  },
};

/** The fixed shape of a map the inline paths need, read once at compile time. */
interface MapShape {
  readonly type: number;
  readonly desc: number;
  readonly data: number;
  readonly stride: number;
  readonly maxEntries: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly flags: number;
  readonly id: number;
  /** The value holds a bpf_spin_lock (BPF_F_LOCK updates go to the helper). */
  readonly spinLock: boolean;
}

function i32c(w: Writer, v: number): void {
  w.u8(W.i32_const);
  w.s32(v | 0);
}

function i64c(w: Writer, v: number): void {
  w.u8(W.i64_const);
  w.s64(v | 0, v < 0 ? -1 : 0);
}

/**
 * Emit `fast` guarded, in unverified mode, by readability tests of
 * (register, size) pairs and by a test that the map is still the one seen
 * at compile time; when a test fails, the ordinary helper call runs instead.
 */
function guarded(ctx: IntrinsicContext, m: MapShape, ranges: ReadonlyArray<readonly [number, number]>, fast: () => void): void {
  const w = ctx.w;
  if (ctx.verified) {
    fast();
    return;
  }
  emitLive(w, m);
  for (const [r, n] of ranges) {
    if (ctx.inFrame(r, n)) continue;
    w.u8x2(W.local_get, ctx.reg(r));
    i32c(w, n);
    w.u8(W.call);
    w.u32(ctx.func(FN_READABLE));
    w.u8(W.i32_and);
  }
  w.u8x2(W.if, T.void);
  fast();
  w.u8(W.else);
  ctx.emitHelperCall();
  w.u8(W.end);
}

/**
 * i32 1 when the map is still open: its descriptor granule is mapped
 * read-only (as descriptors are) and holds the magic and the id seen at
 * compile time. Closing a map frees its descriptor and its data; the
 * inline paths write to the data address they were compiled with, so an
 * unverified program that outlives its map must take the helper (which
 * then finds no map) rather than write into memory reused by someone else.
 */
function emitLive(w: Writer, m: MapShape): void {
  i32c(w, m.desc >>> 3);
  w.u8(W.i32_load8_u);
  w.u32(0);
  w.u32(SHADOW_BASE);
  w.u8x2(W.i32_const, 1);
  w.u8(W.i32_eq);
  i32c(w, m.desc);
  w.u8(W.i32_load);
  w.u32(0);
  w.u32(Desc.MAGIC);
  i32c(w, DESC_MAGIC);
  w.u8(W.i32_eq);
  w.u8(W.i32_and);
  i32c(w, m.desc);
  w.u8(W.i32_load);
  w.u32(0);
  w.u32(Desc.ID);
  i32c(w, m.id);
  w.u8(W.i32_eq);
  w.u8(W.i32_and);
}

/** Push the array index (the u32 key at r2) and keep it in local `a` too. */
function teeKeyIndex(ctx: IntrinsicContext, a: number): void {
  const w = ctx.w;
  ctx.pushAddress(2);
  w.u8(W.i32_load);
  w.u32(0);
  w.u32(0);
  w.u8x2(W.local_tee, a);
}

/** [idx] -> [data + idx * stride]: the address of an array element. */
function elementAddress(ctx: IntrinsicContext, m: MapShape): void {
  const w = ctx.w;
  i32c(w, m.stride);
  w.u8(W.i32_mul);
  i32c(w, m.data);
  w.u8(W.i32_add);
}

/** r0 = idx < max ? data + idx * stride : 0, with idx the u32 at r2. */
function arrayLookup(ctx: IntrinsicContext, m: MapShape): void {
  const w = ctx.w;
  const a = ctx.tmpI32;
  teeKeyIndex(ctx, a);
  elementAddress(ctx, m);
  w.u8(W.i64_extend_i32_u);
  w.u8x2(W.i64_const, 0);
  w.u8x2(W.local_get, a);
  i32c(w, m.maxEntries);
  w.u8(W.i32_lt_u);
  w.u8(W.select);
  w.u8x2(W.local_set, ctx.reg(0));
}

/** r0 = lookup(desc, r2, cpu 0) (never -1: the map is known to be a hash). */
function hashLookup(ctx: IntrinsicContext, m: MapShape): void {
  const w = ctx.w;
  i32c(w, m.desc);
  ctx.pushAddress(2);
  w.u8x2(W.i32_const, 0);
  w.u8(W.call);
  w.u32(ctx.func(FN_LOOKUP));
  w.u8(W.i64_extend_i32_u);
  w.u8x2(W.local_set, ctx.reg(0));
}

const LOAD_U: Readonly<Record<number, W>> = { 1: W.i64_load8_u, 2: W.i64_load16_u, 4: W.i64_load32_u, 8: W.i64_load };
const STORE: Readonly<Record<number, W>> = { 1: W.i64_store8, 2: W.i64_store16, 4: W.i64_store32, 8: W.i64_store };

/**
 * With the destination address on the stack: copy n bytes from r3 there,
 * with memmove semantics (the value may overlap the element). Up to 16
 * bytes: one or two loads of the widest power of two w <= n (at 0 and
 * n - w, overlapping when n is not 2w), both done before the stores; V8
 * compiles memory.copy to a call, which costs more than the whole update
 * for the 8-byte values programs usually store. Larger values: memory.copy.
 */
function copyValue(ctx: IntrinsicContext, n: number): void {
  const w = ctx.w;
  const dst = ctx.tmpI32;
  const [t0, t1] = ctx.tmpI64;
  if (n > 16) {
    ctx.pushAddress(3);
    i32c(w, n);
    w.u8(W.misc_prefix);
    w.u32(WM.memory_copy);
    w.u8x2(0, 0);
    return;
  }
  let width = 1;
  while (width * 2 <= n && width < 8) width *= 2;
  const two = width !== n;
  w.u8x2(W.local_set, dst);
  const part = (off: number, t: number): void => {
    ctx.pushAddress(3);
    w.u8(LOAD_U[width]!);
    w.u32(0);
    w.u32(off);
    w.u8x2(W.local_set, t);
  };
  part(0, t0);
  if (two) part(n - width, t1);
  const put = (off: number, t: number): void => {
    w.u8x2(W.local_get, dst);
    w.u8x2(W.local_get, t);
    w.u8(STORE[width]!);
    w.u32(0);
    w.u32(off);
  };
  put(0, t0);
  if (two) put(n - width, t1);
}

/**
 * The checks of map_update_elem and ArrayMap.updateAt, in their order, then
 * the copy: flags (r4) -EINVAL, index -E2BIG, BPF_NOEXIST -EEXIST, BPF_F_LOCK
 * -EINVAL (no bpf_spin_lock in these values), else 0.
 */
function arrayUpdate(ctx: IntrinsicContext, m: MapShape): void {
  const w = ctx.w;
  const r0 = ctx.reg(0);
  const a = ctx.tmpI32;
  w.u8x2(W.block, T.void);
  i64c(w, -EINVAL);
  w.u8x2(W.local_set, r0);
  // (flags & ~BPF_F_LOCK) > BPF_EXIST, as u64: also catches a non-zero high half
  w.u8x2(W.local_get, ctx.reg(4));
  i64c(w, ~BPF_F_LOCK);
  w.u8(W.i64_and);
  w.u8x2(W.i64_const, 2);
  w.u8(W.i64_gt_u);
  w.u8x2(W.br_if, 0);
  i64c(w, -E2BIG);
  w.u8x2(W.local_set, r0);
  teeKeyIndex(ctx, a);
  i32c(w, m.maxEntries);
  w.u8(W.i32_ge_u);
  w.u8x2(W.br_if, 0);
  i64c(w, -EEXIST);
  w.u8x2(W.local_set, r0);
  w.u8x2(W.local_get, ctx.reg(4));
  w.u8(W.i32_wrap_i64);
  w.u8x2(W.i32_const, 3);
  w.u8(W.i32_and);
  w.u8x2(W.i32_const, 1);
  w.u8(W.i32_eq);
  w.u8x2(W.br_if, 0);
  // BPF_F_LOCK last, as the kernel checks it: only maps without a bpf_spin_lock
  // come here, for which it is EINVAL
  i64c(w, -EINVAL);
  w.u8x2(W.local_set, r0);
  w.u8x2(W.local_get, ctx.reg(4));
  w.u8(W.i32_wrap_i64);
  i32c(w, BPF_F_LOCK);
  w.u8(W.i32_and);
  w.u8x2(W.br_if, 0);
  w.u8x2(W.local_get, a);
  elementAddress(ctx, m);
  copyValue(ctx, m.valueSize);
  w.u8x2(W.i64_const, 0);
  w.u8x2(W.local_set, r0);
  w.u8(W.end);
}

/**
 * Intrinsics for the maps of one table (and the helpers of one registry):
 * pass the result in JitOptions, e.g. `compile(prog, config, { verified,
 * ...mapIntrinsics(maps, helpers) })`.
 */
export function mapIntrinsics(maps: MapTable, helpers: HelperRegistry): IntrinsicSet {
  /** The map at a constant r1, when the call may take an inline path. */
  const shapeAt = (ctx: IntrinsicContext, helperFn: unknown): MapShape | undefined => {
    if (helpers.get(ctx.helperId)?.fn !== helperFn) return undefined;
    const desc = ctx.constantU32(1);
    if (desc < 0) return undefined;
    const m = maps.byDesc(desc);
    if (m === undefined) return undefined;
    const dv = maps.mem.dv;
    return {
      type: m.type,
      desc,
      data: dv.getUint32(desc + Desc.DATA, true),
      stride: dv.getUint32(desc + Desc.ELEM_STRIDE, true),
      maxEntries: m.maxEntries,
      keySize: m.keySize,
      valueSize: m.valueSize,
      flags: m.flags,
      id: m.id,
      spinLock: dv.getUint32(desc + Desc.SPIN_LOCK, true) !== 0,
    };
  };
  const lookup: Intrinsic = (ctx) => {
    const m = shapeAt(ctx, mapLookupElem.fn);
    if (m !== undefined && m.type === ARRAY) guarded(ctx, m, [[2, m.keySize]], () => arrayLookup(ctx, m));
    else if (m !== undefined && (m.type === HASH || m.type === LRU_HASH)) guarded(ctx, m, [[2, m.keySize]], () => hashLookup(ctx, m));
    else ctx.emitHelperCall();
  };
  const update: Intrinsic = (ctx) => {
    const m = shapeAt(ctx, mapUpdateElem.fn);
    if (m !== undefined && m.type === ARRAY && (m.flags & BPF_F_RDONLY_PROG) === 0 && !m.spinLock) {
      guarded(
        ctx,
        m,
        [
          [2, m.keySize],
          [3, m.valueSize],
        ],
        () => arrayUpdate(ctx, m),
      );
    } else ctx.emitHelperCall();
  };
  const ktime: Intrinsic = (ctx) => {
    // the helper reads no argument registers: skip their spill
    ctx.emitHelperCall(helpers.get(ctx.helperId) !== KTIME);
  };
  return {
    intrinsics: new Map([
      [ID_LOOKUP, lookup],
      [ID_UPDATE, update],
      [ID_KTIME, ktime],
    ]),
    functions: [lookupFunction, readableFunction],
  };
}
