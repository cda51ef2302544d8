// Programs compiled by clang (test/attach/fixtures/probes.o, examples/trace/*.o)
// attached to real probe points: JavaScript functions, static probes,
// application channels and Node's own http channels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';
import type { Collection } from '../../src/runtime/collection.js';
import { attachObject, attachProgram, declareChannel, probe, AttachError, objectId, type FaultReport } from '../../src/attach/index.js';
import { ROOT } from '../paths.js';

const PROBES = join(ROOT, 'test', 'attach', 'fixtures', 'probes.o');
const EXAMPLES = join(ROOT, 'examples', 'trace');

function load(file: string, engine = 'interp'): { rt: Runtime; coll: Collection } {
  // probes.o has programs that fault on purpose (the verifier would refuse them): it opts out; the examples are verified.
  const rt = new Runtime({ engine, verify: file !== PROBES });
  return { rt, coll: rt.loadObject(readFileSync(file), { file }) };
}

const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
const i64 = (v: bigint): Uint8Array => new Uint8Array(new BigInt64Array([v]).buffer);
const readI64 = (b: Uint8Array | undefined): bigint | undefined => (b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getBigInt64(0, true));

for (const engine of ['interp', 'jit']) {
  test(`function probes count calls by argument and sum return values (${engine})`, () => {
    const { coll } = load(PROBES, engine);
    const calc = { add: (a: number, b: number): number => a + b };
    const original = calc.add;
    const opts = { functions: { calc }, btf: coll.btf };
    const links = [attachProgram(coll.program('count_add'), opts), attachProgram(coll.program('sum_ret'), opts), attachProgram(coll.program('add_regs'), opts)];
    assert.notEqual(calc.add, original);
    assert.equal(calc.add.name, 'add');
    let expect = 0;
    for (let i = 0; i < 10; i++) {
      assert.equal(calc.add(i % 3, 100 + i), (i % 3) + 100 + i);
      expect += (i % 3) + 100 + i;
    }
    const calls = coll.map('calls');
    assert.equal(readI64(calls.lookup(i64(0n))), 4n);
    assert.equal(readI64(calls.lookup(i64(1n))), 3n);
    assert.equal(readI64(calls.lookup(i64(2n))), 3n);
    assert.equal(readI64(coll.map('totals').lookup(u32(0))), BigInt(expect));
    // BPF_KPROBE's PT_REGS_PARM2: the second argument, through struct pt_regs
    assert.equal(readI64(coll.map('totals').lookup(u32(2))), BigInt(10 * 100 + 45));
    for (const l of links) {
      assert.equal(l.stats.events, 10);
      assert.equal(l.stats.drops, 0);
      l.detach();
    }
    assert.equal(calc.add, original, 'detaching the last link restores the function');
  });
}

test('a return probe sees a throw; the exception still reaches the caller', () => {
  const { coll } = load(PROBES);
  const calc = {
    add(a: number): number {
      if (a < 0) throw new RangeError('negative');
      return a;
    },
  };
  const link = attachProgram(coll.program('sum_ret'), { functions: { calc }, btf: coll.btf });
  assert.throws(() => calc.add(-1), RangeError);
  calc.add(5);
  assert.equal(readI64(coll.map('totals').lookup(u32(1))), 1n);
  assert.equal(readI64(coll.map('totals').lookup(u32(0))), 5n);
  link.detach();
});

test('static probe fields are laid out by the program\'s struct (strings, bools, doubles, nested, arrays, identities, lengths)', () => {
  const { coll } = load(PROBES);
  const query = probe.define('test:query');
  assert.equal(query.enabled, false);
  query.fire({ table: 'ignored' }); // nothing attached: nothing runs
  // libbpf's usdt/BINARY:PROVIDER:NAME names the same probe
  attachProgram(coll.program('on_query'), { btf: coll.btf, point: { kind: 'usdt', target: '/usr/bin/node:test:query' } }).detach();
  const link = attachProgram(coll.program('on_query'), { btf: coll.btf });
  assert.equal(query.enabled, true);
  const conn = { port: 5432 };
  query.fire({ table: 'users_with_long_name', rows: 42, delta: -5, slow: true, ms: 1.5, pair: { a: 7, b: -2 }, ids: [1, 2, 3, 4], conn, raw: new Uint8Array([9, 8, 7, 6, 5]) });
  const v = coll.typedMap('last_query').lookup(0) as Record<string, unknown>;
  assert.equal(v.table, 'users_with_long');
  assert.equal(v.rows, 42);
  assert.equal(v.table_len, 20);
  assert.equal(v.delta, -5);
  assert.equal(v.slow, true);
  assert.equal(v.ms, 1.5);
  assert.deepEqual(v.pair, { a: 7, b: -2 });
  assert.deepEqual(v.ids, [1, 2, 3]);
  assert.equal(v.conn, objectId(conn));
  assert.equal(v.missing, 0);
  assert.deepEqual(v.raw, [9, 8, 7, 6]);
  assert.equal(v.conn__port, 5432);
  // the context is cleared between events
  probe.fire('test:query', { rows: 1 });
  const w = coll.typedMap('last_query').lookup(0) as Record<string, unknown>;
  assert.equal(w.table, '');
  assert.equal(w.rows, 1);
  assert.equal(w.slow, false);
  link.detach();
  assert.equal(query.enabled, false);
  assert.equal(link.stats.events, 2);
});

test('tracepoint on an application channel: only matching events reach the trace pipe', () => {
  const { rt, coll } = load(PROBES);
  const ch = declareChannel('test:events');
  assert.equal(ch.hasSubscribers, false);
  const link = attachProgram(coll.program('on_event'), { btf: coll.btf });
  assert.equal(ch.hasSubscribers, true);
  ch.publish({ name: 'ok', status: 200 });
  ch.publish({ name: 'missing', status: 404 });
  ch.publish({ name: 'boom', status: 503 });
  const lines = rt.tracePipe.readEntries().map((e) => e.message);
  assert.deepEqual(lines, ['event missing status 404', 'event boom status 503']);
  link.detach();
  assert.equal(ch.hasSubscribers, false, 'detach unsubscribes');
  ch.publish({ name: 'late', status: 500 });
  assert.equal(rt.tracePipe.read(), '');
});

test("Node's http.server.response.finish channel: status, method, url and url length", async () => {
  const { coll } = load(PROBES);
  const link = attachProgram(coll.program('http_done'), { btf: coll.btf });
  const server = http.createServer((_req, res) => {
    res.statusCode = 418;
    res.end();
  });
  try {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve, reject) => {
      http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/teapot?x=1' }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
    });
    // the finish event comes after the client has its answer; give it a turn
    for (let i = 0; i < 50 && link.stats.events === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const v = coll.typedMap('last_http').lookup(0) as Record<string, unknown>;
    assert.deepEqual(v, { status: 418, method: 'PUT', url: '/teapot?x=1', url_len: 11 });
  } finally {
    link.detach();
    server.close();
  }
});

for (const engine of ['interp', 'jit']) {
  test(`a faulting program drops the event, reports once with pc and source line, and the host goes on (${engine})`, () => {
    const { coll } = load(PROBES, engine);
    const calc = { bad: (p: number): number => p * 2 };
    const reports: FaultReport[] = [];
    const link = attachProgram(coll.program('deref'), { functions: { calc }, btf: coll.btf, onFault: (r) => reports.push(r) });
    assert.equal(calc.bad(16), 32);
    assert.equal(calc.bad(24), 48);
    assert.equal(link.stats.faults, 2);
    assert.equal(link.stats.drops, 2);
    assert.equal(reports.length, 1, 'reported once');
    const r = reports[0]!;
    assert.equal(typeof r.pc, 'number');
    assert.match(r.sourceLine ?? '', /probes\.c:\d+: return \*\(volatile long \*\)ctx->arg1;/);
    assert.match(r.message, /program deref attached to uprobe\/calc\.bad faulted at pc \d+ .*invalid read of 8 bytes at 0x10/);
    link.detach();
  });

  test(`a runaway program is stopped by the per-event budget (${engine})`, () => {
    const { coll } = load(PROBES, engine);
    const calc = { spin: (n: number): number => n };
    const reports: FaultReport[] = [];
    const link = attachProgram(coll.program('spin'), { functions: { calc }, btf: coll.btf, budget: 10_000, onFault: (r) => reports.push(r) });
    assert.equal(calc.spin(10), 10);
    assert.equal(link.stats.faults, 0);
    assert.equal(calc.spin(1e9), 1e9);
    assert.equal(link.stats.faults, 1);
    assert.match(reports[0]!.message, /budget of 10000 exhausted/);
    link.detach();
  });
}

test('attaching to a missing channel, function or probe says so', () => {
  const { coll } = load(PROBES);
  const prog = coll.program('on_event');
  assert.throws(() => attachProgram(prog, { btf: coll.btf, point: { kind: 'tracepoint', target: 'http.server.respnse.finish' } }), (e: unknown) => {
    assert.ok(e instanceof AttachError);
    assert.match(e.message, /program on_event: channel http\.server\.respnse\.finish: no such channel.*did you mean 'http\.server\.response\.finish'/);
    return true;
  });
  assert.throws(() => attachProgram(coll.program('count_add'), { btf: coll.btf, functions: { calc: {} } }), /function calc\.add: no such function: 'add' is not defined/);
  assert.throws(() => attachProgram(coll.program('count_add'), { btf: coll.btf }), /no root object 'calc'/);
  assert.throws(() => attachProgram(coll.program('count_add'), { btf: coll.btf, functions: { calc: { add: 3 } } }), /'add' is a number, not a function/);
  assert.throws(() => attachProgram(coll.program('on_query'), { btf: coll.btf, point: { kind: 'usdt', target: 'test:qeury' } }), /no such static probe.*did you mean 'test:query'/);
  const frozen = Object.freeze({ add: (a: number) => a });
  assert.throws(() => attachProgram(coll.program('count_add'), { btf: coll.btf, functions: { calc: frozen } }), /cannot replace 'add'/);
  // a context struct is needed for channels: without BTF there is none
  assert.throws(() => attachProgram(prog, {}), /no context struct/);
});

test('attachObject attaches every program by section name, all or nothing', () => {
  const { coll } = load(PROBES);
  declareChannel('test:events');
  probe.define('test:query');
  // calc lacks spin: nothing stays attached
  const partial = { add: (a: number, b: number) => a + b, bad: (p: number) => p };
  assert.throws(() => attachObject(coll, { functions: { calc: partial } }), /calc\.spin/);
  assert.equal(partial.add.name, 'add');
  assert.ok(!String(partial.add).includes('entry'), 'the earlier function probes were removed again');
  const calc = { add: (a: number, b: number) => a + b, bad: (p: number) => p, spin: (n: number) => n };
  const set = attachObject(coll, { functions: { calc }, onFault: () => {} });
  assert.equal(set.links.length, coll.programs.size);
  calc.add(1, 2);
  assert.equal(set.get('count_add')!.stats.events, 1);
  assert.equal(set.get('sum_ret')!.stats.events, 1);
  set.detach();
  assert.ok(set.links.every((l) => !l.attached));
});

test('examples: dropmon counts drops per location from the static probe', () => {
  const { coll } = load(join(EXAMPLES, 'dropmon.o'));
  const kfree = probe.define('skb:kfree_skb');
  const set = attachObject(coll);
  const sites = ['ip_rcv', 'tcp_v4_rcv', 'ip_rcv', 'ip_rcv', 'udp_queue_rcv_skb', 'tcp_v4_rcv'];
  for (const location of sites) kfree.fire({ location, len: 60 });
  const table = new Map([...coll.typedMap('drops').entries()].map(({ key, value }) => [(key as { location: string }).location, Number(value)]));
  assert.deepEqual(Object.fromEntries(table), { ip_rcv: 3, tcp_v4_rcv: 2, udp_queue_rcv_skb: 1 });
  set.detach();
});

test('examples: netif_rcv prints only the filtered device', () => {
  const { rt, coll } = load(join(EXAMPLES, 'netif_rcv.o'));
  const ch = declareChannel('net:netif_receive_skb');
  const name = new Uint8Array(16);
  name.set(new TextEncoder().encode('eth1'));
  coll.map('dev_filter').update(u32(0), name);
  const set = attachObject(coll);
  for (const dev of ['eth0', 'eth1', 'eth10', 'lo', 'eth1']) ch.publish({ dev, len: 64, protocol: 0x800 });
  assert.deepEqual(rt.tracePipe.readEntries().map((e) => e.message), ['netif_rcv: dev eth1 len 64 proto 0x0800', 'netif_rcv: dev eth1 len 64 proto 0x0800']);
  set.detach();
});

test('examples: http_latency fills a histogram from a real server', async () => {
  const { coll } = load(join(EXAMPLES, 'http_latency.o'));
  const set = attachObject(coll);
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === '/fail' ? 503 : 200;
    res.end();
  });
  try {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const get = (path: string): Promise<void> =>
      new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject));
    for (const p of ['/', '/a', '/fail', '/b']) await get(p);
    const finish = set.get('response_finish')!;
    for (let i = 0; i < 50 && finish.stats.events < 4; i++) await new Promise((r) => setTimeout(r, 10));
    let total = 0;
    for (let slot = 0; slot < 32; slot++) total += Number(coll.typedMap('latency_us').lookup(slot));
    assert.equal(total, 4);
    assert.equal(Number(coll.typedMap('errors').lookup(0)), 1);
    assert.equal(coll.map('start').nextKey(), undefined, 'every start entry was consumed');
  } finally {
    set.detach();
    server.close();
  }
});

test('an event whose getter throws is dropped and reported, not thrown into the publisher', () => {
  const { coll } = load(PROBES);
  const ch = declareChannel('test:events');
  const reports: FaultReport[] = [];
  const link = attachProgram(coll.program('on_event'), { btf: coll.btf, onFault: (r) => reports.push(r) });
  const evil = {
    get name(): string {
      throw new Error('getter exploded');
    },
    status: 500,
  };
  ch.publish(evil);
  ch.publish(evil);
  assert.equal(link.stats.drops, 2);
  assert.equal(link.stats.faults, 0);
  assert.equal(reports.length, 1);
  assert.match(reports[0]!.message, /on_event attached to tracepoint\/test:events could not read the event: getter exploded/);
  link.detach();
});

test('function probes keep this and new.target, and nest', () => {
  const { coll } = load(PROBES);
  class Point {
    x: number;
    constructor(x: number) {
      this.x = x;
    }
  }
  const calc = {
    base: 10,
    add(this: { base: number }, a: number, b: number): number {
      return a < 3 ? calc.add(a + 1, b) : this.base + a + b;
    },
    Point,
  };
  const link = attachProgram(coll.program('count_add'), { btf: coll.btf, functions: { calc } });
  const p2 = attachProgram(coll.program('count_add'), { btf: coll.btf, functions: { calc }, point: { kind: 'uprobe', target: 'calc.Point' } });
  assert.equal(calc.add(0, 1), 14); // 0 -> 1 -> 2 -> 3: four calls, the inner ones through the wrapper too
  const made = new calc.Point(5);
  assert.ok(made instanceof Point);
  assert.ok(made instanceof calc.Point);
  assert.equal(made.x, 5);
  assert.equal(link.stats.events, 4);
  assert.equal(p2.stats.events, 1);
  assert.equal(readI64(coll.map('calls').lookup(i64(5n))), 1n, 'the constructor argument');
  link.detach();
  p2.detach();
  assert.equal(calc.Point, Point);
});

test("Node's http client and fetch (undici) channels", async () => {
  const { coll } = load(PROBES);
  const links = [attachProgram(coll.program('http_client_done'), { btf: coll.btf }), attachProgram(coll.program('fetch_headers'), { btf: coll.btf })];
  const server = http.createServer((req, res) => {
    res.statusCode = req.method === 'POST' ? 201 : 204;
    res.end();
  });
  try {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve, reject) => {
      http.request({ host: '127.0.0.1', port, method: 'POST', path: '/items' }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
    });
    const viaFetch = await fetch(`http://127.0.0.1:${port}/f?q=1`);
    await viaFetch.arrayBuffer();
    for (let i = 0; i < 50 && links[0]!.stats.events === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const client = coll.typedMap('last_client');
    assert.deepEqual(client.lookup(0), { method: 'POST', host: '127.0.0.1', path: '/items', status: 201 });
    if (links[1]!.stats.events === 0) {
      // this Node's fetch does not publish undici's diagnostics channels
      assert.equal(typeof process.versions.undici, 'undefined');
    } else {
      const f = client.lookup(1) as Record<string, unknown>;
      assert.equal(f.method, 'GET');
      assert.equal(f.path, '/f?q=1');
      assert.equal(f.status, 204);
    }
  } finally {
    for (const l of links) l.detach();
    server.close();
  }
});

test('return probes of async functions: at return by default, at settlement with settle', async () => {
  const { coll } = load(PROBES);
  const calc = {
    async add(a: number, b: number): Promise<number> {
      await new Promise((r) => setTimeout(r, 5));
      if (a < 0) throw new RangeError('negative');
      return a + b;
    },
  };
  const totals = coll.map('totals');
  const plain = attachProgram(coll.program('sum_ret'), { functions: { calc }, btf: coll.btf });
  const p = calc.add(1, 2);
  assert.equal(plain.stats.events, 1, 'fired at return, before the promise settled');
  assert.equal(await p, 3);
  plain.detach();
  totals.update(u32(0), i64(0n));

  const settled = attachProgram(coll.program('sum_ret'), { functions: { calc }, btf: coll.btf, settle: true });
  const q = calc.add(20, 22);
  assert.equal(settled.stats.events, 0, 'waits for the promise');
  assert.equal(await q, 42);
  assert.equal(settled.stats.events, 1);
  assert.equal(readI64(totals.lookup(u32(0))), 42n, 'ret is the resolved value');
  await assert.rejects(calc.add(-1, 0), RangeError);
  assert.equal(readI64(totals.lookup(u32(1))), 1n, 'a rejection counts as threw');
  settled.detach();
});

test('a method found on the prototype is shadowed while probed and revealed again after', () => {
  const { coll } = load(PROBES);
  class Calc {
    add(a: number, b: number): number {
      return a + b;
    }
  }
  const calc = new Calc();
  const link = attachProgram(coll.program('count_add'), { btf: coll.btf, functions: { calc } });
  assert.ok(Object.prototype.hasOwnProperty.call(calc, 'add'));
  assert.equal(calc.add(1, 1), 2);
  assert.equal(new Calc().add(1, 1), 2);
  assert.equal(link.stats.events, 1, 'only the probed instance');
  link.detach();
  assert.ok(!Object.prototype.hasOwnProperty.call(calc, 'add'));
  assert.equal(calc.add, Calc.prototype.add);
});

test('examples: json_sizes probes the global JSON.parse (sizes by log2, failures) and restores it', () => {
  const { coll } = load(join(EXAMPLES, 'json_sizes.o'));
  const original = JSON.parse;
  const set = attachObject(coll);
  assert.notEqual(JSON.parse, original);
  const docs = ['1', '"abcdefgh"', JSON.stringify({ a: 'x'.repeat(100) }), '{"broken":'];
  let threw = 0;
  for (const d of docs) {
    try {
      JSON.parse(d);
    } catch {
      threw++;
    }
  }
  set.detach();
  assert.equal(JSON.parse, original);
  assert.equal(threw, 1);
  const sizes = coll.typedMap('sizes');
  // lengths 1, 10, 110, 11 -> slots 0, 3, 6, 3
  const counts = Array.from({ length: 24 }, (_, s) => Number(sizes.lookup(s)));
  assert.deepEqual(counts.slice(0, 8), [1, 0, 0, 2, 0, 0, 1, 0]);
  assert.equal(Number(coll.typedMap('failures').lookup(0)), 1);
});
