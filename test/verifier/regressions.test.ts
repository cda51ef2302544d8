// Reviewer findings on the verifier, one test each: the log printer on
// negative 64-bit constants, unknown opcodes reached through a function
// pointer into an lddw, and the one GPL list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from '../../src/verifier/index.js';
import { decodeProgram, encodeSlots } from '../../src/isa/decode.js';
import { assemble } from '../../src/asm/assemble.js';

const asm = (text: string) => decodeProgram(assemble(text, { dialect: 'llvm' }), { validate: false });
const SOCKET_FILTER = 1;
const KPROBE = 2;

test('a rejected program with a negative 64-bit lddw prints it as the kernel does', () => {
  const r = verify(asm('r1 = -2 ll\nr0 = *(u64 *)(r1 + 0)\nexit'), { progType: SOCKET_FILTER });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, "R1 invalid mem access 'scalar'");
  assert.match(r.log, /^0: \(18\) r1 = 0xfffffffffffffffe +; R1=-2$/m);
  assert.match(r.log, /^2: \(79\) r0 = \*\(u64 \*\)\(r1 \+0\)$/m);
});

test('a function pointer into the middle of an lddw is an unknown opcode, not a throw', () => {
  // lddw src=4 (BPF_PSEUDO_FUNC) imm=0 points at its own second half (opcode 00).
  const p = decodeProgram(encodeSlots([
    { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
    { opcode: 0x18, dst: 1, src: 4, off: 0, imm: 0 },
    { opcode: 0x00, dst: 0, src: 0, off: 0, imm: 0 },
    { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ]), { validate: false });
  const r = verify(p, { progType: SOCKET_FILTER });
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'unknown opcode 00');
});

test('every opcode byte with odd fields in any position is a verdict, never a throw', () => {
  const srcs = [0, 1, 2, 4, 5, 6, 15];
  const imms = [0, 1, 8, 0xe1, 0xf1, -1];
  for (let op = 0; op < 256; op++) {
    for (const src of srcs) {
      for (const imm of imms) {
        const p = decodeProgram(encodeSlots([
          { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
          { opcode: op, dst: 1, src, off: 1, imm },
          { opcode: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
          { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
        ]), { validate: false });
        const r = verify(p, { progType: SOCKET_FILTER, logLevel: 0 });
        if (!r.ok) assert.ok(r.error!.reason.length > 0);
      }
    }
  }
});

test('callx is refused with the kernel text, two hex digits', () => {
  const p = decodeProgram(encodeSlots([
    { opcode: 0xb7, dst: 1, src: 0, off: 0, imm: 0 },
    { opcode: 0x8d, dst: 1, src: 0, off: 0, imm: 0 },
    { opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ]), { validate: false });
  assert.equal(verify(p, { progType: SOCKET_FILTER }).error!.reason, 'unknown opcode 8d');
});

test('GPL-only helpers follow the one license list (src/elf/license.ts)', () => {
  const text = 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 4\nr0 = 0\nexit';
  for (const license of ['GPL', 'Dual BSD/GPL', 'GPL and additional rights']) {
    assert.equal(verify(asm(text), { progType: KPROBE, license }).ok, true, license);
  }
  for (const license of ['MIT', 'gpl', 'Proprietary']) {
    assert.equal(verify(asm(text), { progType: KPROBE, license }).error?.reason, 'cannot call GPL-restricted function from non-GPL compatible program', license);
  }
});

test('bpf_trace_printk reads only r1 and r2 (bpf_printk with no arguments)', () => {
  const r = verify(asm('r1 = 10\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 1\ncall 6\nr0 = 0\nexit'), { progType: KPROBE });
  assert.equal(r.ok, true, r.log);
});

// Callbacks need BTF func_info in the kernel; these run with btf: true (the
// kernel-checked case without it is in cases.txt).
const withBtf = (text: string, maps: { type: number; keySize: number; valueSize: number; maxEntries: number }[] = []) =>
  verify(asm(text), { progType: SOCKET_FILTER, btf: true, maps });
const LOOP_CALL = 'r1 = 4\nld_pseudo r2, 4, 6\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\n';
const ARRAY = { type: 2, keySize: 4, valueSize: 8, maxEntries: 4 };

test('bpf_loop: the callback is verified and must return 0 or 1', () => {
  assert.equal(withBtf(LOOP_CALL + 'r0 = 0\nexit').ok, true);
  assert.equal(withBtf(LOOP_CALL + 'r0 = 2\nexit').error?.reason, 'At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]');
  assert.equal(withBtf(LOOP_CALL + 'r0 = *(u64 *)(r1 + 0)\nexit').error?.reason, "R1 invalid mem access 'scalar'");
  assert.equal(withBtf(LOOP_CALL + 'r0 = r3\nexit').error?.reason, 'R3 !read_ok');
});

test('bpf_loop: what one iteration leaves in the caller stack is not assumed by the next', () => {
  const caller = 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 4\nld_pseudo r2, 4, 7\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\nr0 = 0\nexit\n';
  const grows = 'r1 = *(u64 *)(r2 + 0)\nr1 += 1\n*(u64 *)(r2 + 0) = r1\nr4 = r10\nr4 -= r1\nr0 = *(u8 *)(r4 + 0)\nr0 = 0\nexit';
  assert.equal(withBtf(caller + grows).ok, false);
  // Reading and writing scalars through the context is fine.
  assert.equal(withBtf(caller + 'r1 = *(u64 *)(r2 + 0)\nr1 += 1\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit').ok, true);
  // A pointer into the callback's own frame may not be stored in the caller's stack (the kernel's message).
  assert.equal(withBtf(caller + '*(u64 *)(r2 + 0) = r10\nr0 = 0\nexit').error?.reason, 'cannot spill pointers to stack into stack frame of the caller');
});

test('bpf_loop: callbacks are walked until the state at the call converges, as the kernel does', () => {
  // The callback adds 1 to the caller's fp-8; after the loop the caller reads fp[-16 + counter].
  const loop = (n: number, cb: string): string => 'r1 = 0\n*(u64 *)(r10 - 16) = r1\n*(u64 *)(r10 - 8) = r1\n' +
    `r1 = ${n}\nld_pseudo r2, 4, 12\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\n` +
    'r1 = *(u64 *)(r10 - 8)\nr2 = r10\nr2 += -16\nr2 += r1\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit\n' + cb;
  const inc = 'r1 = *(u64 *)(r2 + 0)\nr1 += 1\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit';
  // A constant count is walked exactly (the counter is precise: it moves a pointer): 0 or 1 stays inside fp-16..fp-1.
  assert.equal(withBtf(loop(1, inc)).ok, true, withBtf(loop(1, inc)).log);
  // 17 iterations would read fp+1.
  assert.equal(withBtf(loop(17, inc)).ok, false);
  // A map value pointer stored in the caller's stack: the second iteration's state covers the third, the walk ends.
  const store = 'ld_pseudo r1, 2, 0\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit';
  const r = verify(asm('r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 1000\nld_pseudo r2, 4, 7\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\nr0 = 0\nexit\n' + store),
    { progType: SOCKET_FILTER, btf: true, maps: [ARRAY] });
  assert.equal(r.ok, true, r.log);
  assert.ok(r.processed < 100, `processed ${r.processed}`);
});

test('for_each_map_elem: the callback gets the map, the key and a non-null value', () => {
  const call = 'ld_pseudo r1, 1, 0\nld_pseudo r2, 4, 6\nr3 = 0\nr4 = 0\ncall 164\nr0 = 0\nexit\n';
  assert.equal(withBtf(call + 'r0 = *(u64 *)(r3 + 0)\nr1 = *(u32 *)(r2 + 0)\nr0 = 0\nexit', [ARRAY]).ok, true);
  assert.equal(withBtf(call + 'r0 = *(u64 *)(r3 + 8)\nr0 = 0\nexit', [ARRAY]).ok, false);
  assert.equal(withBtf(call + 'r0 = *(u32 *)(r2 + 4)\nr0 = 0\nexit', [ARRAY]).ok, false);
  assert.equal(withBtf(call + '*(u32 *)(r2 + 0) = r1\nr0 = 0\nexit', [ARRAY]).ok, false);
  assert.match(withBtf(call + 'r0 = 0\nexit', [{ type: 27, keySize: 0, valueSize: 0, maxEntries: 4096 }]).error!.reason, /cannot pass map_type 27 into func bpf_for_each_map_elem#164/);
});

test('a callback whose r0 is out of range on one path only is rejected (r0 precise at callback exit)', () => {
  // kernel selftest verifier_subprog_precision callback_precise_return_fail, in short
  const r = withBtf(LOOP_CALL + 'call 7\nif r0 s> 1000 goto +1\nr0 = 0\nexit');
  assert.equal(r.ok, false);
  assert.equal(r.error!.reason, 'At callback return the register R0 has smin=1001 should have been in [0, 1]');
});

test('LD_ABS in a called function: a failed load returns 0 from it (the kernel\'s hidden exit)', () => {
  const sub = 'fn:\nr6 = r1\nr0 = *(u32 *)skb[0]\nr0 = 1\nexit\n';
  const opts = { progType: SOCKET_FILTER, btf: true };
  assert.equal(verify(asm('call fn\nr0 = 0\nexit\n' + sub), opts).ok, true);
  // r0 is 0 on the failure path, where the caller reads r9 (selftest ld_abs_subprog_early_exit).
  assert.equal(verify(asm('call fn\nif r0 != 0 goto out\nr0 = r9\nout:\nr0 = 0\nexit\n' + sub), opts).error?.reason, 'R9 !read_ok');
  // Without BTF (the kernel's check_abnormal_return), and not inside a callback.
  assert.equal(verify(asm('call fn\nr0 = 0\nexit\n' + sub), { progType: SOCKET_FILTER }).error?.reason, 'LD_ABS is not allowed in subprogs without BTF');
  const cb = 'r1 = 1\nld_pseudo r2, 4, 6\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\nr6 = r2\nr0 = *(u32 *)skb[0]\nr0 = 0\nexit\n';
  assert.equal(verify(asm(cb), { progType: SOCKET_FILTER, btf: true }).error?.reason, 'cannot use BPF_LD_[ABS|IND] within callback');
});
