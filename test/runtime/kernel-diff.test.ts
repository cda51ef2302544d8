// The kernel as oracle: every XDP, tc and socket-filter program of the
// committed example objects runs over the same packets in tsbpf
// (Runtime + testRun, on the interpreter and the JIT) and in the kernel
// (bpftool prog loadall + prog run), and the return values, data_out and map
// contents (bpftool map dump, by the programs' map ids) must be identical.
// Needs root, bpftool and bpffs; skips with a message otherwise. Objects the
// kernel's libbpf refuses to load are skipped with its message; pins are
// always removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadObject } from '../../src/elf/load.js';
import { parseCapture } from '../../src/pcap/reader.js';
import { TestRunError } from '../../src/progtypes/errors.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { LoadError } from '../../src/runtime/errors.js';
import type { Collection } from '../../src/runtime/collection.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENGINES = ['interp', 'jit'] as const;
/** Programs the kernel loads and tsbpf's verifier still rejects ("dir/file.o program" per line); this list may only shrink. */
const VERIFIER_KNOWN = new Set(
  readFileSync(join(ROOT, 'test', 'runtime', 'verifier-known-divergences.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== ''),
);
const KERNEL_TYPES = new Set(['xdp', 'sched_cls', 'sched_act', 'socket_filter']);
/** Maps whose contents are compared; per-CPU maps compare keys only (the kernel has more CPUs). */
const COMPARED_MAPS = new Set(['hash', 'array', 'lru_hash', 'lpm_trie', 'percpu_array', 'percpu_hash', 'lru_percpu_hash']);

function kernelSkip(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs at /sys/fs/bpf';
  return undefined;
}
const SKIP = kernelSkip();

function objects(): string[] {
  const dirs = [join(ROOT, 'examples'), join(ROOT, 'examples', 'xdp'), join(ROOT, 'test', 'fixtures', 'bench'), join(ROOT, 'test', 'fixtures', 'pcap-runtime')];
  return dirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.o') && !f.includes('bpfeb')).sort().map((f) => join(d, f)) : []));
}

/** Packets: frames of the bundled capture (TCP, UDP, ICMP, ARP, IPv6, truncated) and 16-byte frames whose first byte picks adjust.c's operation. */
function packets(): Uint8Array[] {
  const cap = readFileSync(join(ROOT, 'examples', 'xdp', 'flows.pcap'));
  const frames = [...parseCapture(new Uint8Array(cap), { copy: true })].map((r) => r.data);
  const picked = [0, 3, 7, 11, 13, 15, 16, 17, 18].map((i) => frames[i]!).filter((f) => f !== undefined);
  for (let op = 0; op <= 6; op++) picked.push(Uint8Array.from([op, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00, 0x45, 0x00]));
  // IPv4/UDP frames of 90 bytes with IP ids 0..7 (resize.c's room picks its case by the id)
  for (let id = 0; id < 8; id++) {
    const f = new Uint8Array(90).map((_, i) => (i * 7 + id) & 0xff);
    f.set([0x08, 0x00, 0x45, 0, 0, 76, 0, id, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 12);
    picked.push(f);
  }
  // VLAN-tagged frames (802.1Q, and 802.1ad over 802.1Q): byte 6 picks resize.c's vlan case (5 and 6 pop)
  for (const [sel, tags] of [[5, [0x8100, 0x0007]], [6, [0x88a8, 0x0064, 0x8100, 0x0007]], [6, [0x8100, 0x0bad]]] as const) {
    const head = [0, 0, 0, 0, 0, 2, sel, 0, 0, 0, 0, 1, ...tags.flatMap((v) => [v >> 8, v & 0xff])];
    const ip = [0x08, 0x00, 0x45, 0, 0, 40, 0, 9, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
    picked.push(Uint8Array.from([...head, ...ip, ...new Array(20).fill(0x5a)]));
  }
  return picked;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type Outcome = { retval: number; dataOut: string } | { errno: number };

const STRERROR: Record<string, number> = { 'Invalid argument': 22, 'Argument list too long': 7, 'Operation not supported': 95, 'Bad address': 14 };

function kernelRun(pin: string, data: Uint8Array, dir: string): Outcome {
  const inFile = join(dir, 'in.bin');
  const outFile = join(dir, 'out.bin');
  writeFileSync(inFile, data);
  rmSync(outFile, { force: true });
  const r = run('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', inFile, 'data_out', outFile, 'repeat', '1']);
  const m = /Return value: (\d+)/.exec(r.stdout + r.stderr);
  const err = /failed to run program: (.*)/.exec(r.stderr);
  if (m === null && err !== null && STRERROR[err[1]!.trim()] !== undefined) return { errno: STRERROR[err[1]!.trim()]! };
  if (r.status !== 0 || m === null) throw new Error(`bpftool prog run ${pin}: ${r.stderr.trim() || r.stdout.trim()}`);
  return { retval: Number(m[1]), dataOut: existsSync(outFile) ? hex(readFileSync(outFile)) : '' };
}

/** The kernel's maps of the pinned programs by name, as ids (map show gives the kernel's names: 'globals.bss' for .bss). */
function kernelMapIds(progPins: string[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const pin of progPins) {
    const r = run('bpftool', ['-j', 'prog', 'show', 'pinned', pin]);
    if (r.status !== 0) throw new Error(`bpftool prog show ${pin}: ${r.stderr.trim()}`);
    for (const id of (JSON.parse(r.stdout) as { map_ids?: number[] }).map_ids ?? []) {
      const m = run('bpftool', ['-j', 'map', 'show', 'id', String(id)]);
      ids.set((JSON.parse(m.stdout) as { name: string }).name, id);
    }
  }
  return ids;
}

/** Our map's kernel id: same name, or for global data (.bss) the kernel's object-prefixed name. */
function kernelIdOf(ids: Map<string, number>, name: string): number | undefined {
  if (ids.has(name)) return ids.get(name);
  if (!name.startsWith('.')) return undefined;
  for (const [k, id] of ids) if (k.endsWith(name)) return id;
  return undefined;
}

/** bpftool's map dump as sorted "key=value" lines (keys only for per-CPU maps). */
function kernelDump(id: number, keysOnly: boolean): string[] {
  const r = run('bpftool', ['-j', 'map', 'dump', 'id', String(id)]);
  if (r.status !== 0) throw new Error(`bpftool map dump id ${id}: ${r.stderr.trim()}`);
  const rows = JSON.parse(r.stdout) as { key: string[]; value?: string[] }[];
  const b = (xs: string[]): string => xs.map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  return rows.map((e) => (keysOnly || e.value === undefined ? b(e.key) : `${b(e.key)}=${b(e.value)}`)).sort();
}

function ourDump(coll: Collection, name: string, keysOnly: boolean): string[] {
  return [...coll.map(name).entries()].map(([k, v]) => (keysOnly ? hex(k) : `${hex(k)}=${hex(v)}`)).sort();
}

for (const obj of objects()) {
  const label = `${basename(join(obj, '..'))}/${basename(obj)}`;
  test(`kernel vs tsbpf: ${label}`, { skip: SKIP }, (t) => {
    const spec = loadObject(new Uint8Array(readFileSync(obj)), { file: obj });
    const progs = spec.programs.filter((p) => KERNEL_TYPES.has(p.type));
    if (progs.length === 0) return t.skip('no xdp, tc or socket filter programs');
    const work = mkdtempSync(join(tmpdir(), 'tsbpf-kdiff-'));
    const tag = `tsbpf-kdiff-${process.pid}-${basename(obj, '.o').replace(/\W/g, '_')}`;
    const progDir = `/sys/fs/bpf/${tag}`;
    // maps pinned by name (LIBBPF_PIN_BY_NAME) go to /sys/fs/bpf/NAME: remove those this test creates
    const byName = spec.maps.filter((m) => m.pinning === 1).map((m) => `/sys/fs/bpf/${m.name}`).filter((p) => !existsSync(p));
    const extraPins: string[] = [];
    const preexisting = spec.maps.filter((m) => m.pinning === 1 && existsSync(`/sys/fs/bpf/${m.name}`)).map((m) => m.name);
    try {
      const load = run('bpftool', ['prog', 'loadall', obj, progDir]);
      if (load.status !== 0) {
        const why = load.stderr.split('\n').filter((l) => l.startsWith('libbpf:') || l.startsWith('Error')).slice(-2).join(' / ');
        return t.skip(`the kernel does not load it: ${why}`);
      }
      const missing = progs.filter((p) => !existsSync(join(progDir, p.name))).map((p) => p.name);
      if (missing.length > 0) return t.skip(`the kernel's libbpf loaded no program named ${missing.join(', ')} (its symbols are not functions to libbpf)`);
      // the kernel accepted every program: so must tsbpf's verifier, except for the committed known divergences
      for (const p of progs) {
        const key = `${label} ${p.name}`;
        let rejected: string | undefined;
        try {
          new Runtime({ verify: true }).loadObject(spec, { programs: [p.name] }).close();
        } catch (e) {
          if (!(e instanceof LoadError)) throw e;
          rejected = e.message;
        }
        if (rejected !== undefined) assert.ok(VERIFIER_KNOWN.has(key), `the verifier rejects ${key}, which the kernel loads: ${rejected}`);
        else assert.ok(!VERIFIER_KNOWN.has(key), `the verifier now accepts ${key}: delete its line from test/runtime/verifier-known-divergences.txt`);
      }
      // one runtime per engine; each must match the kernel on its own
      const runtimes = ENGINES.map((engine) => new Runtime({ engine }));
      const colls = runtimes.map((rt) => rt.loadObject(spec, { programs: progs.map((p) => p.name) }));
      const kernelMaps = kernelMapIds(progs.map((p) => join(progDir, p.name)));
      // prog_array slots from the object: the kernel empties a prog_array when its last user-space
      // reference goes (bpftool exits), so pin it first, then fill the slots as libbpf does
      for (const m of spec.maps) {
        const id = kernelIdOf(kernelMaps, m.name);
        if (id === undefined || m.type !== 'prog_array') continue;
        const pin = `${progDir}-${m.name}`;
        extraPins.push(pin);
        assert.equal(run('bpftool', ['map', 'pin', 'id', String(id), pin]).status, 0, `bpftool map pin ${m.name}`);
        for (const iv of m.initValues ?? []) {
          if (iv.program === undefined || !existsSync(join(progDir, iv.program))) continue;
          const key = [iv.index & 255, (iv.index >> 8) & 255, 0, 0].map(String);
          const r = run('bpftool', ['map', 'update', 'pinned', pin, 'key', ...key, 'value', 'pinned', join(progDir, iv.program)]);
          assert.equal(r.status, 0, `bpftool map update of prog_array ${m.name}: ${r.stderr}`);
        }
      }
      const pkts = packets();
      for (const p of progs) {
        for (const [i, pkt] of pkts.entries()) {
          const k = kernelRun(join(progDir, p.name), pkt, work);
          colls.forEach((coll, e) => {
            let ours: Outcome;
            try {
              const r = coll.program(p.name).testRun({ dataIn: pkt });
              ours = { retval: r.retval, dataOut: hex(r.dataOut) };
            } catch (err) {
              if (!(err instanceof TestRunError)) throw err;
              ours = { errno: err.errno };
            }
            assert.deepEqual(ours, k, `${p.name} on ${ENGINES[e]}, packet ${i} (${hex(pkt).slice(0, 40)}...)`);
          });
        }
        for (const [e, coll] of colls.entries()) for (const [name, map] of coll.maps) {
          if (!COMPARED_MAPS.has(map.typeName)) continue;
          const id = kernelIdOf(kernelMaps, name);
          // a map no loaded program uses is not in any program's map_ids; a map pinned by name
          // before this test may hold other runs' entries
          if (id === undefined || preexisting.includes(name)) continue;
          const keysOnly = map.typeName.includes('percpu');
          assert.deepEqual(ourDump(coll, name, keysOnly), kernelDump(id, keysOnly), `map ${name} after ${p.name} on ${ENGINES[e]}`);
        }
      }
      for (const rt of runtimes) rt.dispose();
    } finally {
      rmSync(progDir, { recursive: true, force: true });
      for (const pin of [...byName, ...extraPins]) rmSync(pin, { force: true });
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/** ctx_in / ctx_out: the same contexts handed to the kernel and to tsbpf. */
test('kernel vs tsbpf: ctx_in and ctx_out (__sk_buff, xdp_md)', { skip: SKIP }, () => {
  const obj = join(ROOT, 'test', 'fixtures', 'pcap-runtime', 'ctx_fields.o');
  const spec = loadObject(new Uint8Array(readFileSync(obj)), { file: obj });
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-kdiff-'));
  const progDir = `/sys/fs/bpf/tsbpf-kdiff-ctx-${process.pid}`;
  const pkt = packets()[1]!; // an HTTP request frame
  const skb = new Uint8Array(192);
  const sdv = new DataView(skb.buffer);
  sdv.setUint32(8, 5, true); // mark
  sdv.setUint32(32, 3, true); // priority
  sdv.setUint32(36, 9, true); // ingress_ifindex
  sdv.setUint32(48, 77, true); // cb[0]
  sdv.setUint32(160, pkt.length + 10, true); // wire_len
  sdv.setUint32(164, 2, true); // gso_segs
  const badSkb = skb.slice();
  badSkb[0] = 1; // len may not be set
  const md = (data: number, end: number, rxq = 0): Uint8Array => {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, data, true);
    dv.setUint32(4, end, true);
    dv.setUint32(16, rxq, true);
    return b;
  };
  const cases: { prog: string; ctx: Uint8Array; what: string }[] = [
    { prog: 'tc_fields', ctx: skb, what: 'tc, fields set' },
    { prog: 'sock_fields', ctx: skb, what: 'socket filter, fields set' },
    { prog: 'tc_fields', ctx: badSkb, what: 'tc, len set (EINVAL)' },
    { prog: 'xdp_fields', ctx: md(8, pkt.length), what: 'xdp, 8 bytes of metadata' },
    { prog: 'xdp_fields', ctx: md(6, pkt.length), what: 'xdp, metadata not a multiple of 4 (EINVAL)' },
    { prog: 'xdp_fields', ctx: md(0, pkt.length - 1), what: 'xdp, data_end one short: the last byte becomes a fragment' },
    { prog: 'xdp_fields', ctx: md(0, pkt.length, 1), what: 'xdp, rx queue 1 (EINVAL)' },
    { prog: 'xdp_mb', ctx: md(0, 40), what: 'xdp.frags, 40 linear bytes and the rest in a fragment' },
    { prog: 'xdp_mb', ctx: md(0, pkt.length), what: 'xdp.frags, all linear' },
  ];
  try {
    const load = run('bpftool', ['prog', 'loadall', obj, progDir]);
    assert.equal(load.status, 0, load.stderr);
    const rt = new Runtime();
    const coll = rt.loadObject(spec);
    for (const c of cases) {
      const ctxIn = join(work, 'ctx.bin');
      const ctxOut = join(work, 'ctx_out.bin');
      const dataIn = join(work, 'in.bin');
      writeFileSync(ctxIn, c.ctx);
      writeFileSync(dataIn, pkt);
      rmSync(ctxOut, { force: true });
      rmSync(join(work, 'out.bin'), { force: true });
      const r = run('bpftool', ['prog', 'run', 'pinned', join(progDir, c.prog), 'data_in', dataIn, 'data_out', join(work, 'out.bin'), 'ctx_in', ctxIn, 'ctx_out', ctxOut]);
      const m = /Return value: (\d+)/.exec(r.stdout);
      const err = /failed to run program: (.*)/.exec(r.stderr);
      const dataOut = join(work, 'out.bin');
      const kernel = m !== null ? { retval: Number(m[1]), ctxOut: existsSync(ctxOut) ? hex(readFileSync(ctxOut)) : '', dataOut: hex(readFileSync(dataOut)) } : { errno: STRERROR[err?.[1]?.trim() ?? ''] ?? -1 };
      let ours: typeof kernel;
      try {
        const res = coll.program(c.prog).testRun({ dataIn: pkt, ctxIn: c.ctx });
        ours = { retval: res.retval, ctxOut: hex(res.ctxOut ?? new Uint8Array(0)), dataOut: hex(res.dataOut) };
      } catch (e) {
        if (!(e instanceof TestRunError)) throw e;
        ours = { errno: e.errno };
      }
      assert.deepEqual(ours, kernel, c.what);
    }
    const id = kernelIdOf(kernelMapIds([join(progDir, 'tc_fields')]), 'fields')!;
    assert.deepEqual(ourDump(coll, 'fields', false), kernelDump(id, false), 'map fields');
    rt.dispose();
  } finally {
    rmSync(progDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});

/** repeat: the kernel runs the program again on the same frame; growth and map updates accumulate. */
test('kernel vs tsbpf: repeat keeps the frame and the maps between runs', { skip: SKIP }, () => {
  const obj = join(ROOT, 'examples', 'xdp', 'adjust.o');
  const work = mkdtempSync(join(tmpdir(), 'tsbpf-kdiff-'));
  const pin = `/sys/fs/bpf/tsbpf-kdiff-repeat-${process.pid}`;
  try {
    assert.equal(run('bpftool', ['prog', 'load', obj, pin]).status, 0);
    const coll = new Runtime().loadObject(new Uint8Array(readFileSync(obj)));
    for (const [op, repeat] of [[3, 3], [1, 2], [5, 4]] as const) {
      const pkt = Uint8Array.from([op, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
      const inFile = join(work, 'in.bin');
      const outFile = join(work, 'out.bin');
      writeFileSync(inFile, pkt);
      const r = run('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', inFile, 'data_out', outFile, 'repeat', String(repeat)]);
      const m = /Return value: (\d+)/.exec(r.stdout);
      assert.ok(m, r.stderr);
      const ours = coll.program('adjust').testRun({ dataIn: pkt, repeat });
      assert.deepEqual({ retval: ours.retval, dataOut: hex(ours.dataOut) }, { retval: Number(m[1]), dataOut: hex(readFileSync(outFile)) }, `op ${op} x${repeat}`);
    }
  } finally {
    rmSync(pin, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
