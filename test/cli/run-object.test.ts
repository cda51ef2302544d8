// `tsbpf run FILE.o` with --data / --pcap: objects with maps in a runtime,
// verdict counts, maps afterwards, --json, --out, --repeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.js';
import type { Io } from '../../src/cli/command.js';
import { parseCapture } from '../../src/pcap/reader.js';
import { ROOT } from '../paths.js';

function io(): Io & { outText: () => string } {
  const out: string[] = [];
  return { out: (t) => void out.push(t), err: () => undefined, readStdin: async () => new Uint8Array(0), outText: () => out.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'tsbpf-run-object-'));
const FLOWCOUNT = join(ROOT, 'examples', 'xdp', 'flowcount.o');
const FLOWS = join(ROOT, 'examples', 'xdp', 'flows.pcap');
const frames = (): Uint8Array[] => [...parseCapture(new Uint8Array(readFileSync(FLOWS)), { copy: true })].map((r) => r.data);

test('--pcap: verdict counts and the per-flow table, decoded by BTF', async () => {
  const t = io();
  assert.equal(await run.run([FLOWCOUNT, '--pcap', FLOWS], t), 0);
  const text = t.outText();
  const n = frames().length;
  assert.match(text, new RegExp(`^${n} packets through flowcount \\(xdp\\)\\nverdicts:\\n  XDP_PASS  ${n}\\n`));
  assert.match(text, /map flows \(hash, 8 entries\):\n/);
  assert.match(text, /  \{saddr: \[10,0,0,1\], daddr: \[10,0,0,2\], sport: 40000, dport: 80, proto: 6\} => \{packets: 4, bytes: \d+\}/);
  assert.match(text, /map stats \(array, 4 entries\):\n  0 => 16\n  1 => 2\n  2 => 1\n  3 => 2/);
});

test('--pcap --json --out: verdicts, maps with hex and decoded keys, passed packets written', async () => {
  const t = io();
  const out = join(dir, 'out.pcap');
  assert.equal(await run.run([FLOWCOUNT, '--pcap', FLOWS, '--json', '--out', out, '--engine', 'jit'], t), 0);
  const j = JSON.parse(t.outText()) as { packets: number; verdicts: Record<string, number>; maps: Record<string, { key: string; value: string; key_decoded?: unknown; value_decoded?: unknown }[]> };
  assert.equal(j.packets, frames().length);
  assert.deepEqual(j.verdicts, { XDP_PASS: frames().length });
  const web = j.maps['flows']!.find((r) => r.key === '0a0000010a000002409c500006000000');
  assert.deepEqual(web?.value_decoded, { packets: 4, bytes: frames().filter((f) => f[23] === 6 && f[29] === 1).reduce((s, f) => s + f.length, 0) });
  assert.deepEqual(web?.key_decoded, { saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2], sport: 40000, dport: 80, proto: 6 });
  // XDP_PASS leaves packets unchanged: --out is the input again
  assert.deepEqual([...parseCapture(new Uint8Array(readFileSync(out)), { copy: true })].map((r) => r.data), frames());
});

test('--data --json --repeat: retval, data_out, maps persisting across runs', async () => {
  const pkt = join(dir, 'pkt.bin');
  writeFileSync(pkt, frames()[0]!);
  const t = io();
  assert.equal(await run.run([FLOWCOUNT, '--data', pkt, '--json', '--repeat', '3'], t), 0);
  const j = JSON.parse(t.outText()) as { retval: number; data_out: string; duration_ns: number; maps: Record<string, { value_decoded?: unknown }[]> };
  assert.equal(j.retval, 2);
  assert.equal(j.data_out, Buffer.from(frames()[0]!).toString('hex'));
  assert.equal(typeof j.duration_ns, 'number');
  assert.deepEqual(j.maps['flows']!.map((r) => r.value_decoded), [{ packets: 3, bytes: 3 * frames()[0]!.length }]);
  const text = io();
  assert.equal(await run.run([FLOWCOUNT, '--data', pkt], text), 0);
  assert.match(text.outText(), /^retval: 2 \(XDP_PASS\)\nduration: \d+ ns\ndata_out: 54 bytes \(unchanged\)\n/);
});

test('--prog picks one program of several; usage errors are clear', async () => {
  const pkt = join(dir, 'arp.bin');
  writeFileSync(pkt, frames()[16]!);
  const t = io();
  assert.equal(await run.run([join(ROOT, 'examples', 'maps.o'), '--prog', 'count_packets', '--data', pkt], t), 0);
  assert.match(t.outText(), /^retval: 1 \(XDP_DROP\)/); // tail call into tail_target
  await assert.rejects(run.run([join(ROOT, 'examples', 'maps.o'), '--data', pkt], io()), /has 2 programs; choose one with --prog \(tail_target, count_packets\)/);
  await assert.rejects(run.run([FLOWCOUNT, '--json'], io()), /needs a packet: --data PKT.bin or --pcap IN.pcap/);
  await assert.rejects(run.run([FLOWCOUNT, '--data', pkt, '--pcap', FLOWS], io()), /exclude each other/);
  await assert.rejects(run.run([FLOWCOUNT, '--out', 'x.pcap', '--data', pkt], io()), /--out needs --pcap/);
  await assert.rejects(run.run([FLOWCOUNT, '--data', join(dir, 'nosuch.bin')], io()), /cannot read --data .*nosuch.bin: ENOENT/);
});

test('the output shown in examples/xdp/README.md is what the command prints', async () => {
  const readme = readFileSync(join(ROOT, 'examples', 'xdp', 'README.md'), 'utf8');
  const m = /\$ tsbpf run examples\/xdp\/flowcount.o --pcap examples\/xdp\/flows.pcap\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(m, 'README has the flowcount example');
  const t = io();
  assert.equal(await run.run([FLOWCOUNT, '--pcap', FLOWS], t), 0);
  assert.equal(t.outText(), m[1]);
});
