// The lines after `infinite loop detected`: the current and the stored
// state, as the kernel prints them, the stored one with its precision
// marks (`R0=P0`: the branch on r0 made it precise in the checkpoint; the
// kernel never marks the current state of a privileged loader, so that one
// prints without). Compared line by line with the running kernel's log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import { kernelVerdicts } from './kernel.js';

const SOCKET_FILTER = BPF_PROG_TYPE['socket_filter']!;

const PROGRAMS: { name: string; src: string; expected: string[] }[] = [
  {
    name: 'main frame',
    src: 'r0 = 0\nif r0 == 0 goto -1\nexit',
    expected: ['infinite loop detected at insn 1', 'cur state: R0=0 R1=ctx() R10=fp0', 'old state: R0=P0 R1=ctx() R10=fp0'],
  },
  {
    name: 'subprogram frame',
    src: 'r6 = 3\ncall sub\nr0 = 0\nexit\nsub:\nr1 = 0\nloop:\nif r1 == 0 goto loop\nr0 = 0\nexit',
    expected: ['infinite loop detected at insn 5', 'cur state: frame1: R1=0 R10=fp0', 'old state: frame1: R1=P0 R10=fp0'],
  },
];

/** The error line and the lines after it, up to the statistics. */
function tail(log: string): string[] {
  const lines = log.trimEnd().split('\n');
  const k = lines.findIndex((l) => l.startsWith('infinite loop detected'));
  const end = lines.findIndex((l) => l.startsWith('processed '));
  return k < 0 ? [] : lines.slice(k, end < 0 ? undefined : end);
}

for (const p of PROGRAMS) {
  test(`infinite loop in the ${p.name}: the kernel's cur/old state lines, P marks on the stored state`, (t) => {
    const bytes = assemble(p.src, { dialect: 'llvm' });
    const r = verify(decodeProgram(bytes, { validate: false }), { progType: SOCKET_FILTER, logLevel: 1 });
    assert.equal(r.ok, false);
    assert.deepEqual(tail(r.log), p.expected);
    const [k] = kernelVerdicts([{ bytes, progType: SOCKET_FILTER, maps: [] }]);
    if (k!.status === 'unavailable') {
      t.skip(`kernel comparison skipped: ${k!.log}`);
      return;
    }
    assert.deepEqual(tail(k!.log), tail(r.log));
  });
}
