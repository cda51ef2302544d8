// ELF64 relocatable objects, read for the job of loading BPF: the header,
// the section table, the symbol table and REL/RELA relocation sections.
// Both byte orders parse (bpfel and bpfeb). Every offset and count is checked
// against the file before use, section contents may not overlap, and no
// allocation is sized by an unchecked count.

import { ByteReader } from '../internal/byte-reader.js';
import { ElfError } from '../internal/errors.js';

export const EM_BPF = 247;
export const ET_REL = 1;

export const SHT = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, RELA: 4, NOBITS: 8, REL: 9 } as const;
export const SHF = { WRITE: 1, ALLOC: 2, EXECINSTR: 4 } as const;
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
export const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_XINDEX = 0xffff;

/** BPF relocation types (LLVM's ELFRelocs/BPF.def). */
export const R_BPF = { NONE: 0, R64_64: 1, ABS64: 2, ABS32: 3, NODYLD32: 4, R64_32: 10 } as const;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The contents; empty for NOBITS (.bss), whose `size` still counts. */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  readonly index: number;
  readonly name: string;
  readonly bind: number;
  readonly type: number;
  readonly visibility: number;
  /** Section index, SHN_UNDEF (0) for externs, >= 0xff00 for special sections. */
  readonly shndx: number;
  readonly value: number;
  readonly size: number;
}

export interface ElfReloc {
  /** Byte offset inside the target section. */
  readonly offset: number;
  readonly symbol: number;
  readonly type: number;
  /** The explicit addend of a RELA entry; undefined for REL (BPF's usual form: the addend is in the instruction). */
  readonly addend?: number;
}

export interface ElfFile {
  readonly file: string;
  readonly littleEndian: boolean;
  readonly sections: readonly ElfSection[];
  readonly symbols: readonly ElfSymbol[];
  /** Relocations by the index of the section they apply to. */
  readonly relocations: ReadonlyMap<number, readonly ElfReloc[]>;
  /** Symbols grouped by st_shndx, so per-section lookups stay linear overall. */
  readonly symbolsBySection: ReadonlyMap<number, readonly ElfSymbol[]>;
}

export interface ElfLimits {
  /** Largest section count accepted. */
  maxSections: number;
  /** Largest symbol count accepted. */
  maxSymbols: number;
}

const DEFAULT_LIMITS: ElfLimits = { maxSections: 65535, maxSymbols: 1 << 20 };

export function parseElf(bytes: Uint8Array, file = '<object>', limits: ElfLimits = DEFAULT_LIMITS): ElfFile {
  const fail = (reason: string, section?: string, offset?: number): ElfError => new ElfError(reason, file, section, offset);
  if (bytes.length < 64) throw fail(`file is ${bytes.length} bytes, too short for an ELF64 header`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw fail('not an ELF file (bad magic)', undefined, 0);
  if (bytes[4] !== 2) throw fail(`ELF class ${bytes[4]} is not ELFCLASS64`, undefined, 4);
  if (bytes[5] !== 1 && bytes[5] !== 2) throw fail(`ELF data encoding ${bytes[5]} is neither little- nor big-endian`, undefined, 5);
  const le = bytes[5] === 1;
  const r = new ByteReader(bytes, le, (reason, offset) => fail(reason, undefined, offset));
  const type = r.u16At(16);
  const machine = r.u16At(18);
  if (machine !== EM_BPF) throw fail(`e_machine ${machine} is not EM_BPF (247): not a BPF object`, undefined, 18);
  if (type !== ET_REL) throw fail(`e_type ${type} is not ET_REL: only relocatable objects (.o) are loaded`, undefined, 16);
  const shoff = r.u64At(40, 'e_shoff');
  const shentsize = r.u16At(58);
  let shnum = r.u16At(60);
  let shstrndx = r.u16At(62);
  if (shoff === 0) throw fail('object has no section header table', undefined, 40);
  if (shentsize !== 64) throw fail(`e_shentsize ${shentsize} is not 64`, undefined, 58);
  r.need(shoff, 64, 'section header 0');
  // Extended numbering: counts that do not fit 16 bits live in section 0.
  if (shnum === 0) shnum = r.u64At(shoff + 32, 'extended e_shnum');
  if (shstrndx === SHN_XINDEX) shstrndx = r.u32At(shoff + 40, 'extended e_shstrndx');
  if (shnum > limits.maxSections) throw fail(`${shnum} sections exceed the limit of ${limits.maxSections}`, undefined, 60);
  r.need(shoff, shnum * 64, `section header table (${shnum} entries)`);
  if (shstrndx >= shnum) throw fail(`e_shstrndx ${shstrndx} is not a section (${shnum} sections)`, undefined, 62);

  interface RawSection { nameOff: number; type: number; flags: number; offset: number; size: number; link: number; info: number; addralign: number; entsize: number }
  const raw: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * 64;
    raw.push({
      nameOff: r.u32At(h),
      type: r.u32At(h + 4),
      flags: r.u64PairAt(h + 8)[0],
      offset: r.u64At(h + 24, `section ${i} sh_offset`),
      size: r.u64At(h + 32, `section ${i} sh_size`),
      link: r.u32At(h + 40),
      info: r.u32At(h + 44),
      addralign: r.u64At(h + 48, `section ${i} sh_addralign`),
      entsize: r.u64At(h + 56, `section ${i} sh_entsize`),
    });
  }
  const hasData = (s: RawSection): boolean => s.type !== SHT.NOBITS && s.type !== SHT.NULL && s.size > 0;
  for (let i = 0; i < shnum; i++) {
    const s = raw[i]!;
    if (hasData(s) && s.offset + s.size > bytes.length) {
      throw fail(`section ${i} contents [${s.offset}, ${s.offset + s.size}) run past the end of the file (${bytes.length} bytes)`, undefined, shoff + i * 64);
    }
  }
  checkOverlaps(raw.map((s, i) => ({ i, start: s.offset, end: s.offset + s.size, data: hasData(s) })), shoff, shnum * 64, fail);

  const shstr = raw[shstrndx]!;
  if (shstr.type !== SHT.STRTAB) throw fail(`e_shstrndx ${shstrndx} is not a string table`, undefined, 62);
  const shstrReader = new ByteReader(bytes.subarray(shstr.offset, shstr.offset + shstr.size), le, (reason, offset) => fail(reason, '.shstrtab', offset), shstr.offset);
  const sections: ElfSection[] = raw.map((s, i) => ({
    index: i,
    name: i === 0 ? '' : shstrReader.cstringAt(s.nameOff, `name of section ${i}`),
    type: s.type,
    flags: s.flags,
    offset: s.offset,
    size: s.size,
    link: s.link,
    info: s.info,
    addralign: s.addralign,
    entsize: s.entsize,
    data: hasData(s) ? bytes.subarray(s.offset, s.offset + s.size) : new Uint8Array(0),
  }));

  const symtabs = sections.filter((s) => s.type === SHT.SYMTAB);
  if (symtabs.length > 1) throw fail('more than one symbol table', symtabs[1]!.name);
  const symbols = symtabs.length === 1 ? readSymbols(symtabs[0]!, sections, le, file, limits) : [];

  const relocations = new Map<number, ElfReloc[]>();
  for (const s of sections) {
    if (s.type !== SHT.REL && s.type !== SHT.RELA) continue;
    const rela = s.type === SHT.RELA;
    const entsize = rela ? 24 : 16;
    const rr = new ByteReader(s.data, le, (reason, offset) => fail(reason, s.name, offset), s.offset);
    if (s.size % entsize !== 0) throw rr.error(`size ${s.size} is not a multiple of the ${entsize}-byte entry`, 0);
    if (s.info === 0 || s.info >= sections.length) throw fail(`sh_info ${s.info} does not name a section`, s.name);
    if (symtabs.length === 0 || s.link !== symtabs[0]!.index) throw fail(`sh_link ${s.link} is not the symbol table`, s.name);
    const target = sections[s.info]!;
    const list: ElfReloc[] = relocations.get(target.index) ?? [];
    for (let p = 0; p < s.size; p += entsize) {
      const offset = rr.u64At(p, 'r_offset');
      const [typ, sym] = rr.u64PairAt(p + 8, 'r_info');
      const addend = rela ? rr.u64PairAt(p + 16)[0] | 0 : undefined;
      if (sym >= symbols.length) throw rr.error(`relocation refers to symbol ${sym}, but there are ${symbols.length}`, p + 8);
      if (target.type !== SHT.NOBITS && offset >= target.size) throw rr.error(`relocation offset ${offset} is outside ${target.name} (${target.size} bytes)`, p);
      list.push(addend === undefined ? { offset, symbol: sym, type: typ } : { offset, symbol: sym, type: typ, addend });
    }
    relocations.set(target.index, list);
  }
  const symbolsBySection = new Map<number, ElfSymbol[]>();
  for (const y of symbols) {
    const list = symbolsBySection.get(y.shndx);
    if (list) list.push(y);
    else symbolsBySection.set(y.shndx, [y]);
  }
  return { file, littleEndian: le, sections, symbols, relocations, symbolsBySection };
}

function checkOverlaps(
  spans: { i: number; start: number; end: number; data: boolean }[],
  shoff: number,
  shsize: number,
  fail: (reason: string, section?: string, offset?: number) => ElfError,
): void {
  const withData = spans.filter((s) => s.data);
  withData.push({ i: -1, start: shoff, end: shoff + shsize, data: true });
  withData.push({ i: -2, start: 0, end: 64, data: true });
  withData.sort((a, b) => a.start - b.start);
  for (let k = 1; k < withData.length; k++) {
    const a = withData[k - 1]!;
    const b = withData[k]!;
    if (b.start < a.end) {
      const name = (x: { i: number }): string => (x.i === -1 ? 'the section header table' : x.i === -2 ? 'the ELF header' : `section ${x.i}`);
      throw fail(`${name(a)} [${a.start}, ${a.end}) overlaps ${name(b)} [${b.start}, ${b.end})`, undefined, b.start);
    }
  }
}

function readSymbols(symtab: ElfSection, sections: readonly ElfSection[], le: boolean, file: string, limits: ElfLimits): ElfSymbol[] {
  const fail = (reason: string, offset?: number): ElfError => new ElfError(reason, file, symtab.name, offset);
  if (symtab.size % 24 !== 0) throw fail(`size ${symtab.size} is not a multiple of 24`);
  const count = symtab.size / 24;
  if (count > limits.maxSymbols) throw fail(`${count} symbols exceed the limit of ${limits.maxSymbols}`);
  const strtab = sections[symtab.link];
  if (!strtab || strtab.type !== SHT.STRTAB) throw fail(`sh_link ${symtab.link} is not a string table`);
  const r = new ByteReader(symtab.data, le, (reason, offset) => fail(reason, offset), symtab.offset);
  const sr = new ByteReader(strtab.data, le, (reason, offset) => new ElfError(reason, file, strtab.name, offset), strtab.offset);
  const out: ElfSymbol[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const p = i * 24;
    const nameOff = r.u32At(p);
    const info = r.u8At(p + 4);
    const shndx = r.u16At(p + 6);
    if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= sections.length) {
      throw fail(`symbol ${i} is in section ${shndx}, which does not exist`, symtab.offset + p + 6);
    }
    out[i] = {
      index: i,
      name: nameOff === 0 ? '' : sr.cstringAt(nameOff, `name of symbol ${i}`),
      bind: info >> 4,
      type: info & 0xf,
      visibility: r.u8At(p + 5) & 3,
      shndx,
      value: r.u64At(p + 8, `symbol ${i} value`),
      size: r.u64At(p + 16, `symbol ${i} size`),
    };
  }
  return out;
}

/** The name a symbol is known by: its own, or its section's for STT_SECTION symbols. */
export function symbolName(elf: ElfFile, sym: ElfSymbol): string {
  if (sym.name !== '') return sym.name;
  if (sym.type === STT.SECTION && sym.shndx < elf.sections.length) return elf.sections[sym.shndx]!.name;
  return `symbol#${sym.index}`;
}
