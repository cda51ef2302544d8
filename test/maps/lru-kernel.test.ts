// LRU eviction order against the running kernel: random sequences of
// updates (BPF_ANY, BPF_NOEXIST, BPF_EXIST) and deletes on small lru_hash
// maps, through bpftool pinned to CPU 0 (taskset) and through MapTable with
// as many CPUs as the kernel has possible CPUs (user-space operations count
// as CPU 0). Every step's outcome and the final key set must agree: the
// kernel's common LRU (local free and pending lists, active/inactive
// rotation, target_free refills) is reproduced in src/maps/lru.ts. Needs
// root, bpftool and taskset; skips with a message otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { MapError } from '../../src/maps/errno.js';

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0) return 'needs taskset';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs at /sys/fs/bpf';
  return undefined;
}
const SKIP = skipReason();

function possibleCpus(): number {
  const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let n = 0;
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

/** One bpftool command on CPU 0; the outcome as "ok" or "errno:N". */
function kernel(args: string[]): string {
  const r = spawnSync('taskset', ['-c', '0', 'bpftool', ...args], { encoding: 'utf8' });
  if (r.status === 0) return 'ok';
  const msg = r.stderr + r.stdout;
  if (msg.includes('File exists')) return 'errno:17';
  if (msg.includes('No such file or directory')) return 'errno:2';
  return `error: ${msg.trim()}`;
}

/** A small deterministic generator (xorshift32), so a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const keyArgs = (k: number): string[] => [String(k & 0xff), String((k >> 8) & 0xff), '0', '0'];

test('lru_hash evicts the keys the kernel evicts (random update/delete sequences, CPU 0)', { skip: SKIP }, () => {
  const cpus = possibleCpus();
  for (const [seed, entries, keys, steps] of [
    [1, 8, 24, 60],
    [2, 5, 12, 50],
    [3, 16, 40, 70],
  ] as const) {
    const pin = `/sys/fs/bpf/tsbpf_lru_${process.pid}_${seed}`;
    const table = new MapTable(new RuntimeMemory({ maxBytes: 16 << 20 }), { cpus });
    const ours = table.create({ name: 'lru', type: 'lru_hash', keySize: 4, valueSize: 4, maxEntries: entries });
    assert.equal(kernel(['map', 'create', pin, 'type', 'lru_hash', 'key', '4', 'value', '4', 'entries', String(entries), 'name', 'tsbpf_lru']), 'ok');
    try {
      const next = rng(seed);
      for (let i = 0; i < steps; i++) {
        const k = 1 + Math.floor(next() * keys);
        const kb = Uint8Array.of(k & 0xff, (k >> 8) & 0xff, 0, 0);
        const r = next();
        const [op, flag] = r < 0.15 ? ['delete', ''] : r < 0.25 ? ['update', 'noexist'] : r < 0.32 ? ['update', 'exist'] : ['update', 'any'];
        const theirs =
          op === 'delete'
            ? kernel(['map', 'delete', 'pinned', pin, 'key', ...keyArgs(k)])
            : kernel(['map', 'update', 'pinned', pin, 'key', ...keyArgs(k), 'value', '1', '2', '3', '4', flag]);
        let mine = 'ok';
        try {
          if (op === 'delete') ours.delete(kb);
          else ours.update(kb, Uint8Array.of(1, 2, 3, 4), flag === 'noexist' ? 1 : flag === 'exist' ? 2 : 0);
        } catch (e) {
          if (!(e instanceof MapError)) throw e;
          mine = `errno:${e.errno}`;
        }
        assert.equal(mine, theirs, `seed ${seed} step ${i}: ${op} ${k} ${flag}`);
      }
      const dump = spawnSync('bpftool', ['-j', 'map', 'dump', 'pinned', pin], { encoding: 'utf8' });
      const kernelKeys = (JSON.parse(dump.stdout) as { key: string[] }[]).map((e) => Number(e.key[0]) + 256 * Number(e.key[1])).sort((a, b) => a - b);
      const ourKeys = [...ours.keys()].map((b) => b[0]! + 256 * b[1]!).sort((a, b) => a - b);
      assert.deepEqual(ourKeys, kernelKeys, `seed ${seed}: the keys left`);
    } finally {
      rmSync(pin, { force: true });
    }
  }
});
