#!/usr/bin/env node
// Agreement of tsbpf's verifier with the Linux kernel's, on three corpora:
//   1. the hand-written cases (test/fixtures/verifier/cases.txt), loaded into
//      the running kernel too when we are root;
//   2. the kernel's own verifier selftests, built by
//      /work/shared/verifier-corpus (build.sh + corpus.py) into a directory
//      with corpus.json: each program's verdict from the running kernel;
//   3. random programs (scalars, stack, ctx, maps and helper calls), loaded
//      into the kernel when root; accepted ones also run in the bounds-checked
//      interpreter when it is available, and none may fault.
//   2b. every example object, loaded into the kernel as libbpf loads it
//      (`bpftool prog loadall`: BTF, func_info, inner maps) and verified
//      here with the runtime's options (src/verifier/object.ts).
//   2c. optional: real projects' objects (--objects DIR, default
//      $TSBPF_PROJECT_OBJECTS; falco, suricata, Linux samples, see
//      docs/real-objects.md), linked and CO-RE relocated against the kernel's
//      BTF; each program loaded into the kernel and checked as `tsbpf check`
//      checks it. Its own line; in the combined figure only when it ran.
// Where both reject, the error lines are compared too ("same error").
// Usage: node scripts/verifier-report.mjs [--corpus DIR] [--objects DIR[:DIR]] [--random N] [--seed S] [--json] [--verbose] [--only TEXT]
// (run `npx tsc -p .` first). Agreement counts programs where the kernel gave
// a verdict; "unsafe accepts" are programs the kernel rejects and we accept.
// The last line (and the last --json row, corpus 'combined') sums every
// corpus that ran: agreeing programs over programs with a kernel verdict.
// Selftests are CO-RE relocated (against their __btf_path object or the
// running kernel's BTF) and verified with the kernel's BTF, examples loaded
// with its .kconfig values, as libbpf loads them.
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { verify } = await import(dist('src/verifier/index.js'));
const { decodeProgram } = await import(dist('src/isa/decode.js'));
const { BPF_PROG_TYPE, BPF_ATTACH_TYPE } = await import(dist('src/internal/uapi.gen.js'));
// Attach types newer than the generated table (enum bpf_attach_type, 6.12).
const ATTACH = { netfilter: 45, tcx_ingress: 46, tcx_egress: 47, cgroup_unix_connect: 49, cgroup_unix_sendmsg: 50, cgroup_unix_recvmsg: 51, cgroup_unix_getpeername: 52, cgroup_unix_getsockname: 53 };
const { loadCases, caseProgFlags } = await import(dist('test/verifier/cases.js'));
const { kernelVerdicts } = await import(dist('test/verifier/kernel.js'));
const { randomPrograms } = await import(dist('test/verifier/random-programs.js'));
const { unrelocatedMapLoads, verifierMaps, objectVerifyOptions } = await import(dist('src/verifier/object.js'));
const { attachCtxSize } = await import(dist('src/runtime/verify.js'));
const { funcSignatures } = await import(dist('src/verifier/btf-funcs.js'));
const { ctxLayout } = await import(dist('src/progtypes/ctx.js'));
const { kfuncCalls } = await import(dist('src/verifier/kfuncs-object.js'));
const { loadKernelBtf } = await import(dist('src/verifier/kfuncs-vmlinux.js'));
const { tracingCtxOf } = await import(dist('src/verifier/tracing-ctx.js'));

const USAGE = 'usage: node scripts/verifier-report.mjs [--corpus DIR] [--objects DIR[:DIR]] [--random N] [--seed S] [--json] [--verbose] [--only TEXT] [--update-divergences]\n(see the comment at the top of this script; run `npx tsc -p .` first)';
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      corpus: { type: 'string', default: '/tmp/vcorpus' },
      objects: { type: 'string', default: process.env['TSBPF_PROJECT_OBJECTS'] ?? '' },
      random: { type: 'string', default: '300' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      // Only selftests and examples whose name (object:function) contains this text (for a quick look; no list update).
      only: { type: 'string' },
      'update-divergences': { type: 'boolean', default: false },
    },
  });
} catch (e) {
  console.error(`verifier-report: ${e.message}\n${USAGE}`);
  process.exit(2);
}
const args = parsed.values;
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const DIVERGENCES = join(root, 'test/fixtures/verifier/selftest-divergences.txt');
// The kernel bounds bpf_get_smp_processor_id by the machine's possible CPUs; tell our verifier the same.
const possibleCpus = (() => {
  try {
    const m = /(\d+)\s*$/.exec(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
    return m ? Number(m[1]) + 1 : undefined;
  } catch {
    return undefined;
  }
})();

/** The kernel's error line: the last log line before the statistics (processed N insns ...). */
function kernelErrorLine(log) {
  const lines = String(log ?? '').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  let end = lines.length;
  // (after 'infinite loop detected' the kernel prints the two states it compared)
  while (end > 0 && /^(processed \d+ insns|verification time|stack depth|libbpf:|-- END|Error:|cur state:|old state:)/.test(lines[end - 1])) end--;
  return end > 0 ? lines[end - 1] : undefined;
}

/** Same error: equal lines, or one contains the other (the kernel sometimes adds a prefix such as 'R1 '). */
function sameErrorLine(kernel, ours) {
  if (kernel === undefined || ours === undefined) return false;
  return kernel === ours || kernel.includes(ours) || ours.includes(kernel);
}

const rows = [];
function tally(name, items) {
  // items: {name, kernel: 'accept'|'reject'|other, ours: 'accept'|'reject', note?}
  const judged = items.filter((x) => x.kernel === 'accept' || x.kernel === 'reject');
  const agree = judged.filter((x) => x.kernel === x.ours);
  const unsafe = judged.filter((x) => x.kernel === 'reject' && x.ours === 'accept');
  const strict = judged.filter((x) => x.kernel === 'accept' && x.ours === 'reject');
  // Both reject: is our one-line reason the kernel's error line?
  const bothReject = judged.filter((x) => x.kernel === 'reject' && x.ours === 'reject' && x.kernelError !== undefined);
  const sameError = bothReject.filter((x) => sameErrorLine(x.kernelError, x.note));
  const row = {
    corpus: name, programs: items.length, judged: judged.length, agree: agree.length,
    agreement: judged.length ? +(100 * agree.length / judged.length).toFixed(1) : null,
    unsafeAccepts: unsafe.length, overStrict: strict.length,
    bothReject: bothReject.length, sameError: sameError.length,
    errorDiffs: bothReject.filter((x) => !sameErrorLine(x.kernelError, x.note)).map((x) => `${x.name}: kernel '${x.kernelError}', tsbpf '${x.note ?? ''}'`),
    unsafeList: unsafe.map((x) => x.name), strictList: strict.map((x) => `${x.name}: ${x.note ?? ''}`),
  };
  rows.push(row);
  return row;
}

// ---- 1. hand-written cases ----
{
  const cases = loadCases(join(root, 'test/fixtures/verifier/cases.txt'));
  const kv = kernelVerdicts(cases.map((c) => ({ bytes: c.bytes, progType: c.progType, maps: c.maps, license: c.license, progFlags: caseProgFlags(c) })));
  const items = cases.map((c, i) => {
    const r = verify(c.prog, { progType: c.progType, maps: c.maps, license: c.license, sleepable: c.sleepable, logLevel: 0, possibleCpus });
    const k = kv[i].status === 'unavailable' ? c.expect : kv[i].status;
    const kernelError = kv[i].status === 'reject' ? kernelErrorLine(kv[i].log) : undefined;
    return { name: c.name, kernel: k, ours: r.ok ? 'accept' : 'reject', note: r.error?.reason, kernelError };
  });
  tally(kv[0]?.status === 'unavailable' ? 'hand-written (recorded kernel verdicts)' : 'hand-written (live kernel)', items);
}

// ---- 2. kernel selftests ----
/** A BTF tracing program's context (tp_btf, fentry, iterators) from the kernel's BTF, as tsbpf check gives it. */
function selftestTracingCtx(p, progType) {
  const kbtf = loadKernelBtf();
  if (progType !== BPF_PROG_TYPE.tracing || !kbtf || p.expectedAttachType === undefined || p.attachTo === undefined) return {};
  const tc = tracingCtxOf(kbtf, p.expectedAttachType, p.attachTo);
  return typeof tc === 'string' ? {} : { tracingCtx: tc };
}
const corpusFile = join(args.corpus, 'corpus.json');
if (existsSync(corpusFile)) {
  const { loadObject } = await import(dist('src/elf/index.js'));
  const corpus = JSON.parse(readFileSync(corpusFile, 'utf8'));
  const { readTargetBtf } = await import(dist('src/elf/target-btf.js'));
  const objects = new Map();
  const targets = new Map();
  /** The CO-RE target libbpf relocated the selftest against: its __btf_path object's BTF, else the running kernel's. */
  const coreTargetOf = (btfPath) => {
    const path = btfPath ? join(args.corpus, 'objs', btfPath) : '/sys/kernel/btf/vmlinux';
    if (!targets.has(path)) targets.set(path, existsSync(path) ? readTargetBtf(path) : undefined);
    return targets.get(path);
  };
  const items = [];
  let slowest = { ms: 0 };
  for (const e of corpus) {
    if (args.only !== undefined && !`${e.object}:${e.function}`.includes(args.only)) continue;
    const kernel = e.kernel === 'success' ? 'accept' : e.kernel === 'failure' ? 'reject' : 'other';
    // CO-RE relocated as the kernel saw them: libbpf loads each test against its __btf_path (a test object's BTF) or the kernel's BTF.
    const objectKey = `${e.object}\0${e.btf_path ?? ''}`;
    let spec = objects.get(objectKey);
    if (spec === undefined) {
      try {
        const coreTarget = coreTargetOf(e.btf_path);
        spec = loadObject(new Uint8Array(readFileSync(join(args.corpus, 'objs', e.object))), { file: e.object, ...(coreTarget ? { coreTarget } : {}) });
      } catch (err) {
        spec = err;
      }
      objects.set(objectKey, spec);
    }
    const name = `${e.object}:${e.function}`;
    if (spec instanceof Error) {
      items.push({ name, kernel, ours: 'reject', note: `load: ${spec.message}` });
      continue;
    }
    const p = spec.programs.find((x) => x.name === e.function);
    if (!p) {
      items.push({ name, kernel, ours: 'reject', note: 'program not found by the ELF loader' });
      continue;
    }
    const progType = BPF_PROG_TYPE[e.prog_type] ?? p.typeId;
    const maps = verifierMaps(spec);
    let ours = 'reject', note;
    const t0 = performance.now();
    try {
      const prog = decodeProgram(unrelocatedMapLoads(p), { validate: false });
      const r = verify(prog, {
        progType, maps, license: spec.license, logLevel: 0, strictAlignment: e.flags.includes('BPF_F_STRICT_ALIGNMENT'), sleepable: e.flags.includes('BPF_F_SLEEPABLE'), btf: p.funcInfo.length > 0, possibleCpus,
        funcs: funcSignatures(spec.btf, p.funcInfo, ctxLayout(progType).name),
        kfuncs: kfuncCalls(spec, p), kernelBtf: loadKernelBtf(), ...(spec.coreTarget ? { coreTarget: spec.coreTarget } : {}),
        expectedAttachType: e.attach_type ? ATTACH[e.attach_type] ?? BPF_ATTACH_TYPE[e.attach_type] : undefined,
        ...selftestTracingCtx(p, progType),
      });
      ours = r.ok ? 'accept' : 'reject';
      note = r.error?.reason;
      const ms = performance.now() - t0;
      if (ms > slowest.ms) slowest = { ms, name, processed: r.processed, insns: prog.length };
    } catch (err) {
      note = `error: ${err.message}`;
    }
    // corpus.json keeps the kernel log's last line; after 'infinite loop
    // detected at insn N' the kernel prints the two states it compared
    // ('cur state:', 'old state:'), so that line stands for the message.
    const lastLine = kernel === 'reject' && e.kernel_stage === 'verifier' && e.kernel_error ? e.kernel_error : undefined;
    const kernelError = lastLine !== undefined && /^(cur|old) state:/.test(lastLine) ? 'infinite loop detected at insn' : lastLine;
    if (p.externs.length) note = `${note ?? ''} [externs: ${p.externs.join(',')}]`;
    items.push({ name, kernel, ours, note, kernelError });
  }
  const row = tally('kernel verifier selftests', items);
  row.slowest = slowest;
  // Known divergences: committed, may only shrink.
  const now = items.filter((x) => (x.kernel === 'accept' || x.kernel === 'reject') && x.kernel !== x.ours)
    .map((x) => `${x.name}\tkernel ${x.kernel}, tsbpf ${x.ours}${x.note ? `: ${x.note}` : ''}`).sort();
  const known = existsSync(DIVERGENCES)
    ? new Set(readFileSync(DIVERGENCES, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t')[0]))
    : new Set();
  row.newDivergences = now.map((l) => l.split('\t')[0]).filter((n) => !known.has(n));
  row.fixedDivergences = [...known].filter((n) => (args.only === undefined || n.includes(args.only)) && !now.some((l) => l.startsWith(n + '\t')));
  if (args['update-divergences'] && args.only === undefined) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(DIVERGENCES, '# Kernel selftests where tsbpf\'s verdict differs from the kernel\'s (scripts/verifier-report.mjs --update-divergences).\n# This list may only shrink.\n' + now.join('\n') + '\n');
  }
} else {
  rows.push({ corpus: 'kernel verifier selftests', skipped: `no ${corpusFile} (run /work/shared/verifier-corpus/build.sh and corpus.py)` });
}

// ---- 2b. example objects (examples/**/*.o) ----
{
  const { loadObject } = await import(dist('src/elf/index.js'));
  const { readdirSync } = await import('node:fs');
  const { kernelKconfig } = await import(dist('src/elf/kernel-config.js'));
  const kconfig = kernelKconfig();
  const dir = join(root, 'examples');
  const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.o') && !f.includes('bpfeb')).sort();
  const items = [];
  const jobs = [];
  for (const f of files) {
    let spec;
    try {
      // .kconfig externs get the running kernel's values, as libbpf gives them (a read-only .kconfig map).
      spec = loadObject(new Uint8Array(readFileSync(join(dir, f))), { file: f, kconfig });
    } catch {
      continue;
    }
    const kernel = bpftoolVerdicts(join(dir, f), spec.programs.map((p) => p.name));
    for (const p of spec.programs) {
      if (p.typeId <= 0) continue;
      // As the runtime verifies it (Node attach contexts included).
      const ctxSize = attachCtxSize(spec, p);
      const prog = decodeProgram(unrelocatedMapLoads(p), { validate: false });
      const opts = objectVerifyOptions(spec, p, { logLevel: 0, ...(possibleCpus ? { possibleCpus } : {}), ...(ctxSize !== undefined ? { ctxSize } : {}) });
      const t0 = performance.now();
      const r = verify(prog, opts);
      const ms = performance.now() - t0;
      const k = kernel.get(p.name) ?? { status: 'other' };
      // Programs attached in Node read a context the kernel never gives them: their kernel verdict is not comparable.
      const status = ctxSize !== undefined ? 'other' : k.status;
      items.push({ name: `${f}:${p.name}`, kernel: status, ours: r.ok ? 'accept' : 'reject', note: r.error?.reason, kernelError: k.error, ms, insns: prog.length, processed: r.processed });
      jobs.push({ prog, opts });
    }
  }
  const row = tally(kernelAvailable() ? 'example objects (bpftool prog loadall)' : 'example objects (no kernel: not judged)', items);
  const big = items.reduce((a, b) => (b.insns > a.insns ? b : a), items[0]);
  if (big) row.slowest = { ms: big.ms, name: big.name, insns: big.insns, processed: big.processed };
  // Timing of the largest example: first run (cold) and the median of 5 warm runs.
  const bi = items.indexOf(big);
  if (bi >= 0) {
    const { prog, opts } = jobs[bi];
    const times = [];
    for (let k = 0; k < 6; k++) {
      const t0 = performance.now();
      verify(prog, { ...opts, logLevel: 1 });
      times.push(performance.now() - t0);
    }
    const warm = times.slice(1).sort((a, b) => a - b);
    row.timing = { name: big.name, insns: big.insns, processed: big.processed, coldMs: +times[0].toFixed(1), warmMedianMs: +warm[2].toFixed(1) };
  }
}

function kernelAvailable() {
  return process.getuid?.() === 0 && spawnSync('bpftool', ['version']).status === 0 && existsSync('/sys/fs/bpf');
}

/**
 * The kernel's verdict per program of an object, loaded the way libbpf loads
 * it (bpftool prog loadall: BTF, func_info, line info, inner maps). The load
 * is all or nothing: when it fails, the program libbpf names is rejected
 * (with its verifier error line) and the others are unknown ('other').
 */
function bpftoolVerdicts(file, names) {
  const out = new Map();
  if (!kernelAvailable()) return out;
  const pin = `/sys/fs/bpf/tsbpf-report-${process.pid}`;
  try {
    const r = spawnSync('bpftool', ['prog', 'loadall', file, pin], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) {
      for (const n of names) out.set(n, { status: 'accept' });
      return out;
    }
    const text = `${r.stdout}\n${r.stderr}`;
    const failed = /libbpf: prog '([^']+)': BPF program load failed/.exec(text)?.[1];
    if (failed !== undefined) {
      const log = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(text)?.[1] ?? '';
      out.set(failed, { status: 'reject', error: kernelErrorLine(log) });
    }
    return out;
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

// ---- 2c. real projects' objects (--objects DIR) ----
if (args.objects) {
  const { objectVerdicts, projectObjects } = await import(dist('test/verifier/real-objects.js'));
  const files = projectObjects(args.objects);
  if (files.length === 0) rows.push({ corpus: 'project objects', skipped: `no .o files under ${args.objects}` });
  else {
    const { verdicts, unloadable, kernelSkip } = objectVerdicts(files);
    const row = tally(kernelSkip ? `project objects (no kernel: ${kernelSkip})` : `project objects (${files.length} objects under ${args.objects})`, verdicts);
    row.kernelAccepts = verdicts.filter((x) => x.kernel === 'accept').length;
    row.notes = [`${verdicts.length} programs, ${verdicts.length - row.judged} without a kernel verdict (attach target or type the harness cannot load)`,
      ...unloadable.map((u) => `not loaded (as libbpf): ${u.slice(0, 160)}`)];
  }
}

// ---- 3. random programs ----
{
  const n = Number(args.random);
  const progs = randomPrograms(n, Number(args.seed));
  const kv = kernelVerdicts(progs.map((g) => ({ bytes: g.bytes, progType: g.progType, maps: g.maps })));
  if (kv[0]?.status === 'unavailable') {
    rows.push({ corpus: 'random programs', skipped: `kernel oracle unavailable: ${kv[0].log}` });
  } else {
    const items = progs.map((g, i) => {
      const r = verify(decodeProgram(g.bytes, { validate: false }), { progType: g.progType, maps: g.maps, logLevel: 0, possibleCpus });
      return { name: `random#${i} seed ${args.seed}`, kernel: kv[i].status, ours: r.ok ? 'accept' : 'reject', note: r.error?.reason, bytes: g.bytes };
    });
    const row = tally('random programs', items);
    row.kernelAccepts = items.filter((x) => x.kernel === 'accept').length;
    row.interpreter = await runAccepted(progs, items);
  }
}

/**
 * Run every program our verifier accepted in the runtime's bounds-checked
 * interpreter (test run with a 64-byte packet): a verified program must never
 * fault. Returns counts, or why it could not run.
 */
async function runAccepted(progs, items) {
  let Runtime;
  try {
    ({ Runtime } = await import(dist('src/runtime/runtime.js')));
  } catch (e) {
    return { skipped: `runtime not available: ${e.message}` };
  }
  const { MemoryFault } = await import(dist('src/internal/errors.js'));
  const { BPF_MAP_TYPE } = await import(dist('src/internal/uapi.gen.js'));
  const mapName = (t) => Object.keys(BPF_MAP_TYPE).find((k) => BPF_MAP_TYPE[t] === undefined && BPF_MAP_TYPE[k] === t) ?? 'hash';
  const out = { ran: 0, faults: 0, otherErrors: 0, faultList: [], errorSample: undefined };
  for (let i = 0; i < progs.length; i++) {
    if (items[i].ours !== 'accept') continue;
    const g = progs[i];
    const n = g.bytes.length / 8;
    const mapRefs = [];
    for (let k = 0; k < n; k++) if (g.bytes[k * 8] === 0x18 && (g.bytes[k * 8 + 1] >> 4) === 1) mapRefs.push({ insn: k, map: g.bytes[k * 8 + 4], kind: 'fd', offset: 0 });
    const type = g.progType === 6 ? 'xdp' : 'socket_filter';
    const spec = {
      file: 'random', endianness: 'little', license: 'GPL', gplCompatible: true, coreRelos: [], externs: [], subprograms: [], notes: [],
      maps: g.maps.map((m, k) => ({ name: `m${k}`, type: mapName(m.type), typeId: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: 0, pinning: 0, section: '.maps', origin: 'btf' })),
      programs: [{
        name: 'p', section: type === 'xdp' ? 'xdp' : 'socket', type, typeId: g.progType, sleepable: false, progFlags: 0, legacySectionName: false,
        insns: g.bytes, mapRefs, functions: [{ name: 'p', insn: 0, length: n }], funcInfo: [], lineInfo: [], coreRelos: [], externs: [], license: 'GPL', autoload: true,
      }],
    };
    try {
      const rt = new Runtime({ engine: 'interp', verify: false });
      const coll = rt.loadObject(spec, { verify: false });
      const packet = new Uint8Array(64).map((_, k) => (k * 37) & 0xff);
      coll.program('p').testRun({ dataIn: packet, engine: 'interp' });
      out.ran++;
      rt.dispose?.();
    } catch (e) {
      if (e instanceof MemoryFault) {
        out.faults++;
        out.faultList.push(`${items[i].name}: ${e.message}`);
      } else {
        out.otherErrors++;
        out.errorSample ??= `${items[i].name}: ${e.message}`;
      }
    }
  }
  return out;
}

// One figure over every corpus that ran: programs the kernel gave a verdict
// on (accept or reject), and how many of those got the same verdict here.
// Corpora that were skipped (no kernel, no selftest build) count nothing.
const ran = rows.filter((r) => !r.skipped && r.corpus !== 'combined');
const combined = {
  corpus: 'combined',
  judged: ran.reduce((n, r) => n + r.judged, 0),
  agree: ran.reduce((n, r) => n + r.agree, 0),
  unsafeAccepts: ran.reduce((n, r) => n + r.unsafeAccepts, 0),
  overStrict: ran.reduce((n, r) => n + r.overStrict, 0),
  corpora: ran.map((r) => r.corpus),
};
combined.agreement = combined.judged ? +(100 * combined.agree / combined.judged).toFixed(1) : null;

if (args.json) {
  console.log(JSON.stringify([...rows, combined], null, 2));
} else {
  for (const r of rows) {
    if (r.skipped) {
      console.log(`${r.corpus}: skipped (${r.skipped})`);
      continue;
    }
    console.log(`${r.corpus}: ${r.agree}/${r.judged} agree (${r.agreement}%), unsafe accepts ${r.unsafeAccepts}, over-strict rejects ${r.overStrict}` +
      (r.kernelAccepts !== undefined ? `, kernel accepted ${r.kernelAccepts}` : '') +
      (r.slowest ? `, slowest ${r.slowest.ms.toFixed(1)} ms (${r.slowest.name}, ${r.slowest.insns} insns, ${r.slowest.processed} processed)` : ''));
    if (r.bothReject) console.log(`  both reject: ${r.sameError}/${r.bothReject} with the kernel's error line`);
    for (const n of r.notes ?? []) console.log(`  ${n}`);
    if (r.unsafeList.length) console.log(`  unsafe accepts: ${r.unsafeList.join(', ')}`);
    if (r.timing) console.log(`  timing: ${r.timing.name} (${r.timing.insns} insns, ${r.timing.processed} processed): cold ${r.timing.coldMs} ms, warm median ${r.timing.warmMedianMs} ms`);
    if (r.newDivergences?.length) console.log(`  NEW divergences (not in selftest-divergences.txt): ${r.newDivergences.join(', ')}`);
    if (r.fixedDivergences?.length) console.log(`  fixed divergences (remove with --update-divergences): ${r.fixedDivergences.join(', ')}`);
    if (r.interpreter) {
      const it = r.interpreter;
      if (it.skipped) console.log(`  interpreter runs: skipped (${it.skipped})`);
      else console.log(`  accepted programs run in the bounds-checked interpreter: ${it.ran} ran, ${it.faults} faulted, ${it.otherErrors} other errors${it.errorSample ? ` (e.g. ${it.errorSample})` : ''}`);
      for (const f of it.faultList ?? []) console.log(`  FAULT ${f}`);
    }
    if (args.verbose) for (const s of r.strictList) console.log(`  over-strict: ${s}`);
    if (args.verbose) for (const s of r.errorDiffs ?? []) console.log(`  other error: ${s}`);
  }
  console.log(`combined (${combined.corpora.length} corpora, programs with a kernel verdict): ${combined.agree}/${combined.judged} agree (${combined.agreement}%), ` +
    `unsafe accepts ${combined.unsafeAccepts}, over-strict rejects ${combined.overStrict}`);
  const projects = combined.corpora.some((c) => c.startsWith('project objects'));
  console.log(projects ? '  (project objects included: --objects / TSBPF_PROJECT_OBJECTS)' : '  (project objects not included: pass --objects DIR or set TSBPF_PROJECT_OBJECTS)');
}
