// What loading an object produces: an ObjectSpec (like cilium/ebpf's
// CollectionSpec). Nothing here refers to a kernel or a runtime; map
// references in the linked instruction streams are indexes into `maps`.

import type { Btf } from '../btf/btf.js';
import type { CoreRelo, BtfExt, FuncInfo, LineInfo } from '../btf/parse-ext.js';

/** An lddw in a linked program that refers to a map. */
export interface MapRef {
  /** Instruction index (first slot of the lddw). */
  readonly insn: number;
  /** Index into ObjectSpec.maps; also the lddw's imm. */
  readonly map: number;
  /** 'fd': src=1 (BPF_PSEUDO_MAP_FD), 'value': src=2 (BPF_PSEUDO_MAP_VALUE) + offset. */
  readonly kind: 'fd' | 'value';
  /** Byte offset into the map value (the second slot's imm); 0 for 'fd'. */
  readonly offset: number;
}

/** A CO-RE relocation, with its instruction re-based to the linked program. */
export interface CoreReloSpec extends CoreRelo {
  /** The program whose linked stream `insn` indexes. */
  readonly program: string;
  /** ELF section the relocation came from. */
  readonly section: string;
  /** The local type's description ('struct task_struct'). */
  readonly typeName: string;
  /** The instruction index within `section` (the record's own insn_off / 8). */
  readonly sectionInsn: number;
  /** Set when the relocation was applied against a target BTF (LoadOptions.coreTarget). */
  readonly result?: CoreReloOutcome;
}

/** What applying a CO-RE relocation did to its instruction. */
export interface CoreReloOutcome {
  /** The value patched in (offset, size, immediate...); 0 when poisoned. */
  readonly value: bigint;
  /** Nothing in the target matched: the instruction became `call 0xbad2310`, fatal only if reachable. */
  readonly poisoned: boolean;
  /** The target spec that matched, or why none did. */
  readonly target: string;
}

/** A symbol the object uses but does not define (.kconfig, __ksym, kfuncs). */
export interface ExternSpec {
  readonly name: string;
  /** 'kconfig' (CONFIG_* values), 'ksym' (kernel variable), 'kfunc' (kernel function call), 'unknown'. */
  readonly kind: 'kconfig' | 'ksym' | 'kfunc' | 'unknown';
  /** Programs that reference it, with the linked instruction index. */
  readonly refs: readonly { readonly program: string; readonly insn: number }[];
  /** Set for a kconfig extern given a value (LoadOptions.kconfig): its lddw loads now point into the .kconfig map. */
  readonly resolved?: boolean;
}

export interface ProgramSpec {
  /** The function symbol's name. */
  readonly name: string;
  readonly section: string;
  /** Kernel name of the program type ('xdp', 'kprobe', 'sched_cls'...); 'unspec' if the section name says nothing. */
  readonly type: string;
  /** BPF_PROG_TYPE_* number (-1 if the generated header does not know the type). */
  readonly typeId: number;
  readonly expectedAttachType?: string;
  readonly expectedAttachTypeId?: number;
  readonly attachTo?: string;
  readonly sleepable: boolean;
  /** prog_flags for BPF_PROG_LOAD, as libbpf derives them from the section (sleepable, xdp frags). */
  readonly progFlags: number;
  /** True when the section name only matched by the pre-libbpf-1.0 prefix rule. */
  readonly legacySectionName: boolean;
  /** False for SEC("?...") programs, which libbpf leaves unloaded unless asked. */
  readonly autoload: boolean;
  /** The linked, self-contained instruction stream (little-endian, 8 bytes per slot). */
  readonly insns: Uint8Array;
  readonly mapRefs: readonly MapRef[];
  /**
   * Entry points of the program and of each appended sub-function, in linked
   * instruction indexes, with where each came from (ELF section, first
   * instruction there): static functions of one name may exist in several places.
   */
  readonly functions: readonly { readonly name: string; readonly insn: number; readonly length: number; readonly section: string; readonly sectionInsn: number }[];
  readonly funcInfo: readonly FuncInfo[];
  readonly lineInfo: readonly LineInfo[];
  readonly coreRelos: readonly CoreReloSpec[];
  /** Externs this program references; non-empty means it cannot run as-is. */
  readonly externs: readonly string[];
  readonly license: string;
}

/** One initial slot of a map-in-map or prog array (`.values = { [i] = &x }`). */
export interface MapInitValue {
  readonly index: number;
  /** Name of the inner map (map-in-map). */
  readonly map?: string;
  /** Name of the program (prog array). */
  readonly program?: string;
}

export interface MapSpec {
  readonly name: string;
  /** Kernel name of the map type ('hash', 'array', ...). */
  readonly type: string;
  /** BPF_MAP_TYPE_* number. */
  readonly typeId: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** 0 none, 1 LIBBPF_PIN_BY_NAME. */
  readonly pinning: number;
  readonly numaNode?: number;
  readonly mapExtra?: number;
  readonly innerMap?: MapSpec;
  /** Initial inner maps or programs, by slot. */
  readonly initValues?: readonly MapInitValue[];
  readonly keyTypeId?: number;
  readonly valueTypeId?: number;
  /** Initial contents (global data sections). */
  readonly initial?: Uint8Array;
  /** Read-only after load (.rodata*, .kconfig): BPF_F_RDONLY_PROG and freeze. */
  readonly frozen?: boolean;
  /** ELF section the definition came from ('.maps', 'maps', '.data', ...). */
  readonly section: string;
  /** Where it came from: BTF-defined, legacy struct bpf_map_def, or global data. */
  readonly origin: 'btf' | 'legacy' | 'data';
}

export interface ObjectSpec {
  readonly file: string;
  readonly endianness: 'little' | 'big';
  readonly license: string;
  /** Whether the kernel would let the programs call GPL-only helpers (license_is_gpl_compatible). */
  readonly gplCompatible: boolean;
  /** Kernel version from the 'version' section (legacy kprobe objects), if present. */
  readonly version?: number;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  readonly btf?: Btf;
  readonly btfExt?: BtfExt;
  readonly coreRelos: readonly CoreReloSpec[];
  /**
   * The BTF the CO-RE relocations were applied against (LoadOptions.coreTarget):
   * type ids they patched in (bpf_core_type_id_kernel) are its ids.
   */
  readonly coreTarget?: Btf;
  readonly externs: readonly ExternSpec[];
  /** Static and global functions that are not programs ('.text' sub-programs). */
  readonly subprograms: readonly string[];
  /** Parts of the object that were recognised but not handled, each one sentence. */
  readonly notes: readonly string[];
}
