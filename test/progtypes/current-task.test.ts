// Current-task helpers and syscall contexts in test runs
// (test/fixtures/progtypes/current_task.c), against the running kernel's
// BPF_PROG_TEST_RUN when root: bpf_get_cgroup_classid is 0 in every program
// type (tc asks about the skb's task, the others about the current one,
// and neither is in a net_cls cgroup), and a syscall program reads and
// writes the caller's buffer; both run once (the kernel refuses repeat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import { TestRunError } from '../../src/progtypes/errors.js';
import { FIXTURES } from '../paths.js';

const FILE = join(FIXTURES, 'progtypes', 'current_task.o');
const EINVAL = 22;

/** The three u32s of struct args: x, y, sum. */
const args = (x: number, y: number): Uint8Array => new Uint8Array(new Uint32Array([x, y, 0]).buffer);

interface Run {
  readonly retval?: number;
  readonly ctx?: string;
  readonly errno?: number;
}

/** One test run per [program, data_in or ctx_in hex, repeat] through bpf(2): retval and the context after it, or the errno. */
const KERNEL_RUN_PY = `
import ctypes, json, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 160)
    r = libc.syscall(321, cmd, buf, 160)
    return r, ctypes.get_errno(), buf.raw
out = []
for pin, kind, data, repeat in json.loads(sys.stdin.read()):
    p = ctypes.create_string_buffer(pin.encode())
    fd, err, _ = bpf(7, struct.pack('<QII', ctypes.addressof(p), 0, 0))
    if fd < 0:
        out.append({'errno': err}); continue
    b = ctypes.create_string_buffer(bytes.fromhex(data), len(data) // 2)
    ptr, size = ctypes.addressof(b), len(data) // 2
    # prog_fd, retval, data_size_in, data_size_out, data_in, data_out, repeat, duration, ctx_size_in, ctx_size_out, ctx_in, ctx_out
    if kind == 'data':
        attr = struct.pack('<IIIIQQIIIIQQ', fd, 0, size, 0, ptr, 0, repeat, 0, 0, 0, 0, 0)
    else:
        attr = struct.pack('<IIIIQQIIIIQQ', fd, 0, 0, 0, 0, 0, repeat, 0, size, 0, ptr, 0)
    r, err, raw = bpf(10, attr)
    out.append({'errno': err} if r < 0 else {'retval': struct.unpack_from('<I', raw, 4)[0], 'ctx': b.raw.hex() if kind == 'ctx' else None})
print(json.dumps(out))
`;

type Case = readonly [prog: string, kind: 'data' | 'ctx', input: Uint8Array, repeat: number];

const CASES: readonly Case[] = [
  ['classid_raw_tp', 'ctx', new Uint8Array(16), 0],
  ['classid_raw_tp', 'ctx', new Uint8Array(16), 2],
  ['classid_tc', 'data', new Uint8Array(64), 1],
  ['sum_args', 'ctx', args(5, 37), 0],
  ['sum_args', 'ctx', args(5, 37), 2],
];

/** Expected from both: classid 0 (+7), the syscall buffer written back, repeat refused for raw_tp and syscall programs. */
const EXPECT: readonly Run[] = [
  { retval: 7 },
  { errno: EINVAL },
  { retval: 7 },
  { retval: 42, ctx: Buffer.from(new Uint32Array([5, 37, 42]).buffer).toString('hex') },
  { errno: EINVAL },
];

function ours(): Run[] {
  const rt = new Runtime();
  try {
    const coll = rt.loadObject(readFileSync(FILE), { file: FILE });
    return CASES.map(([prog, kind, input, repeat]) => {
      try {
        const r = coll.program(prog).testRun({ ...(kind === 'data' ? { dataIn: input } : { ctxIn: input }), repeat });
        return { retval: r.retval, ...(kind === 'ctx' && prog === 'sum_args' ? { ctx: Buffer.from(r.ctxOut!).toString('hex') } : {}) };
      } catch (e) {
        if (e instanceof TestRunError) return { errno: e.errno };
        throw e;
      }
    });
  } finally {
    rt.dispose();
  }
}

function kernel(): Run[] | string {
  if (process.getuid?.() !== 0) return 'needs root';
  if (spawnSync('bpftool', ['version']).status !== 0) return 'needs bpftool';
  if (!existsSync('/sys/fs/bpf')) return 'needs bpffs at /sys/fs/bpf';
  const pin = `/sys/fs/bpf/tsbpf-current-task-${process.pid}`;
  try {
    const load = spawnSync('bpftool', ['prog', 'loadall', FILE, pin], { encoding: 'utf8' });
    if (load.status !== 0) return `bpftool prog loadall: ${load.stderr.trim()}`;
    const input = JSON.stringify(CASES.map(([prog, kind, bytes, repeat]) => [join(pin, prog), kind, Buffer.from(bytes).toString('hex'), repeat]));
    const r = spawnSync('python3', ['-c', KERNEL_RUN_PY], { input, encoding: 'utf8' });
    if (r.status !== 0) return `python3: ${r.stderr.trim()}`;
    const runs = JSON.parse(r.stdout) as { retval?: number; ctx?: string | null; errno?: number }[];
    return runs.map((k, i) => (k.errno !== undefined ? { errno: k.errno } : { retval: k.retval!, ...(CASES[i]![0] === 'sum_args' ? { ctx: k.ctx! } : {}) }));
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

test('current task: class id 0 everywhere, the syscall buffer read, written back, run once (tsbpf)', () => {
  assert.deepEqual(ours(), EXPECT);
});

test('current task: the kernel agrees (root with bpftool only)', (t) => {
  const k = kernel();
  if (typeof k === 'string') {
    t.skip(k);
    return;
  }
  assert.deepEqual(k, EXPECT);
});
