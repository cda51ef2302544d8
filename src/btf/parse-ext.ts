// .BTF.ext section bytes -> BtfExt. Three tables follow the header, each a
// record size and then, per ELF section, {sec_name_off, num_info, records}:
// func_info {insn_off, type_id}, line_info {insn_off, file_name_off,
// line_off, line_col} and core_relo {insn_off, type_id, access_str_off, kind}.
// insn_off is in bytes from the start of the ELF section.

import { ByteReader } from '../internal/byte-reader.js';
import { BtfError } from '../internal/errors.js';
import type { Btf } from './btf.js';
import { btfEndianness } from './parse-btf.js';

export interface FuncInfo {
  /** Instruction index (not bytes). */
  readonly insn: number;
  readonly typeId: number;
}

export interface LineInfo {
  readonly insn: number;
  readonly file: string;
  /** The source line text, as clang stores it. */
  readonly text: string;
  readonly line: number;
  readonly col: number;
}

/** bpf_core_relo_kind, as the kernel names them. */
export const CORE_RELO_KINDS: readonly string[] = [
  'field_byte_offset', 'field_byte_size', 'field_exists', 'field_signed', 'field_lshift_u64', 'field_rshift_u64',
  'type_id_local', 'type_id_target', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
];

export interface CoreRelo {
  readonly insn: number;
  readonly typeId: number;
  /** The access string: '0:1:2' style member path. */
  readonly access: string;
  readonly kind: number;
  readonly kindName: string;
}

/** Per ELF section name, the records of each table. */
export interface BtfExt {
  readonly funcInfo: ReadonlyMap<string, readonly FuncInfo[]>;
  readonly lineInfo: ReadonlyMap<string, readonly LineInfo[]>;
  readonly coreRelos: ReadonlyMap<string, readonly CoreRelo[]>;
}

/** Upper bound on records in one table: each is at least 8 bytes, so the section size already bounds it. */
const MIN_RECORD = { func: 8, line: 16, core: 16 } as const;

export function parseBtfExt(bytes: Uint8Array, btf: Btf, base = 0): BtfExt {
  const section = '.BTF.ext';
  const le = btfEndianness(bytes, section);
  const r = new ByteReader(bytes, le, (reason, offset) => new BtfError(reason, section, offset), base);
  const version = r.u8At(2, 'version');
  if (version !== 1) throw r.error(`unsupported BTF.ext version ${version}`, 2);
  const hdrLen = r.u32At(4, 'hdr_len');
  if (hdrLen < 24) throw r.error(`hdr_len ${hdrLen} is shorter than 24 bytes`, 4);
  r.need(0, hdrLen, 'header');
  const fiOff = r.u32At(8), fiLen = r.u32At(12);
  const liOff = r.u32At(16), liLen = r.u32At(20);
  const crOff = hdrLen >= 32 ? r.u32At(24) : 0;
  const crLen = hdrLen >= 32 ? r.u32At(28) : 0;

  const str = (off: number, at: number): string => {
    try {
      return btf.string(off);
    } catch {
      throw r.error(`string offset ${off} is outside the .BTF string section`, at);
    }
  };

  const funcInfo = readTable(r, hdrLen + fiOff, fiLen, MIN_RECORD.func, 'func_info', str, (p, _size, _sec) => ({
    insn: insnIndex(r, p),
    typeId: checkType(r, btf, r.u32At(p + 4), p + 4),
  }));
  const lineInfo = readTable(r, hdrLen + liOff, liLen, MIN_RECORD.line, 'line_info', str, (p) => {
    const lineCol = r.u32At(p + 12);
    return {
      insn: insnIndex(r, p),
      file: str(r.u32At(p + 4), p + 4),
      text: str(r.u32At(p + 8), p + 8),
      line: lineCol >>> 10,
      col: lineCol & 0x3ff,
    };
  });
  const coreRelos = readTable(r, hdrLen + crOff, crLen, MIN_RECORD.core, 'core_relo', str, (p) => {
    const kind = r.u32At(p + 12);
    return {
      insn: insnIndex(r, p),
      typeId: checkType(r, btf, r.u32At(p + 4), p + 4),
      access: str(r.u32At(p + 8), p + 8),
      kind,
      kindName: CORE_RELO_KINDS[kind] ?? `unknown(${kind})`,
    };
  });
  return { funcInfo, lineInfo, coreRelos };
}

function insnIndex(r: ByteReader, p: number): number {
  const off = r.u32At(p, 'insn_off');
  if (off % 8 !== 0) throw r.error(`insn_off ${off} is not a multiple of 8`, p);
  return off / 8;
}

function checkType(r: ByteReader, btf: Btf, id: number, at: number): number {
  if (id >= btf.types.length) throw r.error(`type id ${id} does not exist in .BTF`, at);
  return id;
}

function readTable<T extends { insn: number }>(
  r: ByteReader,
  start: number,
  len: number,
  minRecord: number,
  what: string,
  str: (off: number, at: number) => string,
  read: (p: number, recSize: number, sec: string) => T,
): Map<string, T[]> {
  const out = new Map<string, T[]>();
  if (len === 0) return out;
  r.need(start, len, what);
  const end = start + len;
  const recSize = r.u32At(start, `${what} record size`);
  // Newer compilers may grow a record; older ones never shrink it below the known layout.
  if (recSize < minRecord || recSize % 4 !== 0 || recSize > 1024) throw r.error(`${what}: bad record size ${recSize}`, start);
  let p = start + 4;
  while (p < end) {
    if (end - p < 8) throw r.error(`${what}: truncated section header`, p);
    const sec = str(r.u32At(p), p);
    const n = r.u32At(p + 4);
    p += 8;
    if (n === 0) throw r.error(`${what}: section '${sec}' has zero records`, p - 4);
    if (n > (end - p) / recSize) throw r.error(`${what}: section '${sec}' claims ${n} records of ${recSize} bytes, but only ${end - p} bytes remain`, p - 4);
    let list = out.get(sec);
    if (!list) out.set(sec, (list = []));
    for (let i = 0; i < n; i++, p += recSize) list.push(read(p, recSize, sec));
  }
  // Consumers binary-search by instruction; compilers emit sorted records, but do not rely on it.
  for (const list of out.values()) {
    for (let k = 1; k < list.length; k++) {
      if (list[k - 1]!.insn > list[k]!.insn) {
        list.sort((a, b) => a.insn - b.insn);
        break;
      }
    }
  }
  return out;
}
