// BTF type records (linux/btf.h). One interface per kind; ids index
// `Btf.types`, with id 0 meaning void. Kind numbers and their names are the
// kernel's (BTF_KIND_INT = 1 ... BTF_KIND_ENUM64 = 19).

export const BtfKind = {
  UNKN: 0,
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;
export type BtfKind = (typeof BtfKind)[keyof typeof BtfKind];

/** Kind number -> the kernel's name ('struct', 'enum64', ...), as bpftool prints it. */
export const BTF_KIND_NAMES: readonly string[] = [
  'unknown', 'int', 'ptr', 'array', 'struct', 'union', 'enum', 'fwd', 'typedef', 'volatile',
  'const', 'restrict', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag', 'enum64',
];

/** BTF_INT_* encoding bits. */
export const BtfIntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;

/** BTF_VAR_* linkage. */
export const BtfVarLinkage = { STATIC: 0, GLOBAL_ALLOCATED: 1, GLOBAL_EXTERN: 2 } as const;
/** BTF_FUNC_* linkage (kept in vlen of a FUNC). */
export const BtfFuncLinkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;

interface Base {
  readonly id: number;
  readonly name: string;
}
export interface BtfVoid extends Base { readonly kind: 0 }
export interface BtfInt extends Base {
  readonly kind: 1;
  readonly size: number;
  readonly encoding: number;
  readonly bitOffset: number;
  readonly bits: number;
}
/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG: a name (maybe empty) over another type. */
export interface BtfRef extends Base {
  readonly kind: 2 | 8 | 9 | 10 | 11 | 18;
  readonly type: number;
}
export interface BtfArray extends Base {
  readonly kind: 3;
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}
export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Offset in bits from the start of the struct. */
  readonly bitOffset: number;
  /** Bitfield width in bits, 0 if the member is not a bitfield. */
  readonly bitSize: number;
}
export interface BtfComposite extends Base {
  readonly kind: 4 | 5;
  readonly size: number;
  readonly members: readonly BtfMember[];
}
export interface BtfEnumValue {
  readonly name: string;
  /** The value; enum64 values beyond 2^53 are exact in `big`. */
  readonly value: number;
  readonly big: bigint;
}
export interface BtfEnum extends Base {
  readonly kind: 6 | 19;
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}
export interface BtfFwd extends Base {
  readonly kind: 7;
  readonly union: boolean;
}
export interface BtfFunc extends Base {
  readonly kind: 12;
  readonly type: number;
  readonly linkage: number;
}
export interface BtfParam {
  readonly name: string;
  readonly type: number;
}
export interface BtfFuncProto extends Base {
  readonly kind: 13;
  readonly returnType: number;
  readonly params: readonly BtfParam[];
  readonly variadic: boolean;
}
export interface BtfVar extends Base {
  readonly kind: 14;
  readonly type: number;
  readonly linkage: number;
}
export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}
export interface BtfDatasec extends Base {
  readonly kind: 15;
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}
export interface BtfFloat extends Base {
  readonly kind: 16;
  readonly size: number;
}
export interface BtfDeclTag extends Base {
  readonly kind: 17;
  readonly type: number;
  /** -1 when the tag applies to the type itself, else a member or parameter index. */
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfRef
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;
