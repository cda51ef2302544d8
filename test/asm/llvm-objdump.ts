// Test support: run the real llvm-objdump-19 on raw instruction bytes. The
// bytes are wrapped in a minimal ELF64 relocatable object for EM_BPF (header,
// .text, .shstrtab) because llvm-objdump only reads object files.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OBJDUMP = 'llvm-objdump-19';
const EM_BPF = 247;
const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHF_ALLOC_EXEC = 0x2 | 0x4;

/** A relocatable ELF64 little-endian object whose only code section `.text` holds `code`. */
export function wrapElf(code: Uint8Array): Uint8Array {
  const shstr = new TextEncoder().encode('\0.text\0.shstrtab\0');
  const textOff = 64;
  const strOff = textOff + code.length;
  const shOff = (strOff + shstr.length + 7) & ~7;
  const out = new Uint8Array(shOff + 64 * 3);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2 /* 64-bit */, 1 /* LE */, 1 /* version */], 0);
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, EM_BPF, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shOff), true);
  v.setUint16(52, 64, true); // e_ehsize
  v.setUint16(58, 64, true); // e_shentsize
  v.setUint16(60, 3, true); // e_shnum
  v.setUint16(62, 2, true); // e_shstrndx
  out.set(code, textOff);
  out.set(shstr, strOff);
  const section = (i: number, name: number, type: number, flags: number, off: number, size: number, align: number): void => {
    const b = shOff + 64 * i;
    v.setUint32(b, name, true);
    v.setUint32(b + 4, type, true);
    v.setBigUint64(b + 8, BigInt(flags), true);
    v.setBigUint64(b + 24, BigInt(off), true);
    v.setBigUint64(b + 32, BigInt(size), true);
    v.setBigUint64(b + 48, BigInt(align), true);
  };
  section(1, 1, SHT_PROGBITS, SHF_ALLOC_EXEC, textOff, code.length, 8);
  section(2, 7, SHT_STRTAB, 0, strOff, shstr.length, 1);
  return out;
}

export function objdumpAvailable(): boolean {
  const r = spawnSync(OBJDUMP, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

export interface ObjdumpLine {
  readonly slot: number;
  /** Raw bytes as objdump printed them, e.g. 'b7 01 00 00 ff ff ff ff'. */
  readonly bytes: string;
  /** Instruction text, including any ` <.text+0x28>` annotation. */
  readonly text: string;
  /** The whole line as printed. */
  readonly line: string;
}

/**
 * Disassemble `code` with llvm-objdump-19 -d. `mcpu` is passed as --mcpu
 * (undefined: objdump's default, which prints like cpu v1).
 */
export function objdump(code: Uint8Array, mcpu?: string): ObjdumpLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-objdump-'));
  try {
    const file = join(dir, 'prog.o');
    writeFileSync(file, wrapElf(code));
    return objdumpFile(file, mcpu);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** llvm-objdump-19 -d of object files (one run): their instruction lines, all code sections in order. */
export function objdumpFile(files: string | readonly string[], mcpu?: string): ObjdumpLine[] {
  const args = ['-d', ...(mcpu ? [`--mcpu=${mcpu}`] : []), ...(typeof files === 'string' ? [files] : files)];
  const r = spawnSync(OBJDUMP, args, { encoding: 'utf8', maxBuffer: 512 << 20 });
  if (r.status !== 0) throw new Error(`${OBJDUMP} failed: ${r.stderr}`);
  const out: ObjdumpLine[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*([0-9]+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (m !== null) out.push({ slot: Number(m[1]), bytes: m[2]!, text: m[3]!, line });
  }
  return out;
}

/** Drop objdump's ` <.text+0x28>` target annotation (it depends on where the insn sits). */
export function stripTarget(text: string): string {
  return text.replace(/ <[^<>]*>$/, '');
}

export const LLVM_MC = 'llvm-mc-19';
export const OBJCOPY = 'llvm-objcopy-19';

export function llvmMcAvailable(): boolean {
  return [LLVM_MC, OBJCOPY].every((t) => spawnSync(t, ['--version'], { encoding: 'utf8' }).status === 0);
}

/** Assemble LLVM-syntax text with llvm-mc-19 (-mcpu=v4) and return the bytes of .text. */
export function llvmMc(text: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-llvm-mc-'));
  try {
    const src = join(dir, 'prog.s');
    const obj = join(dir, 'prog.o');
    const bin = join(dir, 'prog.bin');
    writeFileSync(src, text);
    const mc = spawnSync(LLVM_MC, ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', src, '-o', obj], { encoding: 'utf8' });
    if (mc.status !== 0) throw new Error(`${LLVM_MC} failed: ${mc.stderr}`);
    const cp = spawnSync(OBJCOPY, ['-O', 'binary', '--only-section=.text', obj, bin], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`${OBJCOPY} failed: ${cp.stderr}`);
    return new Uint8Array(readFileSync(bin));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
