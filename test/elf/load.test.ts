// The example objects load into the programs and maps their C sources describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProgram } from '../../src/isa/decode.js';
import { Class, JmpOp, Mode, PseudoCall, PseudoLd, Size } from '../../src/isa/fields.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import { formatBtfValue } from '../../src/btf/print.js';
import { LineTable } from '../../src/btf/line-info.js';
import { assertRunnable } from '../../src/elf/runnable.js';
import { UnsupportedError } from '../../src/internal/errors.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/spec.js';
import { COMPILERS, exampleObjects, loadExample } from './helpers.js';

const LDDW = Class.LD | Mode.IMM | Size.DW;
const CALL = Class.JMP | JmpOp.CALL;

function prog(spec: ObjectSpec, name: string): ProgramSpec {
  const p = spec.programs.find((x) => x.name === name);
  assert.ok(p, `program ${name} in ${spec.programs.map((x) => x.name).join(',')}`);
  return p;
}

/** Structural invariants every linked program must satisfy. */
function checkLinked(spec: ObjectSpec, p: ProgramSpec): void {
  const d = decodeProgram(p.insns); // validates opcodes, fields and jump targets
  const starts = new Set(p.functions.map((f) => f.insn));
  assert.equal(p.functions[0]!.insn, 0);
  assert.equal(p.functions.reduce((n, f) => n + f.length, 0), d.length, 'functions tile the program');
  const refAt = new Map(p.mapRefs.map((r) => [r.insn, r]));
  for (let i = 0; i < d.length; i++) {
    if (d.opcode[i] === CALL && d.src[i] === PseudoCall.LOCAL) {
      assert.ok(starts.has(i + 1 + d.imm[i]!), `${p.name}: call at ${i} lands on a function start`);
    }
    if (d.opcode[i] === LDDW) {
      const src = d.src[i]!;
      if (src === PseudoLd.MAP_FD || src === PseudoLd.MAP_VALUE) {
        const ref = refAt.get(i);
        assert.ok(ref, `${p.name}: lddw at ${i} has a map reference`);
        assert.equal(d.imm[i], ref.map);
        assert.ok(ref.map < spec.maps.length);
        assert.equal(src, ref.kind === 'fd' ? PseudoLd.MAP_FD : PseudoLd.MAP_VALUE);
        assert.equal(d.imm[i + 1], ref.offset);
      }
      if (src === PseudoLd.FUNC) assert.ok(starts.has(i + 1 + d.imm[i]!), `${p.name}: callback address at ${i}`);
      i++;
    }
  }
  for (const l of p.lineInfo) assert.ok(l.insn >= 0 && l.insn < d.length);
  for (const f of p.funcInfo) assert.ok(starts.has(f.insn), `func_info at ${f.insn} is a function start`);
  // func_info names the BTF FUNC of the function placed there.
  const nameAt = new Map(p.functions.map((f) => [f.insn, f.name]));
  for (const f of p.funcInfo) assert.equal(spec.btf!.type(f.typeId).name, nameAt.get(f.insn), `${p.name}: func_info at ${f.insn}`);
}

test('every example object loads and links into valid programs', () => {
  const names = exampleObjects();
  assert.ok(names.length >= 10, 'examples are committed');
  for (const name of names) {
    const spec = loadExample(name);
    assert.ok(spec.programs.length > 0, name);
    for (const p of spec.programs) checkLinked(spec, p);
  }
});

for (const cc of COMPILERS) test(`${cc}maps.o: BTF-defined maps of several kinds`, () => {
  const spec = loadExample(cc + 'maps.o');
  const byName = new Map(spec.maps.map((m) => [m.name, m]));
  const expect: [string, string, number, number, number, number][] = [
    ['counters', 'array', 4, 8, 4, 0],
    ['flows', 'hash', 16, 24, 1024, 0],
    ['percpu', 'percpu_array', 4, 8, 1, 0],
    ['lru', 'lru_hash', 8, 4, 256, 2],
    ['outer', 'array_of_maps', 4, 4, 8, 0],
    ['events', 'ringbuf', 0, 0, 4096, 0],
  ];
  for (const [name, type, k, v, max, flags] of expect) {
    const m = byName.get(name);
    assert.ok(m, name);
    assert.deepEqual([m.type, m.typeId, m.keySize, m.valueSize, m.maxEntries, m.flags, m.origin], [type, BPF_MAP_TYPE[type], k, v, max, flags, 'btf'], name);
  }
  assert.equal(byName.get('lru')!.pinning, 1);
  // Initial slots of a map-in-map and a prog array, from relocations in .maps.
  assert.deepEqual(byName.get('outer')!.initValues, [{ index: 3, map: 'inner_a' }]);
  assert.deepEqual(byName.get('jumps')!.initValues, [{ index: 2, program: 'tail_target' }]);
  assert.deepEqual([byName.get('jumps')!.type, byName.get('jumps')!.valueSize], ['prog_array', 4]);
  assert.deepEqual(spec.programs.map((x) => x.name), ['tail_target', 'count_packets']);
  const inner = byName.get('outer')!.innerMap!;
  assert.deepEqual([inner.type, inner.keySize, inner.valueSize, inner.maxEntries], ['array', 4, 4, 2]);
  assert.equal(spec.btf!.describe(byName.get('flows')!.keyTypeId!), 'struct flow_key');
  const p = prog(spec, 'count_packets');
  assert.deepEqual([p.type, p.typeId, p.section, p.license], ['xdp', BPF_PROG_TYPE['xdp'], 'xdp', 'GPL']);
  const used = new Set(p.mapRefs.filter((r) => r.kind === 'fd').map((r) => spec.maps[r.map]!.name));
  for (const n of ['counters', 'flows', 'percpu', 'lru', 'outer', 'events', 'jumps']) assert.ok(used.has(n), `program references ${n}`);
});

test('maps.bpfeb.o: a big-endian object loads like the little-endian one', () => {
  const el = loadExample('maps.o');
  const eb = loadExample('maps.bpfeb.o');
  assert.equal(eb.endianness, 'big');
  assert.deepEqual(eb.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]), el.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]));
  assert.deepEqual(eb.programs.map((p) => [p.name, p.type]), el.programs.map((p) => [p.name, p.type]));
  // The stream is normalised to little-endian layout, so it decodes and refers to the same maps
  // (clang's code for the two byte orders differs slightly, so the bytes are not compared).
  const fdRefs = (s: ObjectSpec): string[] => prog(s, 'count_packets').mapRefs.filter((r) => r.kind === 'fd').map((r) => s.maps[r.map]!.name);
  assert.deepEqual(fdRefs(eb), fdRefs(el));
  assert.deepEqual(eb.maps.map((m) => m.initValues), el.maps.map((m) => m.initValues));
  const d = decodeProgram(prog(eb, 'count_packets').insns);
  assert.equal(d.opcode[d.length - 1], Class.JMP | JmpOp.EXIT);
});

for (const cc of COMPILERS) test(`${cc}legacy_maps.o: struct bpf_map_def maps, license and version`, () => {
  const spec = loadExample(cc + 'legacy_maps.o');
  assert.deepEqual(spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.origin]), [
    ['legacy_hash', 'hash', 4, 8, 64, 'legacy'],
    ['legacy_array', 'array', 4, 16, 8, 'legacy'],
  ]);
  assert.equal(spec.license, 'Dual BSD/GPL');
  assert.equal(spec.gplCompatible, true);
  assert.equal(loadExample('globals.o').gplCompatible, true);
  assert.equal(spec.version, 0x060c00);
  const p = prog(spec, 'legacy_filter');
  assert.deepEqual([p.type, p.section], ['socket_filter', 'socket']);
  assert.deepEqual([...new Set(p.mapRefs.map((r) => spec.maps[r.map]!.name))].sort(), ['legacy_array', 'legacy_hash']);
});

for (const cc of COMPILERS) test(`${cc}globals.o: global data sections become array maps with their initial contents`, () => {
  const spec = loadExample(cc + 'globals.o');
  const byName = new Map(spec.maps.map((m) => [m.name, m]));
  for (const n of ['.rodata', '.data', '.bss', '.rodata.str1.1']) {
    const m = byName.get(n);
    assert.ok(m, n);
    assert.deepEqual([m.type, m.keySize, m.maxEntries, m.origin], ['array', 4, 1, 'data']);
    assert.equal(m.initial!.length, m.valueSize);
  }
  assert.equal(byName.get('.rodata')!.frozen, true);
  assert.equal(byName.get('.data')!.frozen, undefined);
  assert.ok(byName.get('.bss')!.initial!.every((b) => b === 0));
  const str = new TextDecoder().decode(byName.get('.rodata.str1.1')!.initial!);
  assert.ok(str.includes('packet seen\0'), str);
  const btf = spec.btf!;
  const rodata = byName.get('.rodata')!;
  assert.deepEqual(JSON.parse(formatBtfValue(btf, rodata.valueTypeId!, rodata.initial!)), { threshold: 42, cfg: { mode: 3, name: 'edge' } });
  const data = byName.get('.data')!;
  assert.deepEqual(JSON.parse(formatBtfValue(btf, data.valueTypeId!, data.initial!)), { hits: 5, greeting: 'hello, tsbpf' });
  // Every global is reached through src=2 references, with offsets inside the value.
  const p = prog(spec, 'use_globals');
  const refs = p.mapRefs.filter((r) => r.kind === 'value');
  assert.ok(refs.length >= 5);
  for (const r of refs) assert.ok(r.offset < spec.maps[r.map]!.valueSize);
  const hitsSym = btf.types.find((t) => t.name === 'hits')!;
  assert.ok(hitsSym);
  const touched = new Set(refs.map((r) => `${spec.maps[r.map]!.name}+${r.offset}`));
  assert.ok(touched.has('.rodata.str1.1+0'), [...touched].join(' '));
});

test('subprogs.o: sub-functions are appended once and calls re-targeted', () => {
  for (const file of ['subprogs.o', 'subprogs.O0.o', 'subprogs.v1.o', 'subprogs.v2.o', 'subprogs.v3.o', 'subprogs.v4.o', 'clang14/subprogs.o']) {
    const spec = loadExample(file);
    assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.type]), [
      ['first', 'tc', 'sched_cls'],
      ['second', 'tc', 'sched_cls'],
    ], file);
    const first = prog(spec, 'first');
    const second = prog(spec, 'second');
    assert.deepEqual(first.functions.map((f) => f.name).sort(), ['first', 'square', 'store', 'sum_squares'], file);
    assert.deepEqual(second.functions.map((f) => f.name).sort(), ['add_step', 'second', 'square', 'store'], file);
    assert.ok(spec.subprograms.includes('square'));
    assert.deepEqual(first.funcInfo.map((f) => f.insn), first.functions.map((f) => f.insn), file);
    assert.deepEqual(second.funcInfo.map((f) => f.insn), second.functions.map((f) => f.insn), file);
  }
});

for (const cc of COMPILERS) test(`${cc}programs.o: program types and attach targets from section names`, () => {
  const spec = loadExample(cc + 'programs.o');
  const got = spec.programs.map((p) => [p.name, p.type, p.expectedAttachType ?? '', p.attachTo ?? '']);
  assert.deepEqual(got, [
    ['on_open', 'kprobe', '', 'do_sys_openat2'],
    ['on_open_ret', 'kprobe', '', 'do_sys_openat2'],
    ['on_enter_openat', 'tracepoint', '', 'syscalls/sys_enter_openat'],
    ['on_switch', 'raw_tracepoint', '', 'sched_switch'],
    ['on_malloc', 'kprobe', '', '/usr/lib/libc.so.6:malloc'],
    ['sock', 'socket_filter', '', ''],
    ['tc_in', 'sched_cls', 'tcx_ingress', ''],
    ['cls', 'sched_cls', '', ''],
    ['egress', 'cgroup_skb', 'cgroup_inet_egress', ''],
    ['frags', 'xdp', 'xdp', ''],
    ['sys', 'syscall', '', ''],
    ['perf', 'perf_event', '', ''],
  ]);
  assert.equal(prog(spec, 'sys').sleepable, true);
  assert.equal(prog(spec, 'sys').progFlags, 1 << 4);
  assert.equal(prog(spec, 'frags').progFlags, 1 << 5);
  assert.equal(prog(spec, 'sock').progFlags, 0);
});

test('loops.o and loops.nodebug.o: with and without BTF', () => {
  const dbg = loadExample('loops.o');
  const nodbg = loadExample('loops.nodebug.o');
  assert.ok(dbg.btf && dbg.btfExt);
  assert.equal(nodbg.btfExt, undefined);
  assert.deepEqual(nodbg.programs.map((p) => p.name), ['checksum', 'collatz']);
  assert.deepEqual(nodbg.programs.map((p) => p.insns), dbg.programs.map((p) => p.insns));
  assert.deepEqual(nodbg.programs[0]!.lineInfo, []);
});

for (const cc of COMPILERS) test(`${cc}core.o: CO-RE relocations and kconfig externs are reported, not silently ignored`, () => {
  const spec = loadExample(cc + 'core.o');
  const p = prog(spec, 'parent_pid');
  assert.ok(p.coreRelos.length >= 2);
  assert.ok(p.coreRelos.every((r) => r.typeName === 'struct task_struct'));
  assert.ok(p.coreRelos.some((r) => r.kindName === 'field_exists'));
  assert.deepEqual(spec.externs.map((e) => [e.name, e.kind]), [['LINUX_KERNEL_VERSION', 'kconfig']]);
  assert.deepEqual(p.externs, ['LINUX_KERNEL_VERSION']);
  assert.equal(p.attachTo, 'wake_up_new_task');
  assert.throws(() => assertRunnable(spec, p), (e: unknown) => e instanceof UnsupportedError && /parent_pid .*needs 3 CO-RE relocations against a target BTF \(struct task_struct\); uses extern LINUX_KERNEL_VERSION, a .kconfig value/.test(e.message));
  const ok = loadExample('loops.o');
  assert.doesNotThrow(() => assertRunnable(ok, ok.programs[0]!));
});

test('line info: instruction -> file, line, column and source text', () => {
  const spec = loadExample('loops.o');
  const p = prog(spec, 'collatz');
  const lines = new LineTable(p.lineInfo);
  const first = lines.lineAt(0)!;
  assert.ok(first.file.endsWith('loops.c'), first.file);
  assert.ok(first.line > 0 && first.col >= 0);
  // Every record's text is the source line it names.
  const src = (p.lineInfo.find((l) => l.text.includes('3 * n + 1')));
  assert.ok(src, 'the collatz step has a line record');
  assert.equal(lines.lineAt(src.insn)!.line, src.line);
  const last = p.insns.length / 8 - 1;
  assert.ok(lines.lineAt(last));
});

test('asm_calls.o: hand-written assembly without BTF, types or sizes on its symbols', () => {
  const spec = loadExample('asm_calls.o');
  assert.equal(spec.btf, undefined);
  const p = prog(spec, 'xdp_asm');
  assert.deepEqual(p.functions, [
    { name: 'xdp_asm', insn: 0, length: 10, section: 'xdp', sectionInsn: 0 },
    { name: 'add_pair', insn: 10, length: 3, section: '.text', sectionInsn: 0 },
  ]);
  const d = decodeProgram(p.insns);
  assert.equal(d.imm[2], 7, 'call re-targeted to the appended add_pair');
  assert.deepEqual(p.mapRefs, [{ insn: 3, map: 0, kind: 'value', offset: 0 }]);
  assert.equal(spec.maps[0]!.name, '.data');
  assert.equal(new DataView(spec.maps[0]!.initial!.buffer).getUint32(0, true), 40);
  // An lddw without a relocation keeps its 64-bit constant.
  assert.deepEqual([d.src[7], d.imm[7], d.imm[8]], [0, 0, 1]);
  assert.deepEqual(spec.subprograms, ['add_pair']);
});
