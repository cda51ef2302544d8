// Issue 5, "works unchanged in Node.js and browsers", end to end: headless
// Chromium loads the compiled ES modules straight from dist/ over http, parses
// and assembles all bpf_conformance files in the page, and runs them and an
// RFC 1071 checksum over packets on every engine ('interp', 'jit',
// 'jit-verified'), in a cross-origin isolated page (shared Wasm memory) and a
// plain one (SharedArrayBuffer absent, so the memory must fall back to
// unshared), each also with an explicitly unshared memory. Expected values
// come from Node: the .data files' results and a checksum computed here.
// Skips when Chromium is not installed (Debian: apt-get install chromium).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFORMANCE_DIR, ROOT } from '../paths.js';
import { parseDataFile } from '../../src/asm/data-file.js';
import { engineNames } from '../../src/vm/engines.js';
import '../../src/vm/vm.js'; // registers the JIT engines, so engineNames() lists them
import { findChromium, pageHtml, runChromium, startServer } from './run-in-chromium.js';
import type { PageInput, PagePacket, PageResult } from './protocol.js';

const CHROMIUM = findChromium();
const TIMEOUT_MS = Number(process.env.TSBPF_BROWSER_TIMEOUT_MS ?? 25_000);

/** Ones' complement sum of big-endian 16-bit words (odd tail padded with zero), complemented. */
function internetChecksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** The same checksum in eBPF: r1 = packet, r2 = length (the conformance entry contract). */
const CHECKSUM_ASM = `
mov %r0, 0
mov %r3, %r1
add %r2, %r1
mov %r4, %r2
sub %r4, 1
words:
jge %r3, %r4, tail
ldxh %r5, [%r3]
be16 %r5
add %r0, %r5
add %r3, 2
ja words
tail:
jge %r3, %r2, fold
ldxb %r5, [%r3]
lsh %r5, 8
add %r0, %r5
fold:
mov %r5, %r0
rsh %r5, 16
jeq %r5, 0, done
and %r0, 0xffff
add %r0, %r5
ja fold
done:
xor %r0, 0xffff
exit
`;

/** Straight-line code whose Wasm module is far over the 4 KB some browsers allow to compile synchronously. */
const LARGE_N = 5000;
const LARGE_ASM = ['mov %r0, 0', ...Array.from({ length: LARGE_N }, (_, i) => (i % 2 === 0 ? 'add %r0, 3' : 'sub %r0, 1')), 'exit'].join('\n');
const LARGE_WANT = `0x${LARGE_N.toString(16)}`; // +3 -1 per pair

function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// A real IPv4 header with a correct header checksum (0xb861): its checksum over itself is 0.
const IPV4_HEADER = Uint8Array.from([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);

const PACKETS: Record<string, Uint8Array> = {
  'ipv4-header': IPV4_HEADER,
  'random-64': pseudoRandomBytes(64, 1),
  'random-1500': pseudoRandomBytes(1500, 2),
  'random-1501-odd': pseudoRandomBytes(1501, 3),
  'random-9000': pseudoRandomBytes(9000, 4),
};

const TESTS_DIR = join(CONFORMANCE_DIR, 'tests');
const NAMES = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.data'))
  .sort();

/** Compare one page's results with the expected values; returns one line per mismatch. */
function mismatches(result: PageResult, engines: readonly string[], expected: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [mode, run] of Object.entries(result.modes)) {
    for (const engine of engines) {
      const er = run.engines[engine];
      if (er === undefined) {
        bad.push(`${mode}/${engine}: no results`);
        continue;
      }
      for (const [name, want] of expected) {
        const got = er.r0[name];
        if (got !== want) bad.push(`${mode}/${engine} ${name}: got ${got ?? 'nothing'}, want ${want}`);
      }
      bad.push(...checksumMismatches(`${mode}/${engine}`, er.checksum));
      if (er.large !== LARGE_WANT) bad.push(`${mode}/${engine} large program: got ${er.large}, want ${LARGE_WANT}`);
      const cls = engine === 'interp' ? 'Interpreter' : 'JitEngine';
      if (er.engineClass !== cls) bad.push(`${mode}/${engine}: engine is ${er.engineClass}, want ${cls}`);
    }
    const a = run.jitAsync;
    if (a.engineClass !== 'JitEngine') bad.push(`${mode}/compileAsync: ${a.engineClass}`);
    if (a.large !== LARGE_WANT) bad.push(`${mode}/compileAsync large program: got ${a.large}, want ${LARGE_WANT}`);
    bad.push(...checksumMismatches(`${mode}/compileAsync`, a.checksum));
  }
  return bad;
}

function checksumMismatches(where: string, got: Record<string, string>): string[] {
  const bad: string[] = [];
  for (const [name, bytes] of Object.entries(PACKETS)) {
    const want = `0x${internetChecksum(bytes).toString(16)}`;
    if (got[name] !== want) bad.push(`${where} checksum ${name}: got ${got[name] ?? 'nothing'}, want ${want}`);
  }
  return bad;
}

/** The page's placeholder result (test/browser/run-in-chromium.ts), there until its module script runs. */
const NOT_RUN = "the page's module script did not run";

test('engines run unchanged in headless Chromium', { skip: CHROMIUM === undefined ? `chromium not found (${process.env.CHROMIUM ?? '/usr/bin/chromium'}); Debian: apt-get install chromium` : false, timeout: 2 * TIMEOUT_MS + 10_000 }, async (t) => {
  const engines = engineNames();
  assert.ok(engines.includes('interp') && engines.includes('jit') && engines.includes('jit-verified'), `engines: ${engines.join(', ')}`);

  const expected = new Map<string, string>();
  const cases = NAMES.map((name) => {
    const text = readFileSync(join(TESTS_DIR, name), 'utf8');
    const df = parseDataFile(text, name);
    assert.ok(df.result !== undefined, `${name}: no expected result`);
    expected.set(name, `0x${df.result.toString(16)}`);
    return { name, text };
  });
  assert.ok(cases.length >= 300, `only ${cases.length} conformance files under ${TESTS_DIR}`);
  const packets: PagePacket[] = Object.entries(PACKETS).map(([name, bytes]) => ({ name, hex: hex(bytes) }));
  assert.equal(internetChecksum(IPV4_HEADER), 0, 'the Node-side checksum agrees with the header on the wire');
  const input: PageInput = { engines, cases, checksumAsm: CHECKSUM_ASM, packets, largeAsm: LARGE_ASM };

  const { server, origin } = await startServer(ROOT, pageHtml(input));
  try {
    for (const page of ['isolated', 'plain'] as const) {
      await t.test(`${page} page`, async () => {
        let { report, console } = await runChromium(CHROMIUM!, `${origin}/${page}.html`, TIMEOUT_MS);
        // Seen once on a loaded machine: --dump-dom fired before the module
        // script started (the placeholder is still there, nothing logged).
        // That is Chromium's timing, not a failure of ours: retry once and say so.
        if (!report.ok && report.error === NOT_RUN && console.length === 0) {
          t.diagnostic(`${page}: the module script had not started when Chromium dumped the page; retried`);
          ({ report, console } = await runChromium(CHROMIUM!, `${origin}/${page}.html`, TIMEOUT_MS));
        }
        if (!report.ok) assert.fail(`the page failed in the browser:\n${report.error}\nconsole:\n${console.join('\n')}`);
        const r = report.result;
        const isolated = page === 'isolated';
        assert.match(r.userAgent, /Chrome\//);
        assert.equal(r.crossOriginIsolated, isolated, 'crossOriginIsolated follows the COOP/COEP headers');
        assert.equal(r.hasSharedArrayBuffer, isolated);
        assert.deepEqual([...r.registered].sort(), [...engines].sort(), 'the browser registers the same engines as Node');
        assert.equal(r.modes.default?.shared, isolated, 'default memory is shared exactly when SharedArrayBuffer exists');
        assert.equal(r.modes.unshared?.shared, false);
        assert.deepEqual(mismatches(r, engines, expected), []);
        t.diagnostic(`${page}: ${r.userAgent}; ${cases.length} files, ${packets.length} checksums and a ${LARGE_N}-insn program on ${engines.join(', ')} and compileAsync, in ${Object.keys(r.modes).join(' and ')} memory`);
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }
});
