// .BTF section bytes -> Btf. Layout (linux/btf.h): a header (magic 0xeB9F,
// version 1, flags, hdr_len, type_off/len, str_off/len relative to the end of
// the header), then btf_type records, each 12 bytes plus kind-specific data.
// The magic also tells the byte order, so big-endian objects parse too.

import { ByteReader, decodeLatin } from '../internal/byte-reader.js';
import { BtfError } from '../internal/errors.js';
import { Btf } from './btf.js';
import { BtfKind, BTF_KIND_NAMES, type BtfMember, type BtfType } from './types.js';

export const BTF_MAGIC = 0xeb9f;

export interface ParseBtfOptions {
  /** Section name used in error messages (default '.BTF'). */
  section?: string;
  /** File offset of the section, so errors give file offsets. */
  base?: number;
}

/** Byte order from the magic at the start of a .BTF or .BTF.ext section. */
export function btfEndianness(bytes: Uint8Array, section: string): boolean {
  if (bytes.length < 2) throw new BtfError('section too short for a BTF header', section, 0);
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) return true;
  if (bytes[0] === 0xeb && bytes[1] === 0x9f) return false;
  throw new BtfError(`bad magic 0x${bytes[0]!.toString(16).padStart(2, '0')}${bytes[1]!.toString(16).padStart(2, '0')} (expected 0xeb9f)`, section, 0);
}

export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  const section = options.section ?? '.BTF';
  const le = btfEndianness(bytes, section);
  const r = new ByteReader(bytes, le, (reason, offset) => new BtfError(reason, section, offset), options.base ?? 0);
  const version = r.u8At(2, 'version');
  if (version !== 1) throw r.error(`unsupported BTF version ${version}`, 2);
  const hdrLen = r.u32At(4, 'hdr_len');
  if (hdrLen < 24) throw r.error(`hdr_len ${hdrLen} is shorter than the 24-byte header`, 4);
  // A longer header is allowed only if the extra bytes are zero (as the kernel checks).
  r.need(0, hdrLen, 'header');
  for (let i = 24; i < hdrLen; i++) if (bytes[i] !== 0) throw r.error('unknown non-zero header field', i);
  const typeOff = r.u32At(8, 'type_off');
  const typeLen = r.u32At(12, 'type_len');
  const strOff = r.u32At(16, 'str_off');
  const strLen = r.u32At(20, 'str_len');
  const typeStart = hdrLen + typeOff;
  const strStart = hdrLen + strOff;
  r.need(typeStart, typeLen, 'type section');
  r.need(strStart, strLen, 'string section');
  if (typeLen % 4 !== 0) throw r.error(`type_len ${typeLen} is not a multiple of 4`, 12);
  if (typeStart < strStart + strLen && strStart < typeStart + typeLen && typeLen > 0 && strLen > 0) {
    throw r.error('type and string sections overlap', 8);
  }
  const strings = bytes.subarray(strStart, strStart + strLen);
  if (strLen > 0 && strings[0] !== 0) throw r.error('string section does not start with an empty string', strStart);
  if (strLen > 0 && strings[strLen - 1] !== 0) throw r.error('string section is not NUL-terminated', strStart + strLen - 1);

  const cache = new Map<number, string>();
  const stringAt = (off: number): string => {
    let s = cache.get(off);
    if (s !== undefined) return s;
    if (off >= strLen) throw new BtfError(`string offset ${off} is outside the string section (${strLen} bytes)`, section, (options.base ?? 0) + strStart);
    let end = off;
    while (strings[end] !== 0) end++; // terminated: the last byte is NUL
    s = decodeLatin(strings, off, end);
    cache.set(off, s);
    return s;
  };

  const types: BtfType[] = [{ id: 0, kind: 0, name: '' }];
  const t = new ByteReader(bytes.subarray(typeStart, typeStart + typeLen), le, (reason, offset) => new BtfError(reason, section, offset), (options.base ?? 0) + typeStart);
  while (t.remaining > 0) {
    const at = t.pos;
    const id = types.length;
    const nameOff = t.u32('name_off');
    const info = t.u32('info');
    const sizeOrType = t.u32('size/type');
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const kflag = (info >>> 31) === 1;
    const name = stringAt(nameOff);
    const where = (reason: string): BtfError => t.error(`type ${id} (${BTF_KIND_NAMES[kind] ?? `kind ${kind}`}): ${reason}`, at);
    switch (kind) {
      case BtfKind.INT: {
        const v = t.u32('int encoding');
        const bits = v & 0xff;
        const bitOffset = (v >>> 16) & 0xff;
        if (bits > 128 || bitOffset + bits > sizeOrType * 8) throw where(`${bits} bits at bit ${bitOffset} do not fit in ${sizeOrType} bytes`);
        types.push({ id, kind, name, size: sizeOrType, encoding: (v >>> 24) & 0x0f, bitOffset, bits });
        break;
      }
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        types.push({ id, kind, name, type: sizeOrType });
        break;
      case BtfKind.ARRAY: {
        const type = t.u32('array type');
        const indexType = t.u32('array index_type');
        const nelems = t.u32('array nelems');
        types.push({ id, kind, name, type, indexType, nelems });
        break;
      }
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        t.need(t.pos, vlen * 12, 'members');
        const members: BtfMember[] = new Array(vlen);
        for (let i = 0; i < vlen; i++) {
          const mName = stringAt(t.u32());
          const type = t.u32();
          const off = t.u32();
          // With kind_flag set, the top 8 bits hold the bitfield size.
          members[i] = kflag ? { name: mName, type, bitOffset: off & 0xffffff, bitSize: off >>> 24 } : { name: mName, type, bitOffset: off, bitSize: 0 };
        }
        types.push({ id, kind, name, size: sizeOrType, members });
        break;
      }
      case BtfKind.ENUM: {
        t.need(t.pos, vlen * 8, 'enum values');
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const vName = stringAt(t.u32());
          const raw = t.u32();
          const value = kflag ? (raw | 0) : raw;
          values.push({ name: vName, value, big: BigInt(value) });
        }
        types.push({ id, kind, name, size: sizeOrType, signed: kflag, values });
        break;
      }
      case BtfKind.ENUM64: {
        t.need(t.pos, vlen * 12, 'enum64 values');
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const vName = stringAt(t.u32());
          const lo = t.u32();
          const hi = t.u32();
          let big = (BigInt(hi) << 32n) | BigInt(lo);
          if (kflag) big = BigInt.asIntN(64, big);
          values.push({ name: vName, value: Number(big), big });
        }
        types.push({ id, kind, name, size: sizeOrType, signed: kflag, values });
        break;
      }
      case BtfKind.FWD:
        types.push({ id, kind, name, union: kflag });
        break;
      case BtfKind.FUNC:
        types.push({ id, kind, name, type: sizeOrType, linkage: vlen });
        break;
      case BtfKind.FUNC_PROTO: {
        t.need(t.pos, vlen * 8, 'params');
        const params = [];
        let variadic = false;
        for (let i = 0; i < vlen; i++) {
          const pName = stringAt(t.u32());
          const type = t.u32();
          // A last parameter with no name and type void marks '...'.
          if (i === vlen - 1 && type === 0 && pName === '') variadic = true;
          else params.push({ name: pName, type });
        }
        types.push({ id, kind, name, returnType: sizeOrType, params, variadic });
        break;
      }
      case BtfKind.VAR:
        types.push({ id, kind, name, type: sizeOrType, linkage: t.u32('var linkage') });
        break;
      case BtfKind.DATASEC: {
        t.need(t.pos, vlen * 12, 'datasec vars');
        const vars = [];
        for (let i = 0; i < vlen; i++) vars.push({ type: t.u32(), offset: t.u32(), size: t.u32() });
        types.push({ id, kind, name, size: sizeOrType, vars });
        break;
      }
      case BtfKind.FLOAT:
        types.push({ id, kind, name, size: sizeOrType });
        break;
      case BtfKind.DECL_TAG:
        types.push({ id, kind, name, type: sizeOrType, componentIdx: t.i32('component_idx') });
        break;
      default:
        throw where('unknown kind');
    }
  }
  checkReferences(types, (id, reason) => new BtfError(`type ${id} (${BTF_KIND_NAMES[types[id]!.kind]} ${types[id]!.name || '(anon)'}): ${reason}`, section));
  return new Btf(types, strings, stringAt, le);
}

/** Every type id a record refers to must exist; done once so later walks need not check. */
function checkReferences(types: readonly BtfType[], fail: (id: number, reason: string) => BtfError): void {
  const n = types.length;
  const check = (id: number, ref: number, what: string): void => {
    if (ref >= n) throw fail(id, `${what} refers to type ${ref}, but there are only ${n - 1} types`);
  };
  for (const t of types) {
    switch (t.kind) {
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
      case BtfKind.FUNC:
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
        check(t.id, t.type, 'type');
        if (t.type === t.id) throw fail(t.id, 'refers to itself');
        break;
      case BtfKind.ARRAY:
        check(t.id, t.type, 'element type');
        check(t.id, t.indexType, 'index type');
        if (t.type === t.id) throw fail(t.id, 'array of itself');
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        for (const m of t.members) check(t.id, m.type, `member ${m.name || '(anon)'}`);
        break;
      case BtfKind.FUNC_PROTO:
        check(t.id, t.returnType, 'return type');
        for (const p of t.params) check(t.id, p.type, `parameter ${p.name || '(anon)'}`);
        break;
      case BtfKind.DATASEC:
        for (const v of t.vars) check(t.id, v.type, 'variable');
        break;
      default:
        break;
    }
  }
}
