// The interpreter's arithmetic that does not fit in a line: 64-bit division
// and remainder on (lo, hi) int32 halves, and byte reversal. Pure functions;
// results go to a module-level scratch array so nothing allocates.

/** 2^32 as a double. */
export const TWO32 = 4294967296;

// Scratch for 64-bit division results (lo, hi); module-level so division allocates nothing.
export const divOut = new Int32Array(2);

/**
 * 64-bit division or remainder of (al, ah) by (bl, bh), into divOut.
 * Divisor zero is handled by the caller. A divisor below 2^32 takes exact
 * 16-bit-limb long division in doubles; operands below 2^52 in magnitude are
 * divided as doubles (exact: quotient*divisor stays below 2^53, and the
 * remainder correction fixes the rounding of a/b). Only a divisor of 2^52 or
 * more with a dividend of 2^52 or more takes the BigInt path (about 0.3-0.5 µs
 * per operation); for unsigned operands that means genuinely huge values on
 * both sides, which packet programs rarely divide.
 */
export function divmod64(al: number, ah: number, bl: number, bh: number, signed: boolean, mod: boolean): void {
  let negA = false;
  let negB = false;
  if (signed) {
    if (ah < 0) {
      negA = true;
      // two's-complement negate (lo, hi)
      al = -al | 0;
      ah = (~ah + (al === 0 ? 1 : 0)) | 0;
    }
    if (bh < 0) {
      negB = true;
      bl = -bl | 0;
      bh = (~bh + (bl === 0 ? 1 : 0)) | 0;
    }
  }
  const ahu = ah >>> 0;
  const bhu = bh >>> 0;
  if (bhu === 0) {
    // Divisor below 2^32 (the usual case, even for 64-bit dividends): long
    // division by 16-bit limbs. Every partial dividend is below 2^48, so each
    // double division and floor is exact, and each quotient limb is below 2^16.
    const b = bl >>> 0;
    let t = ahu >>> 16;
    const q3 = Math.floor(t / b);
    t = (t - q3 * b) * 65536 + (ahu & 0xffff);
    const q2 = Math.floor(t / b);
    t = (t - q2 * b) * 65536 + (al >>> 16);
    const q1 = Math.floor(t / b);
    t = (t - q1 * b) * 65536 + (al & 0xffff);
    const q0 = Math.floor(t / b);
    const r = t - q0 * b;
    let lo: number;
    let hi: number;
    if (mod) {
      lo = r | 0;
      hi = 0;
    } else {
      lo = (q1 << 16) | q0;
      hi = (q3 << 16) | q2;
    }
    if (signed && (mod ? negA : negA !== negB)) {
      lo = -lo | 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
    }
    divOut[0] = lo;
    divOut[1] = hi;
    return;
  }
  if (ahu < 0x100000 && bhu < 0x100000) {
    const a = ahu * TWO32 + (al >>> 0);
    const b = bhu * TWO32 + (bl >>> 0);
    let q = Math.floor(a / b);
    let r = a - q * b;
    if (r < 0) {
      q -= 1;
      r += b;
    } else if (r >= b) {
      q += 1;
      r -= b;
    }
    let v = mod ? r : q;
    if (signed && (mod ? negA : negA !== negB)) v = -v;
    divOut[0] = v | 0; // ToInt32 is the low 32 bits of the two's-complement value
    divOut[1] = Math.floor(v / TWO32) | 0;
    return;
  }
  divmod64Big(al, ah, bl, bh, signed, mod, negA, negB);
}

/** The BigInt slow path of divmod64 (operands already made non-negative when signed). */
function divmod64Big(al: number, ah: number, bl: number, bh: number, signed: boolean, mod: boolean, negA: boolean, negB: boolean): void {
  const a = (BigInt(ah >>> 0) << 32n) | BigInt(al >>> 0);
  const b = (BigInt(bh >>> 0) << 32n) | BigInt(bl >>> 0);
  let v = mod ? a % b : a / b;
  if (signed && (mod ? negA : negA !== negB)) v = -v;
  v = BigInt.asUintN(64, v); // INT_MIN / -1 wraps back to INT_MIN here
  divOut[0] = Number(v & 0xffffffffn) | 0;
  divOut[1] = Number(v >> 32n) | 0;
}

/** Byte-reverse a 32-bit value. */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}
