// The WebAssembly opcodes the JIT emits (core spec 2.0 plus the threads
// proposal's atomics and the sign-extension operators): one table, from which
// the printer derives the text names (i32_add -> i32.add); a duplicate code is
// rejected when the module loads.

export const W = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,

  i32_load: 0x28,
  i64_load: 0x29,
  i32_load8_u: 0x2d,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i64_store: 0x37,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,

  i32_const: 0x41,
  i64_const: 0x42,

  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_s: 0x57,
  i64_le_u: 0x58,
  i64_ge_s: 0x59,
  i64_ge_u: 0x5a,

  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_s: 0x6f,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i32_rotl: 0x77,
  i32_rotr: 0x78,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_div_s: 0x7f,
  i64_div_u: 0x80,
  i64_rem_s: 0x81,
  i64_rem_u: 0x82,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i64_rotl: 0x89,
  i64_rotr: 0x8a,

  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0,
  i32_extend16_s: 0xc1,
  i64_extend8_s: 0xc2,
  i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,

  /** Prefix of the bulk-memory instructions (memory.copy is sub-opcode 10). */
  misc_prefix: 0xfc,
  /** Prefix of the threads proposal's atomic instructions. */
  atomic_prefix: 0xfe,
} as const;
export type W = (typeof W)[keyof typeof W];


function opcodeNames(): ReadonlyMap<number, string> {
  const m = new Map<number, string>();
  for (const [key, code] of Object.entries(W)) {
    if (m.has(code)) throw new Error(`wasm opcodes: duplicate code 0x${code.toString(16)} (${m.get(code)}, ${key})`);
    const typed = /^(i32|i64|local|global)_/.test(key);
    m.set(code, typed ? key.replace('_', '.') : key);
  }
  return m;
}

let names: ReadonlyMap<number, string> | undefined;

/**
 * Text name of each opcode (the key with its first '_' as '.', for typed
 * operators). Built on first use (the .wat printer) rather than at load:
 * building it took 1-5 ms of every `tsbpf` start that loads the JIT.
 */
export const W_NAMES: Pick<ReadonlyMap<number, string>, 'get'> = {
  get: (code: number): string | undefined => (names ??= opcodeNames()).get(code),
};

/** Atomic sub-opcodes (after the 0xfe prefix). rmw ops: base + 1 is the i64 form, base + 6 the i64 32-bit form. */
export const enum WA {
  /** i32.atomic.load (map lookups read entry flags with it). */
  i32_load = 0x10,
  rmw_add = 0x1e,
  rmw_and = 0x2c,
  rmw_or = 0x33,
  rmw_xor = 0x3a,
  rmw_xchg = 0x41,
  rmw_cmpxchg = 0x48,
  /** Offset from a base to i64.atomic.rmw.<op> (8 bytes). */
  i64_full = 1,
  /** Offset from a base to i64.atomic.rmw32.<op>_u (4 bytes, zero-extended result). */
  i64_32u = 6,
}

/** Sub-opcodes after the 0xfc prefix. */
export const enum WM {
  /** memory.copy (dst, src, n), followed by two memory indices (0 0). */
  memory_copy = 10,
}

/** Value types. */
export const enum T {
  i32 = 0x7f,
  i64 = 0x7e,
  /** The empty block type. */
  void = 0x40,
  func = 0x60,
}
