// Plain data (what a map handle or a program record is: numbers, strings,
// arrays, objects, Uint8Arrays and bigints, such as a CO-RE relocation's
// patched value) to bytes and back, for the share registry
// (share-registry.ts), which lives in the shared memory where postMessage
// cannot reach. The bytes are a JSON text in which each Uint8Array is
// replaced by {"$bytes": n} and each bigint by {"$bigint": "decimal"},
// followed by the arrays themselves:
//
//   u32 json_len | json (UTF-8) | u32 count | count x (u32 len | bytes)
//
// All u32 little-endian. No base64 step, and no Node built-in, so it runs in
// browsers too.

import { UsageError } from '../internal/errors.js';

const BLOB = '$bytes';
const BIG = '$bigint';

/** Encode plain data; functions, class instances other than Uint8Array and cycles are refused by JSON itself. */
export function encodeShared(value: unknown): Uint8Array {
  const blobs: Uint8Array[] = [];
  const json = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      return { [BLOB]: blobs.length - 1 };
    }
    if (typeof v === 'bigint') return { [BIG]: v.toString() };
    return v;
  });
  const text = new TextEncoder().encode(json);
  let size = 8 + text.length;
  for (const b of blobs) size += 4 + b.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, text.length, true);
  out.set(text, 4);
  let at = 4 + text.length;
  dv.setUint32(at, blobs.length, true);
  at += 4;
  for (const b of blobs) {
    dv.setUint32(at, b.length, true);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** Decode what encodeShared made; a truncated or malformed record is a UsageError naming `what`. */
export function decodeShared<T>(bytes: Uint8Array, what: string): T {
  const bad = (why: string): UsageError => new UsageError(`${what}: malformed shared record (${why})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw bad('shorter than its header');
  const textLen = dv.getUint32(0, true);
  if (4 + textLen + 4 > bytes.length) throw bad('text runs past the end');
  const text = new TextDecoder().decode(bytes.subarray(4, 4 + textLen));
  let at = 4 + textLen;
  const count = dv.getUint32(at, true);
  at += 4;
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) throw bad(`byte array ${i} runs past the end`);
    const len = dv.getUint32(at, true);
    if (at + 4 + len > bytes.length) throw bad(`byte array ${i} runs past the end`);
    blobs.push(bytes.slice(at + 4, at + 4 + len));
    at += 4 + len;
  }
  // a walk after the parse instead of a reviver: a reviver calls back for every
  // value (a program's line info has thousands), which made attaching slow
  return restore(JSON.parse(text) as unknown, blobs, bad) as T;
}

/** Put the byte arrays back where {"$bytes": n} stands. */
function restore(v: unknown, blobs: readonly Uint8Array[], bad: (why: string) => UsageError): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (x !== null && typeof x === 'object') v[i] = restore(x, blobs, bad);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  const big = o[BIG];
  if (typeof big === 'string') {
    if (!/^-?\d+$/.test(big)) throw bad(`bad bigint ${JSON.stringify(big)}`);
    return BigInt(big);
  }
  const ref = o[BLOB];
  if (ref !== undefined) {
    const b = typeof ref === 'number' ? blobs[ref] : undefined;
    if (b === undefined) throw bad('reference to a missing byte array');
    return b;
  }
  for (const k in o) {
    const x = o[k];
    if (x !== null && typeof x === 'object') o[k] = restore(x, blobs, bad);
  }
  return o;
}
