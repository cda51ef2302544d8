// The kernel's BPF printf: the format subset bpf_trace_printk and
// bpf_snprintf accept (kernel/bpf/helpers.c, bpf_bprintf_prepare) and the
// output vsprintf gives for it. Accepted: %% and
//   %[flags][width]{d,i,u,x,X}   with l or ll (32-bit without, 64-bit with)
//   %[flags][width]{s,c}         %s reads a NUL-terminated string from memory
//   %p %pK %px %ps %pS %pB       pointers (printed raw: there is no kernel to hide)
//   %pks %pus                    strings from "kernel"/"user" memory
//   %pi4 %pI4 %pi6 %pI6          IP addresses read from memory
// flags are 0 + - and space; no precision, no other conversions. Every
// format character must be printable ASCII or whitespace, the format must
// be NUL-terminated within its size, and it may use at most `nargs`
// arguments: anything else is -EINVAL, as in the kernel.

import type { RuntimeMemory } from '../vm/memory.js';
import { EFAULT, EINVAL } from '../maps/errno.js';

/** The largest output the kernel formats (MAX_BPRINTF_BUF). */
export const MAX_BPRINTF_BUF = 1024;
/** The most arguments bpf_snprintf takes (MAX_BPRINTF_VARARGS). */
export const MAX_BPRINTF_VARARGS = 12;

const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isPunct = (c: number): boolean => isPrint(c) && !isAlnum(c) && c !== 0x20;
const ch = (s: string): number => s.charCodeAt(0);

interface Spec {
  left: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  width: number;
}

function pad(out: number[], body: number[], spec: Spec, numeric: boolean): void {
  const n = spec.width - body.length;
  if (n <= 0) {
    for (const b of body) out.push(b);
    return;
  }
  if (spec.left) {
    for (const b of body) out.push(b);
    for (let i = 0; i < n; i++) out.push(0x20);
  } else if (spec.zero && numeric) {
    // zeros go after a sign
    let k = 0;
    if (body[0] === ch('-') || body[0] === ch('+') || body[0] === 0x20) out.push(body[k++]!);
    for (let i = 0; i < n; i++) out.push(0x30);
    for (; k < body.length; k++) out.push(body[k]!);
  } else {
    for (let i = 0; i < n; i++) out.push(0x20);
    for (const b of body) out.push(b);
  }
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** Bytes of the NUL-terminated string at `addr` (empty if unreadable), at most `max`. */
function readCString(mem: RuntimeMemory, addr: number, max: number): number[] {
  const r = mem.regionOf(addr, 1);
  if (r === undefined) return [];
  const end = Math.min(r.start + r.size, addr + max);
  const out: number[] = [];
  for (let a = addr; a < end; a++) {
    const c = mem.u8[a]!;
    if (c === 0) break;
    out.push(c);
  }
  return out;
}

function readBytes(mem: RuntimeMemory, addr: number, n: number): Uint8Array {
  return mem.checkRange(addr, n, false) ? mem.u8.slice(addr, addr + n) : new Uint8Array(n);
}

/**
 * Format per the kernel's rules. `args` holds 64-bit arguments as (lo, hi)
 * int32 pairs starting at index `base`. Returns the output bytes (not
 * truncated) or a negative errno.
 */
export function bprintf(mem: RuntimeMemory, fmt: number, fmtSize: number, args: Int32Array, base: number, nargs: number): Uint8Array | number {
  if (!mem.checkRange(fmt, fmtSize, false)) return -EFAULT;
  const u8 = mem.u8;
  let end = -1;
  for (let i = 0; i < fmtSize; i++)
    if (u8[fmt + i] === 0) {
      end = i;
      break;
    }
  if (end < 0) return -EINVAL;
  const f = (i: number): number => (i < end ? u8[fmt + i]! : 0);
  const out: number[] = [];
  let argi = 0;
  let i = 0;
  while (i < end) {
    const c = f(i);
    if ((!isPrint(c) && !isSpace(c)) || c > 0x7f) return -EINVAL;
    if (c !== 0x25) {
      out.push(c);
      i++;
      continue;
    }
    if (f(i + 1) === 0x25) {
      out.push(0x25);
      i += 2;
      continue;
    }
    if (argi >= nargs) return -EINVAL;
    const lo = args[base + 2 * argi]!;
    const hi = args[base + 2 * argi + 1]!;
    argi++;
    i++;
    const spec: Spec = { left: false, plus: false, space: false, zero: false, width: 0 };
    for (;;) {
      const x = f(i);
      if (x === ch('0')) spec.zero = true;
      else if (x === ch('+')) spec.plus = true;
      else if (x === ch('-')) spec.left = true;
      else if (x === ch(' ')) spec.space = true;
      else break;
      i++;
    }
    if (f(i) >= ch('1') && f(i) <= ch('9')) {
      while (isDigit(f(i))) spec.width = spec.width * 10 + f(i++) - 0x30;
    }
    const conv = f(i);
    const ptr = lo >>> 0;
    const u64 = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    if (conv === ch('p')) {
      const m1 = f(i + 1);
      const m2 = f(i + 2);
      if ((m1 === ch('k') || m1 === ch('u')) && m2 === ch('s')) {
        i += 3;
        if (f(i) !== 0 && !isSpace(f(i)) && !isPunct(f(i))) return -EINVAL;
        pad(out, readCString(mem, ptr, MAX_BPRINTF_BUF), spec, false);
        continue;
      }
      if (m1 === 0 || isSpace(m1) || isPunct(m1) || m1 === ch('K') || m1 === ch('x')) {
        i += m1 === ch('K') || m1 === ch('x') ? 2 : 1;
        pad(out, ascii(u64.toString(16).padStart(16, '0')), spec, false);
        continue;
      }
      if (m1 === ch('s') || m1 === ch('S') || m1 === ch('B')) {
        i += 2;
        pad(out, ascii('0x' + u64.toString(16)), spec, false);
        continue;
      }
      if ((m1 !== ch('i') && m1 !== ch('I')) || (m2 !== ch('4') && m2 !== ch('6'))) return -EINVAL;
      i += 3;
      const v4 = m2 === ch('4');
      const b = readBytes(mem, ptr, v4 ? 4 : 16);
      let s: string;
      if (v4) s = [...b].map((x) => (m1 === ch('i') ? String(x).padStart(3, '0') : String(x))).join('.');
      else {
        const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
        s = m1 === ch('i') ? hex : hex.match(/..../g)!.join(':');
      }
      pad(out, ascii(s), spec, false);
      continue;
    }
    if (conv === ch('s')) {
      i++;
      if (f(i) !== 0 && !isSpace(f(i)) && !isPunct(f(i))) return -EINVAL;
      pad(out, readCString(mem, ptr, MAX_BPRINTF_BUF), spec, false);
      continue;
    }
    if (conv === ch('c')) {
      i++;
      pad(out, [lo & 0xff], spec, false);
      continue;
    }
    let wide = false;
    if (f(i) === ch('l')) {
      wide = true;
      i++;
      if (f(i) === ch('l')) i++;
    }
    const k = f(i);
    i++;
    let s: string;
    if (k === ch('d') || k === ch('i')) {
      const v = wide ? BigInt.asIntN(64, u64) : BigInt(lo);
      s = v.toString();
      if (v >= 0n && spec.plus) s = '+' + s;
      else if (v >= 0n && spec.space) s = ' ' + s;
    } else if (k === ch('u')) s = (wide ? u64 : BigInt(lo >>> 0)).toString();
    else if (k === ch('x') || k === ch('X')) {
      s = (wide ? u64 : BigInt(lo >>> 0)).toString(16);
      if (k === ch('X')) s = s.toUpperCase();
    } else return -EINVAL;
    pad(out, ascii(s), spec, true);
  }
  return Uint8Array.from(out);
}
