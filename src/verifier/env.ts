import type { HelperProto } from '../helpers/protos.js';
// What the verifier's modules share while checking one program: the
// program, its maps and type, the log, the current state and instruction.
// A rejection is thrown as a Reject (internal, never escapes verify()).

import type { Program } from '../isa/decode.js';
import type { VerifierLog } from './log.js';
import type { VerifierState } from './state.js';
import type { CtxLayout } from '../progtypes/ctx.js';
import type { Checkpoint } from './prune.js';
import type { FuncSig } from './btf-funcs.js';
import type { Btf } from '../btf/btf.js';
import type { TracingCtx } from './tracing-ctx.js';
import type { ArenaInfo } from './arena.js';

/** A map the program refers to (lddw map_fd/map_value imm = index into this list). */
export interface MapInfo {
  /** BPF_MAP_TYPE_* number. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
  readonly name?: string;
  /** Read-only map (BPF_F_RDONLY_PROG, .rodata): stores through its values are refused. */
  readonly readonly?: boolean;
  /**
   * The value bytes of a frozen map (.rodata as the loader filled it). When
   * the map is also BPF_F_RDONLY_PROG, loads at constant offsets read
   * constants, as the kernel's bpf_map_direct_read does; without them such
   * loads are unknown scalars.
   */
  readonly values?: Uint8Array;
  /** Map-in-map (array_of_maps, hash_of_maps): the shape of the inner maps. */
  readonly inner?: MapInfo;
  /** The map was created with BTF for its value (btf_value_type_id): bpf_spin_lock needs it. */
  readonly valueBtf?: boolean;
  /** Byte offset of the value's struct bpf_spin_lock, from its BTF (critical.ts), when it has one. */
  readonly spinLockOff?: number;
  /** Byte offset of the value's struct bpf_timer, from its BTF, when it has one (tracing programs cannot use such maps). */
  readonly timerOff?: number;
  /** Byte offset of the value's struct bpf_res_spin_lock (no program may touch it; its kfuncs are not supported yet). */
  readonly resSpinLockOff?: number;
}

/** Source position of an instruction, from BTF line info. */
export interface LineInfo {
  readonly insn: number;
  readonly file: string;
  readonly line: number;
  readonly column?: number;
  readonly text: string;
}

export interface VerifyOptions {
  /** BPF_PROG_TYPE_* number. */
  readonly progType: number;
  readonly maps?: readonly MapInfo[];
  /** License string; GPL-only helpers need a GPL-compatible one. Default "GPL". */
  readonly license?: string;
  /** 0 none, 1 errors and the failing path, 2 every state. Default 1. */
  readonly logLevel?: number;
  readonly lineInfo?: readonly LineInfo[];
  /** BPF_ATTACH_TYPE_* number (some program types depend on it). */
  readonly expectedAttachType?: number;
  /**
   * Function signatures from BTF (btf-funcs.ts). Global functions among them
   * are verified on their own against their prototypes, as the kernel does.
   */
  readonly funcs?: readonly FuncSig[];
  /** The program carries BTF func_info (some rules, such as tail calls in subprograms, need it). */
  readonly btf?: boolean;
  /**
   * The context is the program's own struct of this many bytes, laid out
   * from offset 0 and read-only (programs attached in Node, src/attach),
   * instead of the program type's kernel layout.
   */
  readonly ctxSize?: number;
  /**
   * The context of a BTF tracing program (tp_btf, fentry, fexit, fmod_ret):
   * its target's arguments from the kernel's BTF (tracing-ctx.ts
   * tracingCtxOf). Without it a tracing program's context cannot be read.
   */
  readonly tracingCtx?: TracingCtx;
  /** Possible CPUs of the target (bpf_get_smp_processor_id returns less than this); unknown by default. */
  readonly possibleCpus?: number;
  /** BPF_F_SLEEPABLE: the program may sleep (syscall programs must). */
  readonly sleepable?: boolean;
  /** BPF_F_STRICT_ALIGNMENT: check alignment of packet, ctx and map value accesses too (the stack always is). */
  readonly strictAlignment?: boolean;
  /** Processed-instruction budget (default 1,000,000, the kernel's). */
  readonly insnLimit?: number;
  /**
   * Privileged semantics, as the kernel applies them to root: reads of
   * uninitialised stack give unknown scalars, pointer comparisons and
   * pointer leaks into maps are allowed. Default true (the kernel oracle runs as root).
   */
  readonly privileged?: boolean;
  /**
   * Prototypes of helpers an embedder registered (HelperDef.proto), by id.
   * They take precedence over the kernel's table and are allowed for every
   * program type.
   */
  readonly extraHelpers?: ReadonlyMap<number, HelperProto>;
  /**
   * Kfunc calls (call with src_reg 2) by instruction index: the name of the
   * extern function each calls and its prototype in the program's BTF
   * (kfuncs-object.ts builds this from an ObjectSpec). A kfunc call not
   * listed here is refused.
   */
  readonly kfuncs?: ReadonlyMap<number, KfuncExtern>;
  /** The kernel's BTF (kfuncs-vmlinux.ts): layouts of kernel structs read through kfunc and helper results. */
  readonly kernelBtf?: Btf;
  /**
   * The BTF the program's CO-RE relocations were applied against
   * (ObjectSpec.coreTarget): the type ids the program hands the kernel
   * (bpf_rdonly_cast's) are its ids, as the kernel reads them in its own
   * BTF. Unset: the program was not relocated, and such an id is still one
   * of the program's BTF.
   */
  readonly coreTarget?: Btf;
}

/** The extern a kfunc call names: its name and, when the object has BTF, its FUNC type there. */
export interface KfuncExtern {
  readonly name: string;
  readonly btf?: Btf;
  /** BTF id of the extern FUNC in `btf`. */
  readonly funcId?: number;
}

export class Reject extends Error {
  /** Log lines the kernel prints after the error line (the two states of an infinite loop). */
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super(message);
    this.name = 'Reject';
    this.details = details;
  }
}

export interface Env {
  readonly prog: Program;
  readonly opts: VerifyOptions;
  readonly maps: readonly MapInfo[];
  readonly log: VerifierLog;
  readonly ctx: CtxLayout;
  readonly privileged: boolean;
  readonly gpl: boolean;
  state: VerifierState;
  insnIdx: number;
  /** Next id for pointers and scalars that must be tracked together. */
  nextId: number;
  /** The current path's instructions since its last checkpoint (precision.ts encoding). */
  hist: number[];
  /** The last checkpoint on the current path. */
  cp: Checkpoint | null;
  /** Stack tag of the instruction being checked (precision.ts). */
  stackTag: number;
  /** The source line the log printed last. */
  shownLine: LineInfo | undefined;
  /** The program's arena map and the marks left for the engines (arena.ts); undefined without one. */
  arena: ArenaInfo | undefined;
  /** One past the furthest context byte an accepted access touched (the kernel's aux->max_ctx_offset). */
  maxCtxOffset: number;
}

export function reject(message: string): never {
  throw new Reject(message);
}
