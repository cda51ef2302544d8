// A text listing of the function bodies of a module the JIT wrote: one
// instruction per line, indented by block depth, names from the opcode table.
// For golden tests and debugging, so it favours clarity over speed and knows
// exactly the instructions and sections the JIT emits.

import { W, W_NAMES, WA, WM } from './opcodes.js';

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}

  u8(): number {
    if (this.pos >= this.b.length) throw new RangeError('premature EOF');
    return this.b[this.pos++]!;
  }

  u32(): number {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = this.u8();
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
    }
  }

  /** Signed LEB128 as a BigInt (printing only). */
  sleb(): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const x = this.u8();
      r |= BigInt(x & 0x7f) << shift;
      shift += 7n;
      if ((x & 0x80) === 0) {
        if ((x & 0x40) !== 0) r -= 1n << shift;
        return r;
      }
    }
  }
}

const BLOCK_TYPES: Record<number, string> = { 0x40: '', 0x7f: ' (result i32)', 0x7e: ' (result i64)' };
const VAL_TYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64' };

/** Names of the atomic sub-opcodes the JIT uses: rmw ops in their i64 and i64-32-bit forms. */
const ATOMIC_NAMES: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const [name, base] of [
    ['add', WA.rmw_add],
    ['and', WA.rmw_and],
    ['or', WA.rmw_or],
    ['xor', WA.rmw_xor],
    ['xchg', WA.rmw_xchg],
    ['cmpxchg', WA.rmw_cmpxchg],
  ] as const) {
    m.set(base + WA.i64_full, `i64.atomic.rmw.${name}`);
    m.set(base + WA.i64_32u, `i64.atomic.rmw32.${name}_u`);
  }
  return m;
})();

function isMemoryOp(op: number): boolean {
  return op >= W.i32_load && op <= W.i64_store32;
}

/** Print one function body (its bytes after the size prefix). */
function printBody(r: Reader, end: number, out: string[]): void {
  const groups = r.u32();
  const locals: string[] = [];
  for (let g = 0; g < groups; g++) {
    const n = r.u32();
    const t = VAL_TYPES[r.u8()] ?? '?';
    locals.push(`${n} x ${t}`);
  }
  if (locals.length) out.push(`  (local ${locals.join(', ')})`);
  let depth = 1;
  while (r.pos < end) {
    const op = r.u8();
    const name = op === W.atomic_prefix || op === W.misc_prefix ? '' : (W_NAMES.get(op) ?? `unknown-0x${op.toString(16)}`);
    if (op === W.end || op === W.else) depth--;
    let text = name;
    switch (op) {
      case W.block:
      case W.loop:
      case W.if:
        text += BLOCK_TYPES[r.u8()] ?? ' (blocktype ?)';
        break;
      case W.br:
      case W.br_if:
      case W.call:
      case W.local_get:
      case W.local_set:
      case W.local_tee:
      case W.global_get:
      case W.global_set:
        text += ` ${r.u32()}`;
        break;
      case W.br_table: {
        const n = r.u32();
        const targets: number[] = [];
        for (let k = 0; k <= n; k++) targets.push(r.u32());
        text += ` ${targets.join(' ')}`;
        break;
      }
      case W.i32_const:
      case W.i64_const:
        text += ` ${r.sleb()}`;
        break;
      case W.atomic_prefix: {
        const sub = r.u32();
        text = ATOMIC_NAMES.get(sub) ?? `atomic-0x${sub.toString(16)}`;
        text += memarg(r);
        break;
      }
      case W.misc_prefix: {
        const sub = r.u32();
        if (sub === WM.memory_copy) {
          r.u8();
          r.u8();
          text = 'memory.copy';
        } else text = `misc-0x${sub.toString(16)}`;
        break;
      }
      default:
        if (isMemoryOp(op)) text += memarg(r);
    }
    if (r.pos === end && op === W.end) break; // the body's own end
    out.push('  '.repeat(Math.max(depth, 0)) + text);
    if (op === W.block || op === W.loop || op === W.if || op === W.else) depth++;
  }
}

function memarg(r: Reader): string {
  const align = r.u32();
  const offset = r.u32();
  return `${offset !== 0 ? ` offset=${offset}` : ''} align=${2 ** align}`;
}

export interface PrintOptions {
  /** Print only functions with index >= this (default: all defined functions). */
  readonly from?: number;
  /** ... and < this. */
  readonly to?: number;
}

/** The code section of a module as text, one `(func N ...)` per defined function. */
export function printCode(bytes: Uint8Array, options: PrintOptions = {}): string {
  const r = new Reader(bytes);
  r.pos = 8;
  let importedFuncs = 0;
  const out: string[] = [];
  while (r.pos < bytes.length) {
    const id = r.u8();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 2) {
      // imports: count the functions, which come first in the index space
      const n = r.u32();
      for (let k = 0; k < n; k++) {
        for (let name = 0; name < 2; name++) {
          const len = r.u32(); // module, then field name
          r.pos += len;
        }
        const kind = r.u8();
        if (kind === 0) {
          importedFuncs++;
          r.u32();
        } else if (kind === 2) {
          const flags = r.u8();
          r.u32();
          if ((flags & 1) !== 0) r.u32();
        } else throw new RangeError(`import kind ${kind} not written by the JIT`);
      }
    } else if (id === 10) {
      const n = r.u32();
      for (let k = 0; k < n; k++) {
        const index = importedFuncs + k;
        const len = r.u32();
        const bodyEnd = r.pos + len;
        if (index >= (options.from ?? 0) && index < (options.to ?? Infinity)) {
          out.push(`(func ${index}`);
          printBody(r, bodyEnd, out);
          out.push(')');
        }
        r.pos = bodyEnd;
      }
    }
    r.pos = end;
  }
  return out.join('\n') + '\n';
}
