// A parsed .BTF section: the type table and the string table, with the few
// queries the loader, the printer and the verifier need (names, sizes,
// skipping modifiers). Every walk along type references is bounded, so a
// cycle in a malformed object is an error, never a hang.

import { BtfError } from '../internal/errors.js';
import { BtfKind, BTF_KIND_NAMES, type BtfType } from './types.js';

/** libbpf's MAX_RESOLVE_DEPTH: longest chain of typedefs/modifiers/arrays followed. */
export const MAX_RESOLVE_DEPTH = 32;

export class Btf {
  /** Indexed by type id; types[0] is void. */
  readonly types: readonly BtfType[];
  readonly littleEndian: boolean;
  /** The raw string section, for consumers that keep offsets. */
  readonly strings: Uint8Array;
  private readonly stringAt: (off: number) => string;
  private byName?: Map<string, number[]>;

  constructor(types: BtfType[], strings: Uint8Array, stringAt: (off: number) => string, littleEndian: boolean) {
    this.types = types;
    this.strings = strings;
    this.stringAt = stringAt;
    this.littleEndian = littleEndian;
  }

  /**
   * Replace one type by a corrected copy of the same id. Used only while
   * loading, for libbpf's DATASEC fix-up (object files leave sizes and
   * variable offsets at zero for the loader to fill in from the symbol table).
   */
  replaceType(t: BtfType): void {
    if (t.id <= 0 || t.id >= this.types.length || this.types[t.id]!.kind !== t.kind) throw new BtfError(`cannot replace type ${t.id}`);
    (this.types as BtfType[])[t.id] = t;
    this.byName = undefined;
  }

  /** The string at `off` in the string section (line info, access strings...). */
  string(off: number): string {
    return this.stringAt(off);
  }

  type(id: number): BtfType {
    const t = this.types[id];
    if (t === undefined) throw new BtfError(`type id ${id} does not exist (${this.types.length - 1} types)`);
    return t;
  }

  /** Ids of the types with this name (any kind). */
  idsByName(name: string): readonly number[] {
    if (!this.byName) {
      const m = new Map<string, number[]>();
      for (const t of this.types) {
        if (t.name === '') continue;
        const list = m.get(t.name);
        if (list) list.push(t.id);
        else m.set(t.name, [t.id]);
      }
      this.byName = m;
    }
    return this.byName.get(name) ?? [];
  }

  /** Follow typedefs, const/volatile/restrict and type tags to the underlying type. */
  skipModifiers(id: number): BtfType {
    let t = this.type(id);
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      switch (t.kind) {
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.TYPE_TAG:
          t = this.type(t.type);
          continue;
        default:
          return t;
      }
    }
    throw new BtfError(`type ${id}: modifier chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
  }

  /** Size in bytes of a value of type `id`, as the kernel computes it. */
  sizeOf(id: number, depth = 0): number {
    if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`type ${id}: type chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
    const t = this.type(id);
    switch (t.kind) {
      case BtfKind.INT:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
      case BtfKind.DATASEC:
        return t.size;
      case BtfKind.PTR:
        return 8;
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
      case BtfKind.VAR:
        return this.sizeOf(t.type, depth + 1);
      case BtfKind.ARRAY: {
        const n = t.nelems * this.sizeOf(t.type, depth + 1);
        if (n > 0xffffffff) throw new BtfError(`type ${id}: array of ${t.nelems} elements is larger than 4 GiB`);
        return n;
      }
      default:
        throw new BtfError(`type ${id} (${BTF_KIND_NAMES[t.kind]} ${t.name || '(anon)'}) has no size`);
    }
  }

  /** A C-like name for messages: 'struct foo', 'int', 'u32 *', '(anon)'. */
  describe(id: number, depth = 0): string {
    if (id === 0) return 'void';
    const t = this.type(id);
    if (depth > MAX_RESOLVE_DEPTH) return '...';
    switch (t.kind) {
      case BtfKind.STRUCT:
        return `struct ${t.name || '(anon)'}`;
      case BtfKind.UNION:
        return `union ${t.name || '(anon)'}`;
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return `enum ${t.name || '(anon)'}`;
      case BtfKind.PTR:
        return `${this.describe(t.type, depth + 1)} *`;
      case BtfKind.CONST:
        return `const ${this.describe(t.type, depth + 1)}`;
      case BtfKind.VOLATILE:
        return `volatile ${this.describe(t.type, depth + 1)}`;
      case BtfKind.ARRAY:
        return `${this.describe(t.type, depth + 1)}[${t.nelems}]`;
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.describe(t.type, depth + 1);
      case BtfKind.FUNC_PROTO:
        return `${this.describe(t.returnType, depth + 1)} (*)(...)`;
      default:
        return t.name || `(anon ${BTF_KIND_NAMES[t.kind]})`;
    }
  }

  /** Counts per kind name, for summaries ('struct': 12, ...). */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 1; i < this.types.length; i++) {
      const k = BTF_KIND_NAMES[this.types[i]!.kind]!;
      out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  }
}
