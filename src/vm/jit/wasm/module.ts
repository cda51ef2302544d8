// The parts of the Wasm binary format the JIT needs, written straight into
// one Writer. Sections must appear in a fixed order, and the JIT knows every
// type, import and function before it emits code, so the header sections are
// written first and function bodies are then streamed into the code section;
// sizes are 5-byte placeholders patched when a section or body ends.

import { T } from './opcodes.js';
import type { Writer } from './writer.js';

export const enum Section {
  Type = 1,
  Import = 2,
  Function = 3,
  Global = 6,
  Export = 7,
  Code = 10,
}

export interface FuncType {
  readonly params: readonly T[];
  readonly results: readonly T[];
}

export type ImportDesc =
  | { readonly kind: 'func'; readonly module: string; readonly name: string; readonly type: number }
  | { readonly kind: 'memory'; readonly module: string; readonly name: string; readonly min: number; readonly max: number; readonly shared: boolean };

export interface ExportDesc {
  readonly name: string;
  readonly kind: 'func' | 'global' | 'memory';
  readonly index: number;
}

export interface GlobalDesc {
  readonly type: T.i32 | T.i64;
  readonly mutable: boolean;
  readonly init: number;
}

export function writeHeader(w: Writer): void {
  w.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
}

/** Start a section; returns the placeholder to pass to endSection. */
export function beginSection(w: Writer, id: Section): number {
  w.u8(id);
  return w.placeholder();
}

export function endSection(w: Writer, at: number): void {
  w.patchSizeFrom(at);
}

export function writeTypes(w: Writer, types: readonly FuncType[]): void {
  const at = beginSection(w, Section.Type);
  w.u32(types.length);
  for (const t of types) {
    w.u8(T.func);
    w.u32(t.params.length);
    for (const p of t.params) w.u8(p);
    w.u32(t.results.length);
    for (const r of t.results) w.u8(r);
  }
  endSection(w, at);
}

export function writeImports(w: Writer, imports: readonly ImportDesc[]): void {
  const at = beginSection(w, Section.Import);
  w.u32(imports.length);
  for (const im of imports) {
    w.name(im.module);
    w.name(im.name);
    if (im.kind === 'func') {
      w.u8(0x00);
      w.u32(im.type);
    } else {
      w.u8(0x02);
      // limits flags: bit 0 has-maximum, bit 1 shared (threads proposal)
      w.u8(im.shared ? 0x03 : 0x01);
      w.u32(im.min);
      w.u32(im.max);
    }
  }
  endSection(w, at);
}

/** The function section: the type index of each defined function. */
export function writeFunctions(w: Writer, typeIndices: readonly number[]): void {
  const at = beginSection(w, Section.Function);
  w.u32(typeIndices.length);
  for (const t of typeIndices) w.u32(t);
  endSection(w, at);
}

export function writeGlobals(w: Writer, globals: readonly GlobalDesc[]): void {
  const at = beginSection(w, Section.Global);
  w.u32(globals.length);
  for (const g of globals) {
    w.u8(g.type);
    w.u8(g.mutable ? 1 : 0);
    w.u8(g.type === T.i32 ? 0x41 : 0x42);
    w.s32(g.init);
    w.u8(0x0b);
  }
  endSection(w, at);
}

export function writeExports(w: Writer, exports: readonly ExportDesc[]): void {
  const at = beginSection(w, Section.Export);
  w.u32(exports.length);
  for (const e of exports) {
    w.name(e.name);
    w.u8(e.kind === 'func' ? 0x00 : e.kind === 'memory' ? 0x02 : 0x03);
    w.u32(e.index);
  }
  endSection(w, at);
}

/**
 * Start a function body with its local declarations ([count, type] runs);
 * returns the placeholder for endBody.
 */
export function beginBody(w: Writer, locals: ReadonlyArray<readonly [number, T]>): number {
  const at = w.placeholder();
  w.u32(locals.length);
  for (const [n, t] of locals) {
    w.u32(n);
    w.u8(t);
  }
  return at;
}

/** Close a function body (writes the final `end`). */
export function endBody(w: Writer, at: number): void {
  w.u8(0x0b);
  w.patchSizeFrom(at);
}
