// Turn functions in executable sections into self-contained programs, as
// libbpf does before handing them to the kernel: the entry function first,
// then every sub-function it reaches (bpf-to-bpf calls and callback
// addresses), appended once each, with call offsets re-computed and lddw
// map/global-data references rewritten to src=1/src=2 with imm = map index.

import { arenaBytes } from '../maps/arena-layout.js';
import { ElfError } from '../internal/errors.js';
import { Class, JmpOp, Mode, PseudoCall, PseudoLd, Size, INSN_SIZE } from '../isa/fields.js';
import { R_BPF, SHN_UNDEF, STB, STT, symbolName, type ElfFile, type ElfReloc, type ElfSection, type ElfSymbol } from './elf-file.js';
import type { SectionMaps } from './maps.js';
import type { MapRef, MapSpec } from './spec.js';

const OPC_LDDW = Class.LD | Mode.IMM | Size.DW;
const OPC_CALL = Class.JMP | JmpOp.CALL;

/** The kernel's limit on a program's instructions (BPF_COMPLEXITY_LIMIT_INSNS); a linked program may not exceed it. */
export const MAX_PROGRAM_INSNS = 1_000_000;

/** A function in an executable section: [start, start+length) in instruction slots. */
export interface ElfFunction {
  readonly name: string;
  readonly section: ElfSection;
  readonly start: number;
  readonly length: number;
  readonly global: boolean;
}

/** One placed copy of a function in a linked program. */
export interface Placement {
  readonly fn: ElfFunction;
  /** First linked instruction index of the copy. */
  readonly at: number;
}

export interface ExternRef {
  readonly symbol: ElfSymbol;
  readonly insn: number;
  readonly call: boolean;
}

export interface LinkedProgram {
  readonly insns: Uint8Array;
  readonly placements: readonly Placement[];
  readonly mapRefs: MapRef[];
  readonly externRefs: ExternRef[];
}

/** Per executable section: little-endian instruction bytes and relocations by byte offset. */
export interface CodeSection {
  readonly section: ElfSection;
  readonly bytes: Uint8Array;
  readonly relocs: ReadonlyMap<number, ElfReloc>;
  /** Functions sorted by start. */
  readonly functions: ElfFunction[];
}

/**
 * Little-endian instruction bytes for a section. Big-endian objects store the
 * register nibbles swapped and off/imm big-endian; we normalise to the
 * little-endian layout the rest of tsbpf uses.
 */
export function codeBytes(section: ElfSection, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(section.data);
  if (littleEndian) return out;
  for (let p = 0; p + INSN_SIZE <= out.length; p += INSN_SIZE) {
    const regs = out[p + 1]!;
    out[p + 1] = ((regs & 0x0f) << 4) | (regs >> 4);
    let t = out[p + 2]!;
    out[p + 2] = out[p + 3]!;
    out[p + 3] = t;
    t = out[p + 4]!;
    out[p + 4] = out[p + 7]!;
    out[p + 7] = t;
    t = out[p + 5]!;
    out[p + 5] = out[p + 6]!;
    out[p + 6] = t;
  }
  return out;
}

export function codeSection(elf: ElfFile, section: ElfSection): CodeSection {
  if (section.size % INSN_SIZE !== 0) throw new ElfError(`size ${section.size} is not a multiple of ${INSN_SIZE}`, elf.file, section.name);
  const relocs = new Map<number, ElfReloc>();
  for (const r of elf.relocations.get(section.index) ?? []) {
    if (r.offset % INSN_SIZE !== 0) throw new ElfError(`relocation at byte ${r.offset} is not on an instruction boundary`, elf.file, section.name, section.offset + r.offset);
    if (relocs.has(r.offset)) throw new ElfError(`two relocations for instruction ${r.offset / INSN_SIZE}`, elf.file, section.name, section.offset + r.offset);
    relocs.set(r.offset, r);
  }
  const slots = section.size / INSN_SIZE;
  // Functions are STT_FUNC symbols. Compilers before clang 9 or so emitted
  // STT_NOTYPE instead; accept those when global, or when they sit at the
  // start of the section (local jump labels like LBB0_2 never do).
  const syms = (elf.symbolsBySection.get(section.index) ?? [])
    .filter(
      (s) =>
        (s.type === STT.FUNC || (s.type === STT.NOTYPE && s.name !== '' && (s.bind !== STB.LOCAL || s.value === 0))),
    )
    .sort((a, b) => a.value - b.value);
  const functions: ElfFunction[] = [];
  for (let k = 0; k < syms.length; k++) {
    const s = syms[k]!;
    if (s.value % INSN_SIZE !== 0 || s.value >= section.size) throw new ElfError(`function ${s.name} at byte ${s.value} is not an instruction in the section`, elf.file, section.name);
    const start = s.value / INSN_SIZE;
    if (k > 0 && syms[k - 1]!.value === s.value) throw new ElfError(`functions ${syms[k - 1]!.name} and ${s.name} start at the same instruction`, elf.file, section.name);
    const next = k + 1 < syms.length ? syms[k + 1]!.value / INSN_SIZE : slots;
    // st_size is 0 for hand-written assembly; then the function runs to the next symbol.
    const length = s.size > 0 ? s.size / INSN_SIZE : next - start;
    if (!Number.isInteger(length) || length <= 0 || start + length > next) {
      throw new ElfError(`function ${s.name}: size ${s.size} overlaps the next function or the section end`, elf.file, section.name);
    }
    functions.push({ name: s.name, section, start, length, global: s.bind !== 0 });
  }
  return { section, bytes: codeBytes(section, elf.littleEndian), relocs, functions };
}

function findFunction(code: CodeSection, start: number): ElfFunction | undefined {
  const f = code.functions;
  let lo = 0;
  let hi = f.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = f[mid]!.start;
    if (s === start) return f[mid];
    if (s < start) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

export interface LinkContext {
  readonly elf: ElfFile;
  readonly code: ReadonlyMap<number, CodeSection>;
  readonly maps: readonly MapSpec[];
  readonly mapSections: ReadonlyMap<number, SectionMaps>;
  /** Names of functions in the BTF .ksyms DATASEC: calls to them are kfunc calls. */
  readonly ksymFuncs: ReadonlySet<string>;
  /** The `.addr_space.1` section of `__arena` globals and where they sit in the arena map (load.ts arenaGlobals). */
  readonly arena?: ArenaGlobals;
}

/** libbpf's section of `__arena` globals (ARENA_SEC). */
export const ARENA_SECTION = '.addr_space.1';

/** `__arena` globals: their section, the arena map's index, and their offset in the arena. */
export interface ArenaGlobals {
  readonly shndx: number;
  readonly map: number;
  readonly base: number;
}

/** A function being linked: where its copy sits and the next instruction to relocate (-1: not copied yet). */
interface Frame {
  readonly fn: ElfFunction;
  readonly at: number;
  i: number;
}

/**
 * Link the program whose entry is `entry`. Sub-functions are appended in
 * libbpf's order (bpf_object__reloc_code): depth-first, each one placed when
 * its first call (or address load) is met and relocated before the caller
 * continues, so program tags match the kernel's. An explicit stack stands in
 * for libbpf's recursion, so long call chains cannot overflow the JS stack.
 */
export function linkProgram(ctx: LinkContext, entry: ElfFunction): LinkedProgram {
  const { elf } = ctx;
  const placements: Placement[] = [];
  const placed = new Map<ElfFunction, number>();
  const frames: Frame[] = [];
  let total = 0;
  const mapRefs: MapRef[] = [];
  const externRefs: ExternRef[] = [];
  let out = new Uint8Array(Math.max(64, entry.length * INSN_SIZE * 2));
  let dv = new DataView(out.buffer);

  const place = (fn: ElfFunction): number => {
    let at = placed.get(fn);
    if (at !== undefined) return at;
    at = total;
    total += fn.length;
    if (total > MAX_PROGRAM_INSNS) throw new ElfError(`${entry.name}: linked program exceeds ${MAX_PROGRAM_INSNS} instructions`, elf.file, entry.section.name);
    placed.set(fn, at);
    placements.push({ fn, at });
    // The bytes are copied when the frame starts, so callers holding `out`/`dv` never see them reallocated mid-instruction.
    frames.push({ fn, at, i: -1 });
    return at;
  };

  /** Copy a function's bytes into its place, growing the buffer if needed. */
  const copyIn = (frame: Frame): void => {
    const need = (frame.at + frame.fn.length) * INSN_SIZE;
    if (out.length < need) {
      const grown = new Uint8Array(Math.max(need, out.length * 2));
      grown.set(out);
      out = grown;
      dv = new DataView(out.buffer);
    }
    const code = ctx.code.get(frame.fn.section.index)!;
    out.set(code.bytes.subarray(frame.fn.start * INSN_SIZE, (frame.fn.start + frame.fn.length) * INSN_SIZE), frame.at * INSN_SIZE);
    frame.i = frame.fn.start;
  };

  /** Relocate instruction `i` of the frame's function; returns the next instruction. */
  const linkInsn = (frame: Frame, i: number): number => {
    const { fn, at } = frame;
    const code = ctx.code.get(fn.section.index)!;
    const where = (reason: string): ElfError =>
      new ElfError(`${fn.name}: instruction ${i - fn.start}: ${reason}`, elf.file, fn.section.name, fn.section.offset + i * INSN_SIZE);
    const li = at + (i - fn.start);
    const p = li * INSN_SIZE;
    const opcode = out[p]!;
    const src = out[p + 1]! >> 4;
    const imm = dv.getInt32(p + 4, true);
    const reloc = code.relocs.get(i * INSN_SIZE);

    if (opcode === OPC_CALL && src === PseudoCall.LOCAL) {
      let targetSec = code;
      let target = i + imm + 1;
      if (reloc) {
        if (reloc.type !== R_BPF.R64_32) throw where(`call has relocation type ${reloc.type}, expected R_BPF_64_32`);
        const sym = elf.symbols[reloc.symbol]!;
        const sec = ctx.code.get(sym.shndx);
        if (sym.shndx === SHN_UNDEF) {
          // A function declared __ksym (listed in the .ksyms DATASEC) is a kfunc, as libbpf treats it.
          if (ctx.ksymFuncs.has(sym.name)) {
            out[p + 1] = (out[p + 1]! & 0x0f) | (PseudoCall.KFUNC << 4);
            dv.setInt32(p + 4, 0, true);
            externRefs.push({ symbol: sym, insn: li, call: true });
            return i + 1;
          }
          throw where(`call to ${symbolName(elf, sym)}, a function this object declares but does not define (link the objects first, e.g. with bpftool gen object)`);
        }
        if (!sec) throw where(`call to ${symbolName(elf, sym)}, which is not in an executable section`);
        targetSec = sec;
        target = sym.value / INSN_SIZE + imm + 1;
      }
      const callee = findFunction(targetSec, target);
      if (!callee) throw where(`call target ${target} in ${targetSec.section.name} is not the start of a function`);
      const calleeAt = place(callee);
      dv.setInt32(p + 4, calleeAt - (li + 1), true);
      return i + 1;
    }
    if (opcode === OPC_CALL && reloc) {
      const sym = elf.symbols[reloc.symbol]!;
      if (sym.shndx !== SHN_UNDEF) throw where(`helper call has a relocation against ${symbolName(elf, sym)}`);
      // A call to an undefined function is a kfunc: the loader fills in its BTF id.
      out[p + 1] = (out[p + 1]! & 0x0f) | (PseudoCall.KFUNC << 4);
      dv.setInt32(p + 4, 0, true);
      externRefs.push({ symbol: sym, insn: li, call: true });
      return i + 1;
    }
    if (opcode === OPC_LDDW) {
      if (i + 1 >= fn.start + fn.length) throw where('lddw is cut off by the end of the function');
      // A RELA entry carries the addend itself; a REL entry leaves it in the instruction.
      if (reloc) resolveLddw(ctx, out, dv, p, li, reloc.addend ?? imm, reloc, mapRefs, externRefs, place, where);
      return i + 2; // the second slot is data
    }
    if (reloc && reloc.type !== R_BPF.NONE) {
      throw where(`relocation type ${reloc.type} against ${symbolName(elf, elf.symbols[reloc.symbol]!)} on an instruction that is neither lddw nor call`);
    }
    return i + 1;
  };

  place(entry);
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    if (frame.i < 0) copyIn(frame);
    const depth = frames.length;
    const end = frame.fn.start + frame.fn.length;
    // Stop as soon as a newly placed callee is pushed: it is relocated first (depth-first).
    while (frame.i < end && frames.length === depth) frame.i = linkInsn(frame, frame.i);
    if (frames.length === depth) frames.pop();
  }
  return { insns: out.slice(0, total * INSN_SIZE), placements, mapRefs, externRefs };
}

function resolveLddw(
  ctx: LinkContext,
  out: Uint8Array,
  dv: DataView,
  p: number,
  li: number,
  imm: number,
  reloc: ElfReloc,
  mapRefs: MapRef[],
  externRefs: ExternRef[],
  place: (fn: ElfFunction) => number,
  fail: (reason: string) => ElfError,
): void {
  const { elf } = ctx;
  if (reloc.type !== R_BPF.R64_64) throw fail(`lddw has relocation type ${reloc.type}, expected R_BPF_64_64`);
  const sym = elf.symbols[reloc.symbol]!;
  const setSrc = (src: number): void => {
    out[p + 1] = (out[p + 1]! & 0x0f) | (src << 4);
  };
  if (sym.shndx === SHN_UNDEF) {
    externRefs.push({ symbol: sym, insn: li, call: false });
    return;
  }
  const maps = ctx.mapSections.get(sym.shndx);
  if (maps?.kind === 'defs') {
    const key = sym.type === STT.SECTION ? imm : sym.value;
    const map = maps.byOffset.get(key);
    if (map === undefined) throw fail(`no map is defined at offset ${key} of ${elf.sections[sym.shndx]!.name} (symbol ${symbolName(elf, sym)})`);
    setSrc(PseudoLd.MAP_FD);
    dv.setInt32(p + 4, map, true);
    dv.setInt32(p + 12, 0, true);
    mapRefs.push({ insn: li, map, kind: 'fd', offset: 0 });
    return;
  }
  if (maps?.kind === 'data') {
    // libbpf: the offset into the value is the instruction's addend plus the symbol's value.
    const offset = imm + sym.value;
    const size = ctx.maps[maps.map]!.valueSize;
    if (offset < 0 || offset > size) throw fail(`offset ${offset} into ${elf.sections[sym.shndx]!.name} is outside its ${size} bytes`);
    setSrc(PseudoLd.MAP_VALUE);
    dv.setInt32(p + 4, maps.map, true);
    dv.setInt32(p + 12, offset, true);
    mapRefs.push({ insn: li, map: maps.map, kind: 'value', offset });
    return;
  }
  const code = ctx.code.get(sym.shndx);
  if (code) {
    // Address of a function (callback for bpf_loop, bpf_for_each_map_elem...).
    const byte = sym.value + imm;
    if (byte % INSN_SIZE !== 0) throw fail(`function address ${byte} in ${code.section.name} is not on an instruction`);
    const fn = findFunction(code, byte / INSN_SIZE);
    if (!fn) throw fail(`function address ${byte} in ${code.section.name} is not the start of a function`);
    const at = place(fn);
    setSrc(PseudoLd.FUNC);
    dv.setInt32(p + 4, at - (li + 1), true);
    dv.setInt32(p + 12, 0, true);
    return;
  }
  const arena = ctx.arena;
  if (arena !== undefined && sym.shndx === arena.shndx) {
    // libbpf's RELO_DATA against the arena: the arena map's "value" at the globals' offset
    const offset = arena.base + imm + sym.value;
    const size = arenaBytes(ctx.maps[arena.map]!.maxEntries);
    if (offset < 0 || offset > size) throw fail(`offset ${offset} into the arena of ${size} bytes (${symbolName(elf, sym)} in ${ARENA_SECTION}) is outside it`);
    setSrc(PseudoLd.MAP_VALUE);
    dv.setInt32(p + 4, arena.map, true);
    dv.setInt32(p + 12, offset, true);
    mapRefs.push({ insn: li, map: arena.map, kind: 'value', offset });
    return;
  }
  const sec = sym.shndx < elf.sections.length ? elf.sections[sym.shndx]!.name : `section ${sym.shndx}`;
  throw fail(`lddw refers to ${symbolName(elf, sym)} in ${sec}, which is not a map, global data or code section`);
}
