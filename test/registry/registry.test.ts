// The registry of one runtime: programs (ids, tags, map ids, run stats),
// maps (BTF-formatted dumps, lookups, updates), links; and the inspection
// endpoint: socket permissions, the CLI verbs in this process and against
// another Node process.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { attachObject, declareChannel, probe } from '../../src/attach/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { Registry, RegistryError } from '../../src/registry/registry.js';
import { serveInspection } from '../../src/registry/endpoint.js';
import { request, traceLines, RemoteError } from '../../src/registry/client.js';
import { programTag } from '../../src/registry/tag.js';
import { listSockets } from '../../src/registry/socket-dir.js';
import { prog } from '../../src/cli/prog.js';
import { map } from '../../src/cli/map.js';
import { link } from '../../src/cli/link.js';
import type { Io } from '../../src/cli/command.js';
import type { LinkInfo, ProgInfo } from '../../src/registry/protocol.js';
import { ROOT } from '../paths.js';

const EXAMPLES = join(ROOT, 'examples', 'trace');

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(stats = false): { rt: Runtime; reg: Registry } {
  const rt = new Runtime();
  const reg = new Registry(rt, { stats });
  const netif = reg.loadObject(readFileSync(join(EXAMPLES, 'netif_rcv.o')), { file: 'netif_rcv.o' });
  const name = new Uint8Array(16);
  name.set(new TextEncoder().encode('lo'));
  netif.map('dev_filter').update(new Uint8Array(4), name);
  const drop = reg.loadObject(readFileSync(join(EXAMPLES, 'dropmon.o')), { file: 'dropmon.o' });
  declareChannel('net:netif_receive_skb');
  probe.define('skb:kfree_skb');
  const a = attachObject(netif, { sink: reg });
  const b = attachObject(drop, { sink: reg });
  cleanups.push(() => {
    a.detach();
    b.detach();
    rt.dispose();
  });
  return { rt, reg };
}

function events(n: number): void {
  const ch = declareChannel('net:netif_receive_skb');
  const kfree = probe.define('skb:kfree_skb');
  for (let i = 0; i < n; i++) {
    ch.publish({ dev: i % 2 ? 'lo' : 'eth0', len: 100 + i, protocol: 0x800 });
    kfree.fire({ location: i % 3 ? 'ip_rcv' : 'tcp_v4_rcv', len: 60 });
  }
}

function capture(): Io & { text: () => string; errText: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => (out += t.endsWith('\n') ? t : t + '\n'),
    err: (t) => (err += t.endsWith('\n') ? t : t + '\n'),
    readStdin: async () => new Uint8Array(0),
    text: () => out,
    errText: () => err,
  };
}

test('programs: ids, types, tags, map ids, load time; run stats only while enabled', () => {
  const { reg } = setup();
  events(4);
  const progs = reg.programs();
  assert.deepEqual(progs.map((p) => [p.name, p.type, p.section, p.file]), [
    ['netif_rcv', 'tracepoint', 'tracepoint/net:netif_receive_skb', 'netif_rcv.o'],
    ['dropmon', 'kprobe', 'usdt/skb:kfree_skb', 'dropmon.o'],
  ]);
  const netif = progs[0]!;
  assert.equal(netif.tag, programTag(reg.runtime.program(netif.id)!.spec.insns));
  assert.match(netif.tag, /^[0-9a-f]{16}$/);
  assert.deepEqual(netif.mapIds.map((id) => reg.maps().find((m) => m.id === id)!.name).sort(), ['.rodata', 'dev_filter']);
  assert.ok(Math.abs(netif.loadedAt - Date.now()) < 60_000);
  assert.equal(netif.runCnt, 0, 'no stats until enabled');
  reg.enableStats(true);
  events(3);
  const after = reg.program(netif.id);
  assert.equal(after.runCnt, 3);
  assert.ok(after.runTimeNs > 0);
  assert.throws(() => reg.program(999), RegistryError);
});

test('links: per-link events, drops and faults; detached links leave the list', () => {
  const { reg } = setup();
  events(5);
  const links = reg.links();
  assert.deepEqual(links.map((l) => [l.type, l.target, l.progName, l.events, l.drops]), [
    ['tracepoint', 'net:netif_receive_skb', 'netif_rcv', 5, 0],
    ['usdt', 'skb:kfree_skb', 'dropmon', 5, 0],
  ]);
  assert.deepEqual(reg.program(links[0]!.progId).linkIds, [links[0]!.id]);
});

test("a program's run totals outlive its detached links", () => {
  const rt = new Runtime();
  const reg = new Registry(rt, { stats: true });
  const coll = reg.loadObject(readFileSync(join(EXAMPLES, 'dropmon.o')), { file: 'dropmon.o' });
  const kfree = probe.define('skb:kfree_skb');
  const first = attachObject(coll, { sink: reg });
  kfree.fire({ location: 'a' });
  kfree.fire({ location: 'b' });
  first.detach();
  assert.deepEqual(reg.links(), []);
  const second = attachObject(coll, { sink: reg });
  kfree.fire({ location: 'c' });
  const p = reg.programs()[0]!;
  assert.equal(p.runCnt, 3);
  assert.equal(p.linkIds.length, 1);
  second.detach();
  rt.dispose();
});

test('maps: BTF-formatted dump, lookup, update, delete, and clear errors', () => {
  const { reg } = setup();
  events(6);
  const dump = reg.mapDump({ name: 'drops' });
  assert.equal(dump.map.btf, true);
  const counts = Object.fromEntries(dump.entries.map((e) => [JSON.parse(e.formatted!.key).location, Number(e.formatted!.value)]));
  assert.deepEqual(counts, { ip_rcv: 4, tcp_v4_rcv: 2 });
  const key = '00000000';
  assert.equal(JSON.parse(reg.mapLookup({ name: 'dev_filter' }, key).entry!.formatted!.value), 'lo');
  reg.mapUpdate({ name: 'dev_filter' }, key, Buffer.from('eth0'.padEnd(16, '\0')).toString('hex'));
  assert.equal(JSON.parse(reg.mapLookup({ name: 'dev_filter' }, key).entry!.formatted!.value), 'eth0');
  const k = dump.entries[0]!.key;
  reg.mapDelete({ name: 'drops' }, k);
  assert.equal(reg.mapLookup({ name: 'drops' }, k).entry, null);
  assert.throws(() => reg.mapLookup({ name: 'drops' }, '00'), /key is 1 bytes; the map's key size is 32/);
  assert.throws(() => reg.mapLookup({ name: 'drops' }, 'zz'), /not hex/);
  assert.throws(() => reg.findMap({ id: 4242 }), /no map with id 4242/);
});

test('endpoint: a 0600 socket in a 0700 directory; the CLI verbs against it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-test-'));
  const sockDir = join(dir, 'sock');
  process.env.TSBPF_SOCKET_DIR = sockDir;
  const { rt, reg } = setup();
  const server = await serveInspection(reg);
  try {
    assert.equal(statSync(sockDir).mode & 0o777, 0o700);
    assert.equal(statSync(server.path).mode & 0o777, 0o600);
    assert.deepEqual(listSockets(sockDir).map((s) => s.pid), [process.pid]);
    await assert.rejects(serveInspection(reg), /already serves/);
    events(4);

    let io = capture();
    assert.equal(await prog.run(['list'], io), 0);
    assert.match(io.text(), /^\d+: tracepoint {2}name netif_rcv {2}tag [0-9a-f]{16} {2}gpl\n\tloaded_at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000 {2}uid \d+\n\txlated \d+B {2}map_ids \d+,\d+\n/);
    io = capture();
    await prog.run(['list', '--json'], io);
    const progs = JSON.parse(io.text()) as Record<string, unknown>[];
    assert.deepEqual(progs.map((p) => p.name), ['netif_rcv', 'dropmon']);
    assert.equal(progs[0]!.gpl_compatible, true);

    io = capture();
    await map.run(['dump', 'name', 'drops'], io);
    assert.match(io.text(), /"location": "ip_rcv"\n {4}\},\n {4}"value": 2/);
    io = capture();
    await map.run(['lookup', 'name', 'dev_filter', 'key', '0', '0', '0', '0', '--json'], io);
    assert.equal(JSON.parse(io.text()).formatted.value, 'lo');
    io = capture();
    assert.equal(await map.run(['update', 'name', 'dev_filter', 'key', 'hex', '00000000', 'value', 'hex', Buffer.from('eth0'.padEnd(16, '\0')).toString('hex')], io), 0);
    events(2); // eth0 is now the device that prints
    assert.match(rt.tracePipe.read(), /netif_rcv: dev eth0 len 100 proto 0x0800/);
    io = capture();
    assert.equal(await map.run(['lookup', 'name', 'drops', 'key', 'hex', '00'.repeat(32)], io), 1);
    assert.match(io.errText(), /key not found/);
    await assert.rejects(map.run(['dump', 'id', '999'], capture()), (e: unknown) => e instanceof RemoteError && /no map with id 999/.test(e.message));

    io = capture();
    await link.run(['list'], io);
    assert.match(io.text(), /^\d+: tracepoint {2}prog \d+ {2}channel net:netif_receive_skb\n\tprog_name netif_rcv {2}attached_at [^\n]+\n\tevents 6 {2}drops 0 {2}faults 0/);

    // stats switched on from the CLI reach the links
    await prog.run(['stats', 'on'], capture());
    events(1);
    const p = (await request(server.path, { op: 'prog.list' })) as ProgInfo[];
    assert.equal(p[0]!.runCnt, 1);
    const l = (await request(server.path, { op: 'link.list' })) as LinkInfo[];
    assert.equal(l[1]!.runCnt, 1);

    // trace pipe: lines written after the client connects arrive in order
    rt.tracePipe.read();
    const got: string[] = [];
    const reader = (async () => {
      for await (const line of traceLines(server.path)) {
        got.push(line);
        if (got.length === 2) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    declareChannel('net:netif_receive_skb').publish({ dev: 'eth0', len: 1, protocol: 1 });
    declareChannel('net:netif_receive_skb').publish({ dev: 'eth0', len: 2, protocol: 1 });
    await reader;
    assert.deepEqual(got.map((g) => g.replace(/^.*bpf_trace_printk: /, '').trim()), ['netif_rcv: dev eth0 len 1 proto 0x0001', 'netif_rcv: dev eth0 len 2 proto 0x0001']);

    // a malformed request gets an error line, not a crash
    await assert.rejects(request(server.path, { op: 'nonsense' } as never), /unknown operation 'nonsense'/);
  } finally {
    await server.close();
    delete process.env.TSBPF_SOCKET_DIR;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('endpoint: the CLI binary against another Node process (inspect_demo.mjs)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-test-'));
  const env = { ...process.env, TSBPF_SOCKET_DIR: join(dir, 'sock') };
  const child = spawn(process.execPath, [join(EXAMPLES, 'inspect_demo.mjs'), '20'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`inspect_demo exited (${code}) before it served`)));
    });
    const cli = (...args: string[]): Promise<{ stdout: string }> => promisify(execFile)(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { env, timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 400)); // a few events
    const progs = JSON.parse((await cli('prog', 'list', '--pid', String(pid), '--json')).stdout) as { name: string; run_cnt: number }[];
    assert.deepEqual(progs.map((p) => p.name), ['netif_rcv', 'dropmon']);
    assert.ok(progs[0]!.run_cnt > 0, 'the demo runs with stats on');
    const dump = JSON.parse((await cli('map', 'dump', 'name', 'drops', '--json')).stdout) as { formatted: { key: { location: string }; value: number } }[];
    assert.ok(dump.length > 0 && dump.every((e) => e.formatted.value > 0));
    const trace = (await cli('trace-pipe', '--pid', String(pid), '--lines', '2')).stdout.trim().split('\n');
    assert.equal(trace.length, 2);
    assert.ok(trace.every((l) => /bpf_trace_printk: netif_rcv: dev lo len \d+ proto 0x0800$/.test(l)));
    await assert.rejects(cli('prog', 'list', '--pid', '1'), /process 1 has no inspection socket/);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
