// Error lines worded as the kernel words them, where tsbpf found the same
// fault by another route: a register past r10 (the structural check, the
// kernel's check_reg_arg) and a map holding a bpf_timer in a tracing program
// (the kernel's check_map_prog_compatibility, before the walk reaches the
// helper call). The kernel-checked cases for pointer math past the
// variable-offset limit are in test/fixtures/verifier/cases.txt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import type { MapInfo } from '../../src/verifier/env.js';
import { kernelVerdicts, kernelErrorLine } from './kernel.js';

const SOCKET_FILTER = BPF_PROG_TYPE['socket_filter']!;
const KPROBE = BPF_PROG_TYPE['kprobe']!;

/** r0 = r15; exit (a register number no instruction may name). */
const R15 = new Uint8Array([0xbf, 0xf0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

test('a register past r10 is the kernel\'s "R15 is invalid"', (t) => {
  const r = verify(decodeProgram(R15, { validate: false }), { progType: SOCKET_FILTER });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'R15 is invalid');
  const [k] = kernelVerdicts([{ bytes: R15, progType: SOCKET_FILTER, maps: [] }]);
  if (k!.status === 'unavailable') {
    t.skip(`kernel comparison skipped: ${k!.log}`);
    return;
  }
  assert.equal(k!.status, 'reject');
  assert.equal(kernelErrorLine(k!.log), r.error!.reason);
});

/** An array map whose 16-byte value is a struct bpf_timer (by its BTF). */
const TIMER_MAP: MapInfo = { type: BPF_MAP_TYPE['array']!, keySize: 4, valueSize: 16, maxEntries: 1, valueBtf: true, timerOff: 0 };
const LOOKUP = assemble(`
r1 = 0
*(u32 *)(r10 - 4) = r1
r2 = r10
r2 += -4
ld_pseudo r1, 1, 0
call 1
r0 = 0
exit
`, { dialect: 'llvm' });

test('a tracing program may not use a map holding a bpf_timer; other programs may', () => {
  const prog = decodeProgram(LOOKUP, { validate: false });
  const tracing = verify(prog, { progType: KPROBE, maps: [TIMER_MAP] });
  assert.equal(tracing.ok, false);
  assert.equal(tracing.error!.reason, 'tracing progs cannot use bpf_timer yet');
  const filter = verify(prog, { progType: SOCKET_FILTER, maps: [TIMER_MAP] });
  assert.equal(filter.ok, true, filter.error?.reason);
  const { timerOff: _, ...plain } = TIMER_MAP;
  const noTimer = verify(prog, { progType: KPROBE, maps: [plain] });
  assert.equal(noTimer.ok, true, noTimer.error?.reason);
});
