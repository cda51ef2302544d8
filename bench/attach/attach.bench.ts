// Per-event cost of a tracing filter that rejects the event: netif_rcv.o
// (examples/trace) on a diagnostics_channel channel and on a static probe,
// on the interpreter and the JIT, next to the same filter written in plain
// JavaScript as a channel subscriber, and to the cost of firing with nothing
// attached. Rows: program attach/channel|attach/usdt, packet 'reject'.
// Run alone: node dist/bench/attach/attach.bench.js [--quick]
import dc from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachProgram, declareChannel, probe } from '../../src/attach/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { hasEngine } from '../../src/vm/engines.js';
import { timeOps, type BenchContext, type Row, type Suite } from '../harness.js';
import { ROOT } from '../paths.js';

const OBJECT = join(ROOT, 'examples', 'trace', 'netif_rcv.o');
const INNER = 1000;
const NOTE = 'ns per event (device filter rejects it)';
const CHANNEL = 'bench:netif_receive_skb';
const PROBE = 'bench:netif_receive_skb';

/** The same filter in JavaScript: the device name from a table, compared, printed on a match. */
function jsFilter(table: Map<number, string>, out: string[]): (msg: unknown) => void {
  return (msg) => {
    const m = msg as { dev: string; len: number; protocol: number };
    const want = table.get(0);
    if (want === undefined || m.dev !== want) return;
    out.push(`netif_rcv: dev ${m.dev} len ${m.len} proto 0x${m.protocol.toString(16).padStart(4, '0')}`);
  };
}

function loaded(engine: string): { rt: Runtime; run: ReturnType<Runtime['loadObject']> } {
  const rt = new Runtime({ engine });
  const run = rt.loadObject(readFileSync(OBJECT), { file: OBJECT });
  const name = new Uint8Array(16);
  name.set(new TextEncoder().encode('lo'));
  run.map('dev_filter').update(new Uint8Array(4), name);
  return { rt, run };
}

export async function benchAttach(ctx: Pick<BenchContext, 'filter' | 'scale'>): Promise<Row[]> {
  const rows: Row[] = [];
  const targetMs = 150 * ctx.scale;
  const channel = declareChannel(CHANNEL);
  const fire = probe.define(PROBE);
  const msg = { dev: 'eth0', len: 60, protocol: 0x0800 };
  const publishN = (): void => {
    for (let i = 0; i < INNER; i++) if (channel.hasSubscribers) channel.publish(msg);
  };
  const fireN = (): void => {
    for (let i = 0; i < INNER; i++) fire.fire(msg);
  };
  const row = (program: string, engine: string, fn: () => void): void => {
    if (!ctx.filter.test(`${program}/reject/${engine}`)) return;
    rows.push({ program, packet: 'reject', engine, ns_per_run: timeOps(fn, { inner: INNER, targetMs }), note: NOTE });
  };

  row('attach/channel', 'none', publishN);
  row('attach/usdt', 'none', fireN);

  const out: string[] = [];
  const js = jsFilter(new Map([[0, 'lo']]), out);
  dc.subscribe(CHANNEL, js);
  row('attach/channel', 'js', publishN);
  dc.unsubscribe(CHANNEL, js);
  if (out.length !== 0) throw new Error('bench: the JavaScript filter accepted an event it should reject');

  for (const engine of ['interp', ...(hasEngine('jit') ? ['jit'] : [])]) {
    const { rt, run } = loaded(engine);
    const prog = run.program('netif_rcv');
    const onChannel = attachProgram(prog, { btf: run.btf, point: { kind: 'tracepoint', target: CHANNEL } });
    row('attach/channel', engine, publishN);
    onChannel.detach();
    const onProbe = attachProgram(prog, { btf: run.btf, point: { kind: 'usdt', target: PROBE } });
    row('attach/usdt', engine, fireN);
    onProbe.detach();
    // the filter really ran and rejected: no output, no faults
    if (rt.tracePipe.read() !== '' || onChannel.stats.faults + onProbe.stats.faults !== 0) throw new Error(`bench: netif_rcv on ${engine} printed or faulted`);
    rt.dispose();
  }
  return rows;
}

export const attachSuite: Suite = {
  name: 'attach',
  run: (ctx) => benchAttach(ctx),
};

if (process.argv[1]?.endsWith('attach.bench.js')) {
  const rows = await benchAttach({ filter: /./, scale: process.argv.includes('--quick') ? 0.2 : 1 });
  for (const r of rows) console.log(`${r.program.padEnd(16)} ${r.engine.padEnd(7)} ${r.ns_per_run.toFixed(1).padStart(8)} ns/event`);
}
