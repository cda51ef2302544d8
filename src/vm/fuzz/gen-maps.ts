// Map helper calls for fuzz programs: map_lookup_elem / map_update_elem /
// map_delete_elem on maps that exist when the program runs, with the map
// pointer loaded as the runtime leaves it after relocation (a plain lddw of
// the descriptor address), keys and values written to the stack (sometimes
// unaligned, in the input region, or through bad pointers), update flags
// good and bad, and the looked-up value used through r0: loads, stores and
// atomics, usually after a null check, sometimes without one.
//
// The JIT inlines these calls when r1 is a constant map pointer; the
// interpreter always calls the helpers. Variants that make r1 non-constant
// (a branch merge, arithmetic) send the JIT to the helper too, so both
// paths get compared against the interpreter.
//
// Register use follows gen.ts: r1..r5 and r0 are scratch (clobbered after
// the call), r8 may receive a result, r6/r7/r9/r10 are never written.

import { BPF_FUNC } from '../../internal/uapi.gen.js';
import { INSNS, Op, Shape, type InsnDef } from '../../isa/table.js';
import { AtomicOp } from '../../isa/fields.js';
import type { Asm } from './gen.js';
import type { Prng } from './prng.js';

/** What the generator knows of a map: its descriptor address, shape and likely keys. */
export interface FuzzMap {
  /** Descriptor address: the value of `lddw r1, map` after relocation. */
  readonly desc: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Keys worth trying: present initially or inserted by other calls. */
  readonly keys: readonly Uint8Array[];
}

/** The parts of the generator a map call needs. */
export interface MapGenHost {
  readonly a: Asm;
  readonly r: Prng;
  /** Size of the input region r6 points to. */
  readonly memSize: number;
  imm(): number;
  condJump(label: number): void;
  clobberArgs(): void;
}

const LOOKUP = BPF_FUNC.map_lookup_elem!;
const UPDATE = BPF_FUNC.map_update_elem!;
const DELETE = BPF_FUNC.map_delete_elem!;
const KTIME = BPF_FUNC.ktime_get_ns!;

const MEM_BASE = 6;
/** Registers a use of the value may load into (r0 holds the value pointer). */
const LOAD_DSTS = [2, 3, 4, 5, 8] as const;
/** Registers a store may take its value from (anything readable, pointers included). */
const STORE_SRCS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

const rowsOf = (pred: (d: InsnDef) => boolean): InsnDef[] => INSNS.filter(pred);
const VALUE_LOADS = rowsOf((d) => d.shape === Shape.Load || d.shape === Shape.LoadSx);
const VALUE_STORES = rowsOf((d) => d.shape === Shape.Store || d.shape === Shape.StoreReg);
const VALUE_ATOMICS = rowsOf((d) => d.shape === Shape.Atomic);
/** ST rows (imm stores) by width in bytes, for writing keys and values byte-exactly. */
const ST_BY_SIZE: Readonly<Record<number, InsnDef>> = {
  1: INSNS[Op.STB]!,
  2: INSNS[Op.STH]!,
  4: INSNS[Op.STW]!,
};

/** Update flags: ANY, NOEXIST, EXIST, and values the helper must refuse. */
const BAD_FLAGS = [3, 4, 5, 6, 7, 8, 0x10, -1, 0x7fffffff] as const;

type Place = 'key' | 'value';

export class MapCallGen {
  /** Set once the program passes something a verifier would refuse (see FuzzProgram.wild). */
  wild = false;
  private readonly h: MapGenHost;
  private readonly maps: readonly FuzzMap[];

  constructor(host: MapGenHost, maps: readonly FuzzMap[]) {
    this.h = host;
    this.maps = maps;
  }

  /** One map operation chunk. */
  emit(): void {
    const r = this.h.r;
    const m = r.pick(this.maps);
    const kind = r.weighted<string>([
      [5, 'lookup'],
      [3, 'update'],
      [2, 'delete'],
      [1.5, 'lookup-update'],
      // (an intrinsic too: the call skips the argument spill)
      [0.5, 'ktime'],
    ]);
    switch (kind) {
      case 'lookup':
        this.lookup(m, () => this.useValue(m));
        break;
      case 'update':
        this.update(m, () => this.pointer(3, m.valueSize, 'value', this.randomBytes(m.valueSize)));
        break;
      case 'delete':
        this.delete(m);
        break;
      case 'ktime':
        this.callAndKeep(KTIME);
        break;
      case 'lookup-update': {
        // update with a value (or key) that lives in a map: r0 of a lookup,
        // often the very element being written (an overlapping copy)
        const target = r.chance(0.75) ? m : r.pick(this.maps);
        // without the null check, NULL reaches the helper as a pointer: wild
        this.lookup(m, () => this.updateFromValue(m, target), true);
        break;
      }
    }
    this.h.clobberArgs();
  }

  /** r0 = lookup(m, key); then `use` guarded by a null check (usually; when not and nullIsWild, the program is wild). */
  private lookup(m: FuzzMap, use: () => void, nullIsWild = false): void {
    const { a, r } = this.h;
    this.argsInOrder(() => this.pointer(2, m.keySize, 'key', this.keyBytes(m)), () => this.mapPointer(m));
    a.insn(INSNS[Op.CALL]!, { imm: LOOKUP });
    const checked = r.chance(0.88);
    const skip = a.label();
    if (checked) a.ref(a.insn(INSNS[Op.JEQ64_IMM]!, { dst: 0, imm: 0 }), skip, 'off');
    else if (nullIsWild) this.wild = true;
    use();
    a.bind(skip);
  }

  private update(m: FuzzMap, setValue: () => void): void {
    this.argsInOrder(
      () => this.pointer(2, m.keySize, 'key', this.keyBytes(m)),
      () => {
        setValue();
        this.flags();
        this.mapPointer(m);
      },
    );
    this.callAndKeep(UPDATE);
  }

  /** With r0 pointing at a value of `m`: update `target` with that value (r3 = r0), or with it as the key (r2 = r0). */
  private updateFromValue(m: FuzzMap, target: FuzzMap): void {
    const a = this.h.a;
    if (this.h.r.chance(0.25) && target.keySize <= m.valueSize) {
      a.insn(INSNS[Op.MOV64_REG]!, { dst: 2, src: 0 });
      this.pointer(3, target.valueSize, 'value', this.randomBytes(target.valueSize));
      this.finishUpdate(target, false);
      return;
    }
    a.insn(INSNS[Op.MOV64_REG]!, { dst: 3, src: 0 });
    // a value longer than the one r0 points at reads what follows it (maybe a guard granule)
    if (target.valueSize > m.valueSize) this.wild = true;
    this.finishUpdate(target, true);
  }

  /** The rest of an update whose r3 (valueSet) or r2 (otherwise) is already set. */
  private finishUpdate(m: FuzzMap, valueSet: boolean): void {
    if (valueSet) this.pointer(2, m.keySize, 'key', this.keyBytes(m));
    this.flags();
    this.mapPointer(m);
    this.callAndKeep(UPDATE);
  }

  private delete(m: FuzzMap): void {
    this.argsInOrder(() => this.pointer(2, m.keySize, 'key', this.keyBytes(m)), () => this.mapPointer(m));
    this.callAndKeep(DELETE);
  }

  /** Call, then sometimes fold the result into r8 so a later r0 does not hide it. */
  private callAndKeep(id: number): void {
    const { a, r } = this.h;
    a.insn(INSNS[Op.CALL]!, { imm: id });
    if (r.chance(0.5)) a.insn(INSNS[r.chance(0.5) ? Op.ADD64_REG : Op.XOR64_REG]!, { dst: 8, src: 0 });
  }

  /** Emit two argument set-ups in either order (r1 last is what clang emits; r1 first splits constants from calls less often). */
  private argsInOrder(first: () => void, second: () => void): void {
    if (this.h.r.chance(0.3)) {
      second();
      first();
    } else {
      first();
      second();
    }
  }

  /** r4 = update flags. */
  private flags(): void {
    const { a, r } = this.h;
    const f = r.weighted<number | 'bad' | 'hi'>([
      [4, 0],
      [3, 1],
      [3, 2],
      [0.7, 'bad'],
      [0.3, 'hi'],
    ]);
    if (f === 'hi') {
      // a flag word with a non-zero high half: -EINVAL, whatever the low half says
      const at = a.insn(INSNS[Op.LDDW]!, { dst: 4, imm: r.int(3) });
      a.slots[at + 1]!.imm = r.pick([1, -1, 0x100]);
    } else a.insn(INSNS[Op.MOV64_IMM]!, { dst: 4, imm: f === 'bad' ? r.pick(BAD_FLAGS) : f });
  }

  /** r1 = the map pointer: usually a constant the JIT sees, sometimes not, rarely not a map. */
  private mapPointer(m: FuzzMap): void {
    const { a, r } = this.h;
    const lddw = (dst: number, lo: number, hi = 0): void => {
      const at = a.insn(INSNS[Op.LDDW]!, { dst, imm: lo | 0 });
      a.slots[at + 1]!.imm = hi;
    };
    const how = r.weighted<string>([
      [80, 'const'],
      [5, 'copy'],
      [6, 'merge'],
      [5, 'arith'],
      [1.5, 'bad'],
    ]);
    switch (how) {
      case 'const':
        lddw(1, m.desc);
        return;
      case 'copy':
        // still a constant to the JIT (moves keep what is known)
        lddw(5, m.desc);
        a.insn(INSNS[Op.MOV64_REG]!, { dst: 1, src: 5 });
        return;
      case 'merge': {
        // the same constant on both paths, but a block boundary in between: unknown to the JIT
        const l = a.label();
        lddw(1, m.desc);
        this.h.condJump(l);
        lddw(1, m.desc);
        a.bind(l);
        return;
      }
      case 'arith':
        lddw(1, m.desc - 8);
        a.insn(INSNS[Op.ADD64_IMM]!, { dst: 1, imm: 8 });
        return;
      default: {
        this.wild = true;
        const bad = r.int(5);
        if (bad === 0) a.insn(INSNS[Op.MOV64_IMM]!, { dst: 1, imm: 0 });
        else if (bad === 1) a.insn(INSNS[Op.MOV64_REG]!, { dst: 1, src: MEM_BASE });
        else if (bad === 2) lddw(1, m.desc + 8);
        // the right low half under a non-zero high half: helpers read pointers' low halves
        else if (bad === 3) lddw(1, m.desc, 1);
        else lddw(1, m.desc + 80);
      }
    }
  }

  /**
   * reg = address of `size` bytes holding `bytes`: on the stack (aligned or
   * not), in the input region, or (rarely, making the program wild) a bad
   * pointer: NULL, the frame's top, the end of the input, a descriptor, a
   * guard granule, an address above 4 GiB.
   */
  private pointer(reg: number, size: number, place: Place, bytes: Uint8Array): void {
    const { a, r, memSize } = this.h;
    const where = r.weighted<string>([
      [89, 'stack'],
      [8, 'input'],
      [3, 'bad'],
    ]);
    if (where === 'input' && size <= memSize) {
      const off = r.int(memSize - size + 1);
      if (r.chance(0.6)) this.storeBytes(MEM_BASE, off, bytes);
      a.insn(INSNS[Op.MOV64_REG]!, { dst: reg, src: MEM_BASE });
      a.insn(INSNS[Op.ADD64_IMM]!, { dst: reg, imm: off });
      return;
    }
    if (where === 'bad') {
      this.wild = true;
      const bad = r.int(7);
      if (bad === 0) a.insn(INSNS[Op.MOV64_IMM]!, { dst: reg, imm: r.pick([0, 8, 4096]) });
      else if (bad === 1 || bad === 2) {
        // straddling the top of the frame (above frame 0 lies a guard granule)
        a.insn(INSNS[Op.MOV64_REG]!, { dst: reg, src: 10 });
        a.insn(INSNS[Op.ADD64_IMM]!, { dst: reg, imm: -r.int(Math.min(size, 8)) });
      } else if (bad === 3) {
        a.insn(INSNS[Op.MOV64_REG]!, { dst: reg, src: MEM_BASE });
        a.insn(INSNS[Op.ADD64_IMM]!, { dst: reg, imm: memSize - r.range(1, Math.min(size, 8)) });
      } else {
        const m = r.pick(this.maps);
        const at = a.insn(INSNS[Op.LDDW]!, { dst: reg, imm: bad === 4 ? m.desc : bad === 5 ? m.desc + 80 : m.desc });
        a.slots[at + 1]!.imm = bad === 6 ? 1 : 0;
      }
      return;
    }
    // keys in the upper half of the frame, values in the lower half, so that one does not overwrite the other
    const aligned = r.chance(0.6);
    const lo = place === 'key' ? -256 : -512;
    const hi = place === 'key' ? -size : -256 - size;
    let off = hi - r.int(hi - lo + 1);
    if (aligned) off &= ~7;
    if (off < lo) off = hi;
    this.storeBytes(10, off, bytes);
    a.insn(INSNS[Op.MOV64_REG]!, { dst: reg, src: 10 });
    a.insn(INSNS[Op.ADD64_IMM]!, { dst: reg, imm: off });
  }

  /** Write `bytes` at base + off with immediate stores (4, 2, then 1 byte wide). */
  private storeBytes(base: number, off: number, bytes: Uint8Array): void {
    const a = this.h.a;
    let i = 0;
    while (i < bytes.length) {
      const n = bytes.length - i >= 4 ? 4 : bytes.length - i >= 2 ? 2 : 1;
      let v = 0;
      for (let k = n - 1; k >= 0; k--) v = (v << 8) | bytes[i + k]!;
      a.insn(ST_BY_SIZE[n]!, { dst: base, off: off + i, imm: v | 0 });
      i += n;
    }
  }

  /** A key: usually one of the map's likely keys, else a near miss, random bytes, or (arrays) an index out of range. */
  private keyBytes(m: FuzzMap): Uint8Array {
    const r = this.h.r;
    const how = r.weighted<string>([
      [70, 'pool'],
      [10, 'flip'],
      [12, 'random'],
      [m.typeName.includes('array') ? 8 : 0, 'range'],
    ]);
    if (how === 'pool' && m.keys.length > 0) return r.pick(m.keys);
    if (how === 'flip' && m.keys.length > 0) {
      const k = r.pick(m.keys).slice();
      k[r.int(k.length)]! ^= 1 << r.int(8);
      return k;
    }
    if (how === 'range') {
      const k = new Uint8Array(m.keySize);
      new DataView(k.buffer).setUint32(0, r.pick([m.maxEntries, m.maxEntries + 1, 0xffffffff, 0x80000000]), true);
      return k;
    }
    return this.randomBytes(m.keySize);
  }

  private randomBytes(n: number): Uint8Array {
    const r = this.h.r;
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = r.chance(0.3) ? 0 : r.int(256);
    return b;
  }

  /**
   * Uses of the value r0 points at: 1..3 loads, stores and atomics inside
   * it (a few just past either end). Atomics stay naturally aligned (values
   * are 8-byte aligned): a misaligned atomic is a known divergence, not a bug.
   */
  private useValue(m: FuzzMap): void {
    const { a, r } = this.h;
    const n = r.range(1, 3);
    const isArray = m.typeName.endsWith('array');
    let cmpxchg = false;
    for (let i = 0; i < n && !cmpxchg; i++) {
      const kind = r.weighted<string>([
        [4, 'load'],
        [3, 'store'],
        [3, 'atomic'],
      ]);
      if (kind === 'atomic') {
        const rows = VALUE_ATOMICS.filter((d) => d.width / 8 <= m.valueSize);
        if (rows.length === 0) continue;
        const d = r.pick(rows);
        const w = d.width / 8;
        const op = d.discr!.value;
        // past the end now and then (arrays only): the neighbouring element, or a guard granule
        const off = r.chance(0.04) && isArray ? (m.valueSize + w - 1) & -w : w * r.int(Math.floor(m.valueSize / w));
        // fetch forms and xchg write src, cmpxchg writes r0: never let them overwrite the pointer in r0 except last
        const writesSrc = op === AtomicOp.XCHG || ((op & AtomicOp.FETCH) !== 0 && op !== AtomicOp.CMPXCHG);
        cmpxchg = op === AtomicOp.CMPXCHG;
        a.insn(d, { dst: 0, src: writesSrc ? r.pick(LOAD_DSTS) : r.pick(STORE_SRCS), off });
        continue;
      }
      const d = kind === 'load' ? r.pick(VALUE_LOADS) : r.pick(VALUE_STORES);
      const w = d.width / 8;
      let off: number;
      // Writes past a hash value reach the next entry's header (chain links, hash):
      // a cycle there makes every lookup loop forever in both engines (see the report).
      // Writes below it change the key bytes, which is harmless to the engines.
      if (r.chance(0.05)) off = (isArray || kind === 'load') && r.chance(0.5) ? m.valueSize - w + r.range(1, 8) : -r.range(1, 8);
      else {
        const span = Math.max(0, m.valueSize - w);
        off = r.int(span + 1);
        if (r.chance(0.6)) off &= -w;
      }
      if (kind === 'load') a.insn(d, { dst: r.pick(LOAD_DSTS), src: 0, off });
      else a.insn(d, { dst: 0, src: r.pick(STORE_SRCS), off, imm: this.h.imm() });
    }
  }
}
