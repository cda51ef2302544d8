// Precision across frames (src/verifier/precision.ts): a scalar of the
// caller, passed untouched through a subprogram call, is used after the
// call as a map-value offset. Path A (offset 0) explores both sides of a
// branch in the callee; the second side is pruned at a join point P inside
// the callee. What made that prune safe is the caller's r6 being 0, so
// the precision propagated on that hit must reach the second side's own
// checkpoint Q, in the caller's frame. Path B (offset 8, one past the
// 8-byte value) reaches Q first: if Q's r6 were still imprecise, B would
// be pruned there and its out-of-bounds read never checked. Before
// precision crossed frames tsbpf accepted this program; the kernel rejects it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import type { MapInfo } from '../../src/verifier/env.js';
import { kernelVerdicts, kernelErrorLine } from './kernel.js';

const SOCKET_FILTER = 1;
const MAPS: MapInfo[] = [{ type: 2, keySize: 4, valueSize: 8, maxEntries: 1 }];
const pad = (n: number): string => Array.from({ length: n }, (_, i) => `r3 = ${i}`).join('\n');

/** The program; `offsetB` is path B's r6 (8 is out of bounds, 0 is safe). */
function source(offsetB: number): string {
  return `
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 1, 0
call 1
if r0 == 0 goto out
r9 = r0
call 7
r7 = r0
call 7
r8 = r0
if r7 == 0 goto pathb
r6 = 0
r2 = r8
goto docall
pathb:
r6 = ${offsetB}
r2 = 0
docall:
call sub
goto +0
goto +0
r1 = r9
r1 += r6
r0 = *(u64 *)(r1 + 0)
out:
r0 = 0
exit
sub:
if r2 == 0 goto q
${pad(10)}
goto p
q:
r2 = 0
${pad(10)}
p:
r0 = 0
exit
`;
}

function run(offsetB: number): { bytes: Uint8Array; ok: boolean; reason: string | undefined } {
  const bytes = assemble(source(offsetB), { dialect: 'llvm' });
  const r = verify(decodeProgram(bytes, { validate: false }), { progType: SOCKET_FILTER, maps: MAPS, logLevel: 1 });
  return { bytes, ok: r.ok, reason: r.error?.reason };
}

test('a caller scalar made precise by a pruning hit inside the callee stays precise at the callee\'s earlier checkpoint: the out-of-bounds path is checked', (t) => {
  const bad = run(8);
  assert.equal(bad.ok, false, 'path B reads the map value at offset 8 of 8 bytes');
  assert.equal(bad.reason, 'R1 min value is outside of the allowed memory range');
  const safe = run(0);
  assert.equal(safe.ok, true, `the same program with offset 0 on both paths is safe: ${safe.reason}`);
  const [kBad, kSafe] = kernelVerdicts([
    { bytes: bad.bytes, progType: SOCKET_FILTER, maps: MAPS },
    { bytes: safe.bytes, progType: SOCKET_FILTER, maps: MAPS },
  ]);
  if (kBad!.status === 'unavailable') {
    t.skip(`kernel comparison skipped: ${kBad!.log}`);
    return;
  }
  assert.equal(kBad!.status, 'reject');
  assert.equal(kernelErrorLine(kBad!.log), bad.reason);
  assert.equal(kSafe!.status, 'accept', kSafe!.log);
});
