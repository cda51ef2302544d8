// Hand-made malformed and truncated objects: each gives a typed error naming
// what is wrong, quickly, and never a crash, a hang or a huge allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadObject } from '../../src/elf/load.js';
import { parseElf } from '../../src/elf/elf-file.js';
import { ElfError, TsbpfError } from '../../src/internal/errors.js';
import { exampleBytes } from './helpers.js';

function rejects(bytes: Uint8Array, pattern: RegExp, label: string): TsbpfError {
  const t0 = performance.now();
  let err: unknown;
  try {
    loadObject(bytes, { file: 'bad.o' });
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  assert.ok(err instanceof TsbpfError, `${label}: expected a TsbpfError, got ${String(err)}`);
  assert.match(err.message, pattern, label);
  assert.ok(ms < 500, `${label}: took ${ms.toFixed(0)} ms`);
  return err;
}

function mutate(base: Uint8Array, fn: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(base);
  fn(new DataView(b.buffer), b);
  return b;
}

const maps = exampleBytes('maps.o');
const elf = parseElf(maps, 'maps.o');
const shoff = Number(new DataView(maps.buffer, maps.byteOffset).getBigUint64(40, true));
const secIndex = (name: string): number => elf.sections.findIndex((s) => s.name === name);
const hdr = (name: string): number => shoff + secIndex(name) * 64;

test('not an ELF object, or not one for BPF', () => {
  rejects(new Uint8Array(0), /too short/, 'empty');
  rejects(new Uint8Array(63), /too short/, '63 bytes');
  rejects(mutate(maps, (_, b) => (b[0] = 0)), /bad magic/, 'magic');
  rejects(mutate(maps, (_, b) => (b[4] = 1)), /ELFCLASS64/, 'ELF32');
  rejects(mutate(maps, (_, b) => (b[5] = 3)), /data encoding/, 'encoding');
  rejects(mutate(maps, (dv) => dv.setUint16(18, 62, true)), /not EM_BPF/, 'x86-64');
  rejects(mutate(maps, (dv) => dv.setUint16(16, 2, true)), /not ET_REL/, 'executable');
});

test('section table and sections out of bounds or overlapping', () => {
  rejects(mutate(maps, (dv) => dv.setBigUint64(40, BigInt(maps.length - 10), true)), /run past the end|section header/, 'e_shoff near the end');
  rejects(mutate(maps, (dv) => dv.setBigUint64(40, 0xfffffffffn, true)), /run past the end/, 'e_shoff huge');
  rejects(mutate(maps, (dv) => dv.setUint16(60, 0xffff, true)), /run past the end|header table/, 'e_shnum huge');
  rejects(mutate(maps, (dv) => dv.setUint16(62, 0x7fff, true)), /e_shstrndx/, 'e_shstrndx');
  rejects(mutate(maps, (dv) => dv.setBigUint64(hdr('xdp') + 32, 0x7fffffffn, true)), /run past the end/, 'section size');
  rejects(mutate(maps, (dv) => dv.setBigUint64(hdr('xdp') + 24, BigInt(elf.sections[secIndex('.maps')]!.offset), true)), /overlaps/, 'overlap');
  rejects(mutate(maps, (dv) => dv.setBigUint64(hdr('xdp') + 24, 1n << 60n, true)), /too large|run past/, 'offset beyond 2^53');
  rejects(mutate(maps, (dv) => dv.setUint32(hdr('xdp'), 0xfffffff, true)), /outside the string table/, 'section name offset');
});

test('symbols and relocations that point nowhere', () => {
  const symtab = elf.sections[secIndex('.symtab')]!;
  const flows = elf.symbols.findIndex((s) => s.name === 'flows');
  rejects(mutate(maps, (dv) => dv.setUint16(symtab.offset + flows * 24 + 6, 900, true)), /does not exist/, 'symbol section');
  rejects(mutate(maps, (dv) => dv.setUint32(symtab.offset + flows * 24, 0xffffff, true)), /outside the string table/, 'symbol name');
  // Move 'flows' so no map starts at its offset.
  rejects(mutate(maps, (dv) => dv.setBigUint64(symtab.offset + flows * 24 + 8, 3n, true)), /flows/, 'map symbol offset');
  const rel = elf.sections[secIndex('.relxdp')]!;
  rejects(mutate(maps, (dv) => dv.setUint32(rel.offset + 12, 0xffff, true)), /refers to symbol/, 'relocation symbol');
  rejects(mutate(maps, (dv) => dv.setBigUint64(rel.offset, 1n << 40n, true)), /outside/, 'relocation offset');
  rejects(mutate(maps, (dv) => dv.setBigUint64(rel.offset, 3n, true)), /instruction boundary/, 'misaligned relocation');
  rejects(mutate(maps, (dv) => dv.setUint32(rel.offset + 8, 77, true)), /relocation type 77/, 'relocation type');
});

test('BTF and BTF.ext with bad headers and counts', () => {
  const btf = elf.sections[secIndex('.BTF')]!.offset;
  rejects(mutate(maps, (dv) => dv.setUint16(btf, 0x1234, true)), /bad magic/, 'BTF magic');
  rejects(mutate(maps, (dv) => dv.setUint32(btf + 12, 0x7ffffff0, true)), /run past the end/, 'type_len');
  rejects(mutate(maps, (dv) => dv.setUint32(btf + 20, 0xffffff, true)), /run past the end/, 'str_len');
  // The first type is 'int'-like or a pointer; give it a huge vlen and the struct kind.
  rejects(mutate(maps, (dv) => dv.setUint32(btf + 24 + 4, (4 << 24) | 0xffff, true)), /run past the end|refers to type/, 'vlen');
  rejects(mutate(maps, (dv) => dv.setUint32(btf + 24 + 4, 31 << 24, true)), /unknown kind/, 'kind');
  const ext = elf.sections[secIndex('.BTF.ext')]!.offset;
  const liOff = new DataView(maps.buffer, maps.byteOffset).getUint32(ext + 16, true);
  // num_info of the first line_info section: hdr_len + line_info_off + rec_size(4) + sec_name_off(4)
  rejects(mutate(maps, (dv) => dv.setUint32(ext + 32 + liOff + 8, 0x10000000, true)), /claims 268435456 records/, 'num_info');
  rejects(mutate(maps, (dv) => dv.setUint32(ext + 32 + liOff, 3, true)), /bad record size/, 'rec_size');
});

test('every truncation of an object fails cleanly', () => {
  const t0 = performance.now();
  for (let n = 0; n < maps.length; n += 3) {
    try {
      loadObject(maps.subarray(0, n), { file: 'cut.o' });
    } catch (e) {
      assert.ok(e instanceof TsbpfError, `cut at ${n}: ${String(e)}`);
      continue;
    }
    // Only a cut inside trailing bytes nobody reads may still load.
    assert.ok(n > shoff, `cut at ${n} loaded`);
  }
  assert.ok(performance.now() - t0 < 20000);
});

test('errors name the file, section and offset', () => {
  const symtab = elf.sections[secIndex('.symtab')]!;
  const e = rejects(mutate(maps, (dv) => dv.setUint16(symtab.offset + 24 + 6, 900, true)), /does not exist/, 'symbol section');
  assert.ok(e instanceof ElfError);
  assert.equal(e.file, 'bad.o');
  assert.equal(e.section, '.symtab');
  assert.equal(typeof e.offset, 'number');
});
