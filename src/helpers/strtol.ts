// bpf_strtol / bpf_strtoul (kernel/bpf/helpers.c, __bpf_strtoull with
// lib/kstrtox.c's radix and digit rules): parse an integer at the start of
// a buffer, return how many bytes were consumed (leading white space, the
// sign and a 0x prefix included) or a negative errno, and store the value
// through the fourth argument (0 on any error, as the kernel zeroes it
// first).

import { EFAULT, EINVAL } from '../maps/errno.js';
import { arg, argHi, helper, retInt } from './define.js';
import type { HelperDef, HelperEnv } from './registry.js';

const ERANGE = 34;
/** BPF_STRTOX_BASE_MASK: the base lives in the low 5 bits of flags; any other bit is -EINVAL. */
const BASE_MASK = 0x1f;
/** The kernel copies at most sizeof(str) - 1 = 63 bytes after the sign into a NUL-terminated buffer. */
const MAX_DIGITS = 63;
const U64_MAX = (1n << 64n) - 1n;

/** The kernel's isspace (lib/ctype.c): \t \n \v \f \r, space, and Latin-1 NBSP (0xa0). */
const isSpace = (c: number): boolean => (c >= 9 && c <= 13) || c === 32 || c === 0xa0;
const isXDigit = (c: number): boolean => (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);

export interface ParsedInteger {
  /** Bytes consumed, or a negative errno. */
  readonly ret: number;
  readonly value: bigint;
  readonly negative: boolean;
}

/** __bpf_strtoull over `buf` with the base/flags word `flags` (low and high halves). */
export function parseUnsigned(buf: Uint8Array, flagsLo: number, flagsHi: number): ParsedInteger {
  const fail = (ret: number): ParsedInteger => ({ ret, value: 0n, negative: false });
  let base = flagsLo & BASE_MASK;
  if (buf.length === 0) return fail(-EINVAL);
  if (base !== 0 && base !== 8 && base !== 10 && base !== 16) return fail(-EINVAL);
  if ((flagsLo & ~BASE_MASK) !== 0 || flagsHi !== 0) return fail(-EINVAL);
  let i = 0;
  while (i < buf.length && isSpace(buf[i]!)) i++;
  const negative = i < buf.length && buf[i] === 0x2d; // '-'
  if (negative) i++;
  const consumedPrefix = i;
  if (i === buf.length) return fail(-EINVAL);
  // the rest, cut to 63 bytes and NUL-terminated
  const s = new Uint8Array(Math.min(buf.length - i, MAX_DIGITS) + 1);
  s.set(buf.subarray(i, i + s.length - 1));
  const at = (k: number): number => (k < s.length ? s[k]! : 0);
  let p = 0;
  // _parse_integer_fixup_radix
  if (base === 0) {
    if (at(0) === 0x30) base = (at(1) | 0x20) === 0x78 && isXDigit(at(2)) ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && at(0) === 0x30 && (at(1) | 0x20) === 0x78) p = 2;
  // _parse_integer_limit: digits until the first that is not one in this base
  let value = 0n;
  let digits = 0;
  let overflow = false;
  for (;;) {
    const c = at(p + digits);
    const lc = c | 0x20;
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (lc >= 97 && lc <= 102) v = lc - 97 + 10;
    else break;
    if (v >= base) break;
    value = value * BigInt(base) + BigInt(v);
    if (value > U64_MAX) overflow = true;
    value &= U64_MAX;
    digits++;
  }
  if (overflow) return fail(-ERANGE);
  if (digits === 0) return fail(-EINVAL);
  return { ret: consumedPrefix + p + digits, value, negative };
}

/** bpf_strtol's result: the signed value, or -ERANGE when it does not fit in an s64. */
export function strtol(buf: Uint8Array, flagsLo: number, flagsHi: number): { ret: number; value: bigint } {
  const r = parseUnsigned(buf, flagsLo, flagsHi);
  if (r.ret < 0) return { ret: r.ret, value: 0n };
  const v = r.negative ? BigInt.asIntN(64, -r.value) : BigInt.asIntN(64, r.value);
  // (long long)-res > 0 or (long long)res < 0: out of range
  if ((r.negative && v > 0n) || (!r.negative && v < 0n)) return { ret: -ERANGE, value: 0n };
  return { ret: r.ret, value: v };
}

/** bpf_strtoul's result: a leading '-' is -EINVAL. */
export function strtoul(buf: Uint8Array, flagsLo: number, flagsHi: number): { ret: number; value: bigint } {
  const r = parseUnsigned(buf, flagsLo, flagsHi);
  if (r.ret < 0) return { ret: r.ret, value: 0n };
  if (r.negative) return { ret: -EINVAL, value: 0n };
  return { ret: r.ret, value: r.value };
}

function run(env: HelperEnv, parse: typeof strtol): void {
  const buf = arg(env, 1);
  const len = arg(env, 2);
  const res = arg(env, 4);
  const mem = env.mem;
  // an unverified program may pass anything: memory it cannot use is -EFAULT, and nothing is written
  if (!mem.checkRange(res, 8, true)) return retInt(env, -EFAULT);
  mem.dv.setBigUint64(res, 0n, true);
  if (len > 0 && !mem.checkRange(buf, len, false)) return retInt(env, -EFAULT);
  const r = parse(mem.u8.subarray(buf, buf + len), arg(env, 3), argHi(env, 3));
  mem.dv.setBigInt64(res, BigInt.asIntN(64, r.value), true);
  retInt(env, r.ret);
}

export const STRTOL_HELPERS: readonly HelperDef[] = [
  helper('strtol', (env) => run(env, strtol)),
  helper('strtoul', (env) => run(env, strtoul)),
];
