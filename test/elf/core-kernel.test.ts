// CO-RE relocation against libbpf as the oracle: `bpftool -d prog loadall`
// prints every patch libbpf makes ("patched insn #I (ALU/ALU64) imm A -> B",
// "... mem_sz A -> B", "substituting insn #I w/ invalid insn"). Applying those
// patches to the unrelocated stream must give exactly the bytes tsbpf's
// loader produced with the kernel's BTF as target. The relocated programs
// then go to the kernel, which must accept them (and refuse the poisoned
// one with libbpf's "bad relo" helper id).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { kernelBtf } from '../../src/btf/kernel-btf.js';
import { CORE_POISON_IMM } from '../../src/elf/core-apply.js';
import { loadObject } from '../../src/elf/load.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { kernelLoad } from './kernel-harness.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/objects/core/', import.meta.url));
const OBJECTS = ['core_task.o'];

/** One patch libbpf reported: program (or sub-program) name, its own instruction index, what changed. */
interface LibbpfPatch {
  prog: string;
  insn: number;
  what: 'imm' | 'off' | 'imm64' | 'mem_sz' | 'poison';
  value: bigint;
}

const PATCHED = /prog '([^']+)': relo #\d+: patched insn #(\d+) \([^)]*\) (imm64|imm|off|mem_sz) (-?\d+) -> (-?\d+)/;
const POISONED = /prog '([^']+)': relo #\d+: substituting insn #(\d+) w\/ invalid insn/;

/** Run libbpf on the object; undefined with a reason when it cannot run here. */
function libbpfPatches(file: string): LibbpfPatch[] | string {
  if (process.getuid?.() !== 0) return 'needs root (bpftool prog loadall)';
  const which = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  if (which.error || which.status !== 0) return 'bpftool is not installed';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  const pin = `/sys/fs/bpf/tsbpf-core-${process.pid}`;
  const r = spawnSync('bpftool', ['-d', 'prog', 'loadall', file, pin], { encoding: 'utf8', timeout: 20000 });
  rmSync(pin, { recursive: true, force: true });
  const out: LibbpfPatch[] = [];
  for (const line of r.stderr.split('\n')) {
    const p = PATCHED.exec(line);
    if (p) {
      out.push({ prog: p[1]!, insn: Number(p[2]), what: p[3] as LibbpfPatch['what'], value: BigInt(p[5]!) });
      continue;
    }
    const q = POISONED.exec(line);
    // An lddw is substituted slot by slot; both slots are reported.
    if (q) out.push({ prog: q[1]!, insn: Number(q[2]), what: 'poison', value: 0n });
  }
  if (out.length === 0) return `libbpf reported no CO-RE patches (bpftool exit ${r.status}: ${r.stderr.split('\n').slice(-3).join(' ')})`;
  return out;
}

/** Apply one libbpf patch to a copy of the unrelocated stream, at every place the function was linked. */
function applyLibbpf(spec: ObjectSpec, streams: Map<string, Uint8Array>, patch: LibbpfPatch): number {
  let applied = 0;
  for (const p of spec.programs) {
    const bytes = streams.get(p.name)!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const f of p.functions) {
      if (f.name !== patch.prog) continue;
      const at = (f.insn + patch.insn) * 8;
      applied++;
      switch (patch.what) {
        case 'imm':
          view.setInt32(at + 4, Number(BigInt.asIntN(32, patch.value)), true);
          break;
        case 'off':
          view.setInt16(at + 2, Number(patch.value), true);
          break;
        case 'imm64':
          view.setUint32(at + 4, Number(patch.value & 0xffffffffn), true);
          view.setUint32(at + 12, Number(patch.value >> 32n), true);
          break;
        case 'mem_sz': {
          const size = ({ 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 } as Record<string, number>)[String(patch.value)]!;
          view.setUint8(at, (view.getUint8(at) & ~0x18) | size);
          break;
        }
        case 'poison':
          view.setUint8(at, 0x85);
          view.setUint8(at + 1, 0);
          view.setInt16(at + 2, 0, true);
          view.setInt32(at + 4, CORE_POISON_IMM, true);
          break;
      }
    }
  }
  return applied;
}

for (const name of OBJECTS) {
  test(`CO-RE: ${name} relocated like libbpf does against the kernel's BTF`, (t) => {
    const file = FIXTURES + name;
    const patches = libbpfPatches(file);
    if (typeof patches === 'string') {
      t.skip(patches);
      return;
    }
    const bytes = new Uint8Array(readFileSync(file));
    const plain = loadObject(bytes, { file });
    const target = kernelBtf()!;
    const relocated = loadObject(bytes, { file, coreTarget: target });
    const expected = new Map(plain.programs.map((p) => [p.name, p.insns.slice()]));
    for (const patch of patches) assert.ok(applyLibbpf(plain, expected, patch) > 0, `libbpf patched ${patch.prog}, which tsbpf did not link anywhere`);
    let relocations = 0;
    for (const p of relocated.programs) {
      const want = expected.get(p.name)!;
      for (let i = 0; i < want.length; i += 8) {
        assert.deepEqual([...p.insns.subarray(i, i + 8)], [...want.subarray(i, i + 8)], `${p.name} instruction ${i / 8} differs from libbpf's`);
      }
      for (const r of p.coreRelos) {
        assert.ok(r.result, `${p.name}: relocation at ${r.insn} was not applied`);
        relocations++;
      }
    }
    assert.ok(relocations >= patches.length, `${relocations} relocations applied, libbpf made ${patches.length} patches`);
    t.diagnostic(`${relocations} relocations in ${relocated.programs.length} programs match libbpf's ${patches.length} patches`);
  });
}

test('CO-RE: the kernel accepts the relocated core_task programs and refuses the poisoned one', (t) => {
  const target = kernelBtf();
  if (!target) {
    t.skip('the kernel has no BTF (/sys/kernel/btf/vmlinux)');
    return;
  }
  const file = FIXTURES + 'core_task.o';
  const spec = loadObject(new Uint8Array(readFileSync(file)), { file, coreTarget: target });
  const results = kernelLoad(spec, spec.programs);
  if (typeof results === 'string') {
    t.skip(results);
    return;
  }
  const byName = new Map(results.map((r) => [r.name, r]));
  assert.equal(byName.get('core_kinds')?.ok, true, `core_kinds: ${byName.get('core_kinds')?.error} ${byName.get('core_kinds')?.log?.slice(-3).join(' | ')}`);
  assert.equal(byName.get('core_subfn')?.ok, true, `core_subfn: ${byName.get('core_subfn')?.error}`);
  const bad = byName.get('core_poisoned')!;
  assert.equal(bad.ok, false);
  assert.match(bad.log?.join('\n') ?? '', /invalid func unknown#195896080/);
});
