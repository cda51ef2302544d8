// Btf -> .BTF bytes (little-endian), the inverse of parseBtf. Used to hand a
// kernel the object's BTF after the DATASEC fix-up, and by tests. The string
// table is rebuilt, so offsets differ from the input's; `stringOffset` gives
// the new offset of any string (line info refers to strings by offset) and
// must be called before `finish`.

import { BtfError } from '../internal/errors.js';
import type { Btf } from './btf.js';
import { BtfKind, type BtfType } from './types.js';

export class BtfEncoder {
  private readonly words: number[] = [];
  private readonly strs: Uint8Array[] = [new Uint8Array(1)];
  private strLen = 1;
  private readonly offsets = new Map<string, number>([['', 0]]);
  private static readonly enc = new TextEncoder();

  constructor(btf: Btf) {
    for (let id = 1; id < btf.types.length; id++) this.type(btf.types[id]!);
  }

  stringOffset(s: string): number {
    let off = this.offsets.get(s);
    if (off === undefined) {
      const b = BtfEncoder.enc.encode(s + '\0');
      off = this.strLen;
      this.offsets.set(s, off);
      this.strs.push(b);
      this.strLen += b.length;
    }
    return off;
  }

  private head(t: BtfType, vlen: number, sizeOrType: number, kflag = false): void {
    if (vlen > 0xffff) throw new BtfError(`type ${t.id}: ${vlen} members do not fit in vlen`);
    this.words.push(this.stringOffset(t.name), ((kflag ? 1 : 0) << 31) | (t.kind << 24) | vlen, sizeOrType >>> 0);
  }

  private type(t: BtfType): void {
    const w = this.words;
    switch (t.kind) {
      case BtfKind.INT:
        this.head(t, 0, t.size);
        w.push((t.encoding << 24) | (t.bitOffset << 16) | t.bits);
        break;
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        this.head(t, 0, t.type);
        break;
      case BtfKind.ARRAY:
        this.head(t, 0, 0);
        w.push(t.type, t.indexType, t.nelems);
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const kflag = t.members.some((m) => m.bitSize > 0);
        this.head(t, t.members.length, t.size, kflag);
        for (const m of t.members) w.push(this.stringOffset(m.name), m.type, kflag ? ((m.bitSize << 24) | m.bitOffset) >>> 0 : m.bitOffset);
        break;
      }
      case BtfKind.ENUM:
        this.head(t, t.values.length, t.size, t.signed);
        for (const v of t.values) w.push(this.stringOffset(v.name), Number(BigInt.asUintN(32, v.big)));
        break;
      case BtfKind.ENUM64:
        this.head(t, t.values.length, t.size, t.signed);
        for (const v of t.values) {
          const u = BigInt.asUintN(64, v.big);
          w.push(this.stringOffset(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
        }
        break;
      case BtfKind.FWD:
        this.head(t, 0, 0, t.union);
        break;
      case BtfKind.FUNC:
        this.head(t, t.linkage, t.type);
        break;
      case BtfKind.FUNC_PROTO:
        this.head(t, t.params.length + (t.variadic ? 1 : 0), t.returnType);
        for (const p of t.params) w.push(this.stringOffset(p.name), p.type);
        if (t.variadic) w.push(0, 0);
        break;
      case BtfKind.VAR:
        this.head(t, 0, t.type);
        w.push(t.linkage);
        break;
      case BtfKind.DATASEC:
        this.head(t, t.vars.length, t.size);
        for (const v of t.vars) w.push(v.type, v.offset, v.size);
        break;
      case BtfKind.FLOAT:
        this.head(t, 0, t.size);
        break;
      case BtfKind.DECL_TAG:
        this.head(t, 0, t.type);
        w.push(t.componentIdx >>> 0);
        break;
      default:
        throw new BtfError(`type ${t.id}: cannot encode kind ${t.kind}`);
    }
  }

  /** The .BTF section bytes. */
  finish(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + this.strLen);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, true);
    out[2] = 1;
    dv.setUint32(4, 24, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, typeLen, true);
    dv.setUint32(16, typeLen, true);
    dv.setUint32(20, this.strLen, true);
    for (let i = 0; i < this.words.length; i++) dv.setUint32(24 + i * 4, this.words[i]! >>> 0, true);
    let p = 24 + typeLen;
    for (const s of this.strs) {
      out.set(s, p);
      p += s.length;
    }
    return out;
  }
}

/** Encode a Btf as little-endian .BTF bytes. */
export function encodeBtf(btf: Btf): Uint8Array {
  return new BtfEncoder(btf).finish();
}
