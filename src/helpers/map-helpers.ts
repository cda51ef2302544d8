// Map helpers: map_lookup/update/delete_elem, map_push/pop/peek_elem and
// for_each_map_elem. r1 is a map descriptor address (see src/maps/descriptor.ts).
// With verification skipped a program may pass anything; then these return
// what a defensive kernel would: NULL from lookup, -EINVAL for something that
// is not a map, -EFAULT for a key or value pointer outside the memory the
// program may touch. They never read or write outside checked ranges.

import { ProgramError } from '../internal/errors.js';
import { USER } from '../maps/base.js';
import { EFAULT, EINVAL, EPERM } from '../maps/errno.js';
import { BPF_F_RDONLY_PROG } from '../maps/spec.js';
import { contextOf, type HelperContext } from './context.js';
import { arg, argHi, helper, retInt, retU32 } from './define.js';
import type { HelperDef, HelperEnv } from './registry.js';

function mapArg(env: HelperEnv, ctx: HelperContext, i = 1) {
  return ctx.maps.byDesc(arg(env, i));
}

export const mapLookupElem = helper('map_lookup_elem', (env) => {
  const ctx = contextOf(env, 'map_lookup_elem');
  const map = mapArg(env, ctx);
  const key = arg(env, 2);
  if (map === undefined || !env.mem.checkRange(key, map.keySize, false)) return retU32(env, 0);
  retU32(env, map.lookupAt(key, ctx.cpu));
});

export const mapUpdateElem = helper('map_update_elem', (env) => {
  const ctx = contextOf(env, 'map_update_elem');
  const map = mapArg(env, ctx);
  if (map === undefined) return retInt(env, -EINVAL);
  if ((map.flags & BPF_F_RDONLY_PROG) !== 0) return retInt(env, -EPERM);
  const key = arg(env, 2);
  const value = arg(env, 3);
  if (!env.mem.checkRange(key, map.keySize, false) || !env.mem.checkRange(value, map.valueSize, false)) return retInt(env, -EFAULT);
  if (argHi(env, 4) !== 0) return retInt(env, -EINVAL);
  retInt(env, map.updateAt(key, value, arg(env, 4), ctx.cpu));
});

export const mapDeleteElem = helper('map_delete_elem', (env) => {
  const ctx = contextOf(env, 'map_delete_elem');
  const map = mapArg(env, ctx);
  if (map === undefined) return retInt(env, -EINVAL);
  if ((map.flags & BPF_F_RDONLY_PROG) !== 0) return retInt(env, -EPERM);
  const key = arg(env, 2);
  if (!env.mem.checkRange(key, map.keySize, false)) return retInt(env, -EFAULT);
  retInt(env, map.deleteAt(key));
});

export const mapPushElem = helper('map_push_elem', (env) => {
  const ctx = contextOf(env, 'map_push_elem');
  const map = mapArg(env, ctx);
  if (map === undefined) return retInt(env, -EINVAL);
  const value = arg(env, 2);
  if (!env.mem.checkRange(value, map.valueSize, false)) return retInt(env, -EFAULT);
  if (argHi(env, 3) !== 0) return retInt(env, -EINVAL);
  retInt(env, map.pushAt(value, arg(env, 3)));
});

/** map_lookup_percpu_elem(map, key, cpu): that CPU's copy in a per-CPU map; NULL otherwise. */
export const mapLookupPercpuElem = helper('map_lookup_percpu_elem', (env) => {
  const ctx = contextOf(env, 'map_lookup_percpu_elem');
  const map = mapArg(env, ctx);
  const key = arg(env, 2);
  const cpu = arg(env, 3);
  const perCpu = map !== undefined && map.userValueSize !== map.valueSize;
  if (!perCpu || cpu >= ctx.maps.cpus || argHi(env, 3) !== 0 || !env.mem.checkRange(key, map.keySize, false)) return retU32(env, 0);
  retU32(env, map.lookupAt(key, cpu));
});

function popOrPeek(name: string, remove: boolean): HelperDef {
  return helper(name, (env) => {
    const ctx = contextOf(env, name);
    const map = mapArg(env, ctx);
    if (map === undefined) return retInt(env, -EINVAL);
    const out = arg(env, 2);
    // bloom_filter's peek reads the value to test; queue/stack write it
    const write = map.typeName !== 'bloom_filter';
    if (!env.mem.checkRange(out, map.valueSize, write)) return retInt(env, -EFAULT);
    retInt(env, map.popAt(out, remove));
  });
}

export const mapPopElem = popOrPeek('map_pop_elem', true);
export const mapPeekElem = popOrPeek('map_peek_elem', false);

/**
 * for_each_map_elem(map, callback, ctx, flags): calls callback(map, &key, &value, ctx)
 * per element until it returns non-zero; returns the number of calls.
 */
export const forEachMapElem = helper('for_each_map_elem', (env) => {
  const ctx = contextOf(env, 'for_each_map_elem');
  const map = mapArg(env, ctx);
  if (map === undefined || arg(env, 4) !== 0 || argHi(env, 4) !== 0) return retInt(env, -EINVAL);
  const invoke = ctx.invoke;
  if (invoke === undefined) throw noInvoker(env, 'for_each_map_elem');
  const fn = arg(env, 2);
  const cbCtxLo = env.regs[6]!;
  const cbCtxHi = env.regs[7]!;
  const a = ctx.callbackArgs;
  const desc = map.desc;
  const n = map.forEachAt(ctx.cpu === USER ? 0 : ctx.cpu, (key, value) => {
    a.fill(0);
    a[0] = desc;
    a[2] = key;
    a[4] = value;
    a[6] = cbCtxLo;
    a[7] = cbCtxHi;
    return invoke(fn, a) !== 0;
  });
  retInt(env, n);
});

export function noInvoker(env: HelperEnv, name: string): ProgramError {
  return new ProgramError(env.pc, `${name} needs an engine that can run callbacks (HelperContext.invoke)`);
}

export const MAP_HELPERS: readonly HelperDef[] = [mapLookupElem, mapUpdateElem, mapDeleteElem, mapPushElem, mapPopElem, mapPeekElem, forEachMapElem, mapLookupPercpuElem];
