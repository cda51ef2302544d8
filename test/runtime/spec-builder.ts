// Hand-built ObjectSpecs for runtime tests: programs from LLVM-dialect
// assembly, maps from a few fields, map references by instruction index.
import { assemble } from '../../src/asm/assemble.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';

export interface TestProgram {
  name: string;
  type: string;
  asm: string;
  /** [instruction index of an `rX = 0 ll`, map index] pairs: lddw map references. */
  maps?: [number, number][];
  license?: string;
}

export interface TestMap {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  pinning?: number;
  initValues?: { index: number; program?: string; map?: string }[];
}

export function mapSpec(m: TestMap): MapSpec {
  return {
    name: m.name, type: m.type, typeId: BPF_MAP_TYPE[m.type]!, keySize: m.keySize, valueSize: m.valueSize,
    maxEntries: m.maxEntries, flags: m.flags ?? 0, pinning: m.pinning ?? 0, section: '.maps', origin: 'btf',
    ...(m.initValues ? { initValues: m.initValues } : {}),
  };
}

export function programSpec(p: TestProgram): ProgramSpec {
  const insns = assemble(p.asm, { dialect: 'llvm', file: p.name });
  return {
    name: p.name, section: p.type, type: p.type, typeId: BPF_PROG_TYPE[p.type] ?? -1, sleepable: false, progFlags: 0,
    legacySectionName: false, insns, mapRefs: (p.maps ?? []).map(([insn, map]) => ({ insn, map, kind: 'fd' as const, offset: 0 })),
    functions: [{ name: p.name, insn: 0, length: insns.length / 8, section: p.type, sectionInsn: 0 }], funcInfo: [], lineInfo: [], coreRelos: [], externs: [],
    license: p.license ?? 'GPL', autoload: true,
  };
}

export function objectSpec(programs: TestProgram[], maps: TestMap[] = [], file = 'test.o'): ObjectSpec {
  return {
    file, endianness: 'little', license: programs[0]?.license ?? 'GPL', gplCompatible: (programs[0]?.license ?? 'GPL') === 'GPL',
    programs: programs.map(programSpec), maps: maps.map(mapSpec), coreRelos: [], externs: [], subprograms: [], notes: [],
  };
}

/** A 16-byte Ethernet frame (not IP) whose first byte is `b`. */
export function frame(b = 0, len = 16): Uint8Array {
  const f = new Uint8Array(len);
  f[0] = b;
  f[12] = 0x88; // an EtherType nothing parses
  f[13] = 0xb5;
  return f;
}

/**
 * Assembly of a counter bump: the u32 key the text `key` leaves in r2 is
 * looked up in the map loaded at the first `ll` (relocation [n, 0]), and
 * `delta` is added to its u64 value atomically; r0 = 0.
 */
export function counterAsm(key: string, delta = 1): string {
  return `${key}
    *(u32 *)(r10 - 4) = r2
    r1 = 0 ll
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto out
    r1 = ${delta}
    lock *(u64 *)(r0 + 0) += r1
  out:
    r0 = 0
    exit`;
}
