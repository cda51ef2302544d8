// `tsbpf run FILE.o --prog NAME --data PKT | --pcap IN.pcap`: load an object
// into a Runtime (its maps included), test-run one program over a packet or
// every packet of a capture, and print the verdicts and the maps afterwards
// (BTF-formatted when the object has BTF). Maps persist across --repeat runs
// and across the packets of a capture, as they would in the kernel.
// run.ts hands object files here when one of these options is present.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { toJsonText, type BtfValue } from '../btf/print.js';
import { UsageError } from '../internal/errors.js';
import { readCaptureSync } from '../pcap/reader.js';
import { fileSink, PcapWriter } from '../pcap/writer.js';
import { LINKTYPE } from '../pcap/linktype.js';
import { TestRunError } from '../progtypes/errors.js';
import { takesPacket } from '../progtypes/kinds.js';
import { toEthernet } from '../progtypes/to-ethernet.js';
import { verdictName, passesPacket } from '../progtypes/verdicts.js';
import type { Collection } from '../runtime/collection.js';
import type { BpfProgram } from '../runtime/program.js';
import { Runtime } from '../runtime/runtime.js';
import { loadObject as loadSpec } from '../elf/load.js';
import { loadTargets } from '../elf/target-btf.js';
import { readInput } from './asm.js';
import { EXIT_OK, type Io } from './command.js';

export const RUN_OBJECT_HELP = `usage: tsbpf run FILE.o [--prog NAME] (--data PKT.bin | --pcap IN.pcap [--out OUT.pcap])
                [--ctx CTX.bin] [--repeat N] [--engine NAME] [--no-verify] [--json]

Load a BPF object with its maps into a runtime and test-run one program, as
the kernel's BPF_PROG_TEST_RUN (bpftool prog run) does. Any of --prog, --data,
--pcap, --out, --ctx, --repeat, --no-verify or --json selects this mode. Every
program is verified at load time (as the kernel does) unless --no-verify.

  --prog NAME    program (function or section name); default: the object's only program
  --data FILE    the packet (raw bytes, a frame from the Ethernet header on) or - for stdin
  --pcap FILE    run over every packet of a pcap/pcapng capture (Ethernet; cooked,
                 raw IP and loopback captures become Ethernet frames)
  --out FILE     with --pcap: write the packets the program passes on (their data_out) to FILE
  --ctx FILE     the context struct (xdp_md, __sk_buff, raw tracepoint arguments...)
  --repeat N     run N times per packet on the same context (default 1)
  --engine NAME  interp (default), jit, or jit-verified (no run-time checks; verified programs only)
  --no-verify    load without the verifier (runs on the checking engines only)
  --btf FILE     target BTF for CO-RE relocations (raw or an ELF's .BTF), 'kernel'
                 or 'none'; default: /sys/kernel/btf/vmlinux when the object needs it
  --kconfig FILE .config values for .kconfig externs (gzip if .gz), 'kernel' or
                 'none'; default: /proc/config.gz or /boot/config-$(uname -r) when needed
  --json         {retval, data_out, duration_ns, maps} for --data; verdicts
                 instead of retval for --pcap; bytes as hex strings, plus
                 key_decoded / value_decoded where the map has BTF types

Then the verdicts (or return value) and every map's contents are printed.
Packets the kernel's test run would refuse (an IPv4 frame too short for its
header, for a tc program) are counted as "not run (EINVAL)".`;

export const OBJECT_RUN_OPTIONS = ['prog', 'data', 'pcap', 'out', 'ctx', 'repeat', 'json', 'verify', 'no-verify', 'btf', 'kconfig'] as const;

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function readFileArg(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

function pickProgram(coll: Collection, name: string | undefined): BpfProgram {
  if (name !== undefined) return coll.program(name);
  const all = [...coll.programs.values()];
  if (all.length !== 1) throw new UsageError(`${coll.spec.file} has ${all.length} programs; choose one with --prog (${all.map((p) => p.name).join(', ')})`);
  return all[0]!;
}

/** A map's entries sorted by key bytes, so output does not depend on the hash table's order. */
function sortedEntries(entries: Iterable<[Uint8Array, Uint8Array]>): [Uint8Array, Uint8Array][] {
  return [...entries].sort(([a], [b]) => {
    for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
}

interface MapJsonRow {
  key: string;
  value: string;
  key_decoded?: BtfValue;
  value_decoded?: BtfValue;
}

function mapsJson(coll: Collection): Record<string, MapJsonRow[]> {
  const out: Record<string, MapJsonRow[]> = {};
  for (const name of coll.maps.keys()) {
    const typed = coll.typedMap(name);
    const rows: MapJsonRow[] = [];
    for (const [k, v] of sortedEntries(typed.map.entries())) {
      const row: MapJsonRow = { key: hex(k), value: hex(v) };
      const kd = typed.decodeKey(k);
      const vd = typed.decodeValue(v);
      if (!(kd instanceof Uint8Array)) row.key_decoded = kd;
      if (!(vd instanceof Uint8Array)) row.value_decoded = vd;
      rows.push(row);
    }
    out[name] = rows;
  }
  return out;
}

/** A decoded value on one line: {saddr: [10,0,0,1], sport: 80} (strings quoted, bigints exact). */
export function compactValue(v: BtfValue): string {
  if (Array.isArray(v)) return `[${v.map(compactValue).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}: ${compactValue(x)}`).join(', ')}}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** Every map, one entry per line: decoded by BTF where the map has key and value types, else hex bytes. */
function printMaps(coll: Collection, io: Io): void {
  for (const name of coll.maps.keys()) {
    const typed = coll.typedMap(name);
    const lines: string[] = [];
    for (const [k, v] of sortedEntries(typed.map.entries())) {
      const kd = typed.decodeKey(k);
      const vd = typed.decodeValue(v);
      lines.push(`  ${kd instanceof Uint8Array ? hex(kd) : compactValue(kd)} => ${vd instanceof Uint8Array ? hex(vd) : compactValue(vd)}`);
    }
    io.out(`map ${name} (${typed.map.typeName}, ${lines.length} entr${lines.length === 1 ? 'y' : 'ies'}):`);
    for (const l of lines) io.out(l);
  }
}

export async function runObject(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      prog: { type: 'string' },
      data: { type: 'string' },
      pcap: { type: 'string' },
      out: { type: 'string' },
      ctx: { type: 'string' },
      repeat: { type: 'string' },
      engine: { type: 'string' },
      // --verify is the default and kept for old command lines; --no-verify opts out
      verify: { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      json: { type: 'boolean' },
      btf: { type: 'string' },
      kconfig: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError(`expected one object FILE, got ${positionals.length}`);
  const file = positionals[0]!;
  if (values.data !== undefined && values.pcap !== undefined) throw new UsageError('--data and --pcap exclude each other');
  if (values.out !== undefined && values.pcap === undefined) throw new UsageError('--out needs --pcap (with --data, use --json for data_out)');
  let repeat = 1;
  if (values.repeat !== undefined) {
    if (!/^\d+$/.test(values.repeat) || Number(values.repeat) > 0xffffffff) throw new UsageError(`--repeat expects a u32, got '${values.repeat}'`);
    repeat = Number(values.repeat);
  }
  const engine = values.engine ?? 'interp';
  const rt = new Runtime({ engine, verify: values['no-verify'] !== true });
  const bytes = await readInput(file, io);
  // only the chosen program: others in the object that cannot run here do not get in the way
  // CO-RE target and .kconfig values: the running kernel's when the object needs them, unless --btf/--kconfig say otherwise
  const targets = loadTargets(loadSpec(bytes, { file }), values.btf, values.kconfig);
  const coll = rt.loadObject(bytes, { file, ...targets, ...(values.prog !== undefined ? { programs: [values.prog] } : {}) });
  const prog = pickProgram(coll, values.prog);
  const ctxIn = values.ctx !== undefined ? readFileArg(values.ctx, '--ctx') : undefined;
  const withCtx = ctxIn !== undefined ? { ctxIn } : {};

  if (values.pcap !== undefined) return runCapture(prog, coll, values.pcap, values.out, repeat, withCtx, values.json === true, io);

  let dataIn: Uint8Array | undefined;
  if (values.data !== undefined) dataIn = values.data === '-' ? await io.readStdin() : readFileArg(values.data, '--data');
  else if (takesPacket(prog.type)) throw new UsageError(`program ${prog.name} (${prog.type}) needs a packet: --data PKT.bin or --pcap IN.pcap`);
  const r = prog.testRun({ ...(dataIn !== undefined ? { dataIn } : {}), ...withCtx, repeat });
  if (values.json === true) {
    const obj: Record<string, unknown> = { retval: r.retval, data_out: hex(r.dataOut), duration_ns: r.durationNs };
    if (r.ctxOut !== undefined && ctxIn !== undefined) obj['ctx_out'] = hex(r.ctxOut);
    obj['maps'] = mapsJson(coll);
    io.out(toJsonText(obj as BtfValue, ''));
    return EXIT_OK;
  }
  const name = verdictName(prog.type, r.retval);
  io.out(`retval: ${r.retval}${name !== String(r.retval) ? ` (${name})` : ''}`);
  io.out(`duration: ${r.durationNs} ns${repeat > 1 ? ` (mean of ${repeat} runs)` : ''}`);
  if (dataIn !== undefined) {
    const same = r.dataOut.length === dataIn.length && r.dataOut.every((b, i) => b === dataIn![i]);
    io.out(`data_out: ${r.dataOut.length} bytes${same ? ' (unchanged)' : `: ${hex(r.dataOut)}`}`);
  }
  printMaps(coll, io);
  return EXIT_OK;
}

async function runCapture(prog: BpfProgram, coll: Collection, pcap: string, outFile: string | undefined, repeat: number, withCtx: { ctxIn?: Uint8Array }, json: boolean, io: Io): Promise<number> {
  if (!takesPacket(prog.type)) throw new UsageError(`program ${prog.name} (${prog.type}) takes no packets; --pcap is for xdp, tc, socket filter and cgroup_skb programs`);
  const verdicts = new Map<string, number>();
  let writer: PcapWriter | undefined;
  let packets = 0;
  let totalNs = 0;
  try {
    for (const rec of readCaptureSync(pcap)) {
      packets++;
      const frame = toEthernet(rec.linkType, rec.data, `${pcap}: packet ${packets}`);
      let r;
      try {
        r = prog.testRun({ dataIn: frame, ...withCtx, repeat });
      } catch (e) {
        // a frame the kernel's test run refuses (too short for its IPv4 header...) is counted, not fatal
        if (e instanceof TestRunError) {
          const v = `not run (${e.code})`;
          verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
          continue;
        }
        if (e instanceof Error) e.message = `${pcap}: packet ${packets}: ${e.message}`;
        throw e;
      }
      totalNs += r.durationNs;
      const v = verdictName(prog.type, r.retval);
      verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
      if (outFile !== undefined && passesPacket(prog.type, r.retval)) {
        writer ??= new PcapWriter(fileSink(outFile), { linkType: LINKTYPE.ETHERNET, nanosecond: true });
        writer.write({ data: r.dataOut, tsSec: rec.tsSec, tsNsec: rec.tsNsec });
      }
    }
    if (outFile !== undefined && writer === undefined) writer = new PcapWriter(fileSink(outFile), { linkType: LINKTYPE.ETHERNET, nanosecond: true });
  } finally {
    writer?.close();
  }
  if (json) {
    const obj: Record<string, unknown> = { packets, verdicts: Object.fromEntries(verdicts), duration_ns: packets > 0 ? Math.round(totalNs / packets) : 0, maps: mapsJson(coll) };
    io.out(toJsonText(obj as BtfValue, ''));
    return EXIT_OK;
  }
  io.out(`${packets} packet${packets === 1 ? '' : 's'} through ${prog.name} (${prog.type})${repeat > 1 ? `, ${repeat} runs each` : ''}`);
  io.out('verdicts:');
  const width = Math.max(0, ...[...verdicts.keys()].map((k) => k.length));
  for (const [k, n] of [...verdicts].sort((a, b) => b[1] - a[1])) io.out(`  ${k.padEnd(width)}  ${n}`);
  printMaps(coll, io);
  return EXIT_OK;
}
