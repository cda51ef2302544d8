// libbpf as the oracle for CO-RE: load an object with libbpf's debug log on
// and read every patch it makes ("patched insn #I (ALU/ALU64) imm A -> B",
// "... mem_sz A -> B", "substituting insn #I w/ invalid insn"). The patches
// are applied to tsbpf's unrelocated linked streams; the result must equal
// what tsbpf's own relocation produced, byte for byte. The loader is
// libbpf-core-oracle.c (compiled here with cc -lbpf), else `bpftool -d prog
// loadall`. Tests skip with the returned reason when neither can run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_POISON_IMM } from '../../src/elf/core-apply.js';
import type { ObjectSpec } from '../../src/elf/spec.js';

const SOURCE = fileURLToPath(new URL('../../../test/elf/libbpf-core-oracle.c', import.meta.url));

/**
 * One patch libbpf reported: the ELF section and relocation record (libbpf's
 * "relo #N" counts records per section), the (sub-)program name and its own
 * instruction index, and what changed.
 */
export interface LibbpfPatch {
  readonly section: string;
  readonly relo: number;
  readonly prog: string;
  readonly insn: number;
  readonly what: 'imm' | 'off' | 'imm64' | 'mem_sz' | 'poison';
  readonly value: bigint;
}

const SECTION = /sec '([^']+)': found \d+ CO-RE relocations/;
const PATCHED = /prog '([^']+)': relo #(\d+): patched insn #(\d+) \([^)]*\) (imm64|imm|off|mem_sz) (-?\d+) -> (-?\d+)/;
const POISONED = /prog '([^']+)': relo #(\d+): substituting insn #(\d+) w\/ invalid insn/;

let helper: string | undefined;

/** Compile the C loader once per process; undefined when cc or libbpf-dev is missing. */
function compiledHelper(): string | undefined {
  if (helper !== undefined) return helper || undefined;
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-oracle-'));
  const out = join(dir, 'libbpf-core-oracle');
  const r = spawnSync('cc', ['-O1', '-o', out, SOURCE, '-lbpf'], { encoding: 'utf8' });
  helper = r.status === 0 && existsSync(out) ? out : '';
  return helper || undefined;
}

/** Run libbpf on the object; a string says why it could not run here. */
export function libbpfPatches(file: string): LibbpfPatch[] | string {
  if (process.getuid?.() !== 0) return 'needs root (libbpf loads the object into the kernel)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  const exe = compiledHelper();
  let log: string;
  if (exe) {
    log = spawnSync(exe, [file], { encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 28 }).stderr ?? '';
  } else {
    const v = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
    if (v.error || v.status !== 0) return 'neither cc with libbpf-dev nor bpftool is available';
    const pin = `/sys/fs/bpf/tsbpf-core-${process.pid}`;
    log = spawnSync('bpftool', ['-d', 'prog', 'loadall', file, pin], { encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 28 }).stderr ?? '';
    rmSync(pin, { recursive: true, force: true });
  }
  const out: LibbpfPatch[] = [];
  let section = '';
  for (const line of log.split('\n')) {
    const s = SECTION.exec(line);
    if (s) section = s[1]!;
    const p = PATCHED.exec(line);
    if (p) {
      out.push({ section, relo: Number(p[2]), prog: p[1]!, insn: Number(p[3]), what: p[4] as LibbpfPatch['what'], value: BigInt(p[6]!) });
      continue;
    }
    // An lddw is substituted slot by slot; both slots are reported (insn and insn + 1).
    const q = POISONED.exec(line);
    if (q) out.push({ section, relo: Number(q[2]), prog: q[1]!, insn: Number(q[3]), what: 'poison', value: 0n });
  }
  if (out.length === 0) return `libbpf reported no CO-RE patches (${log.split('\n').filter(Boolean).slice(-2).join(' ')})`;
  return out;
}

const SIZE_CODE: Record<string, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };

/** Write one patch into `view` at slot `at`. */
function write(view: DataView, at: number, patch: LibbpfPatch): void {
  const p = at * 8;
  switch (patch.what) {
    case 'imm':
      view.setInt32(p + 4, Number(BigInt.asIntN(32, patch.value)), true);
      break;
    case 'off':
      view.setInt16(p + 2, Number(patch.value), true);
      break;
    case 'imm64':
      view.setUint32(p + 4, Number(patch.value & 0xffffffffn), true);
      view.setUint32(p + 12, Number((patch.value >> 32n) & 0xffffffffn), true);
      break;
    case 'mem_sz':
      view.setUint8(p, (view.getUint8(p) & ~0x18) | SIZE_CODE[String(patch.value)]!);
      break;
    case 'poison':
      view.setUint8(p, 0x85);
      view.setUint8(p + 1, 0);
      view.setInt16(p + 2, 0, true);
      view.setInt32(p + 4, CORE_POISON_IMM, true);
      break;
  }
}

/**
 * The streams libbpf's patches make of an unrelocated spec: each patch lands
 * wherever tsbpf linked the instruction its record names (the record's
 * section instruction, plus the slot offset for the second half of an lddw).
 * Also returns the patches tsbpf placed nowhere.
 */
export function libbpfStreams(plain: ObjectSpec, patches: readonly LibbpfPatch[]): { streams: Map<string, Uint8Array>; unplaced: LibbpfPatch[] } {
  const streams = new Map(plain.programs.map((p) => [p.name, p.insns.slice()]));
  const unplaced: LibbpfPatch[] = [];
  // A record's lowest reported index is its own instruction (libbpf 1.1 reports an lddw's poisoned slots second-first).
  const base = new Map<string, number>();
  for (const patch of patches) {
    const k = `${patch.section}#${patch.relo}`;
    base.set(k, Math.min(base.get(k) ?? patch.insn, patch.insn));
  }
  for (const patch of patches) {
    const rec = plain.btfExt?.coreRelos.get(patch.section)?.[patch.relo];
    if (!rec) {
      unplaced.push(patch);
      continue;
    }
    const k = `${patch.section}#${patch.relo}`;
    const sectionInsn = rec.insn + (patch.insn - base.get(k)!);
    let placed = false;
    for (const p of plain.programs) {
      const bytes = streams.get(p.name)!;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (const f of p.functions) {
        if (f.section !== patch.section || sectionInsn < f.sectionInsn || sectionInsn >= f.sectionInsn + f.length) continue;
        write(view, f.insn + sectionInsn - f.sectionInsn, patch);
        placed = true;
      }
    }
    if (!placed) unplaced.push(patch);
  }
  return { streams, unplaced };
}

/** First instruction where `got` differs from `want`, as a message; undefined when equal. */
export function firstDifference(name: string, got: Uint8Array, want: Uint8Array): string | undefined {
  if (got.length !== want.length) return `${name}: ${got.length / 8} instructions, libbpf's stream has ${want.length / 8}`;
  for (let i = 0; i < got.length; i += 8) {
    for (let k = 0; k < 8; k++) {
      if (got[i + k] !== want[i + k]) {
        const hex = (b: Uint8Array): string => Buffer.from(b.subarray(i, i + 8)).toString('hex');
        return `${name} instruction ${i / 8}: tsbpf ${hex(got)}, libbpf ${hex(want)}`;
      }
    }
  }
  return undefined;
}
