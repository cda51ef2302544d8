// `tsbpf filter EXPR -r IN.pcap [-w OUT.pcap] [-c COUNT]`, `tsbpf filter -d EXPR`,
// `tsbpf filter --ebpf EXPR`: tcpdump filter expressions compiled by tsbpf,
// printed as tcpdump -d does, or run over a capture through the eBPF
// translation (scanCapture: the whole file goes through VM memory in large
// buffers, one engine call per buffer).

import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AcceptedPacket, PcapRecordSink } from '../cbpf/scan-capture.js';
import { compileFilter, DEFAULT_SNAPLEN } from '../cbpf/filter/compile.js';
import { FilterError } from '../cbpf/filter/errors.js';
import type { ClassicInsn } from '../cbpf/insn.js';
import { UsageError } from '../internal/errors.js';
import { LINKTYPE, linkTypeByName, linkTypeInfo, linkTypeName } from '../pcap/linktype.js';
import type { CaptureParser } from '../pcap/parser.js';
import type { SplitOptions } from '../cbpf/scan-split.js';
import { bundleContext, bundleWorkerEntry } from './bundle-files.js';
import { EXIT_FAIL, EXIT_OK, type Command, type Io } from './command.js';

// Only what every use needs is imported up front: the modules of the
// printing paths (-d, --ebpf) and of the capture scan are loaded when used,
// because start-up time counts when a whole capture takes a fraction of a second.

/** Default seconds between progress lines. */
const PROGRESS_SECONDS = 2;

const HELP = `usage: tsbpf filter EXPR... -r IN.pcap [-w OUT.pcap] [-c COUNT] [-q] [--engine E]
       tsbpf filter -d EXPR... [--output d|dd|ddd] [--link-type T] [-r IN.pcap]
       tsbpf filter --ebpf EXPR... [--link-type T] [-r IN.pcap]

Compile a tcpdump filter expression (pcap-filter(7)) to classic BPF with
tsbpf's own compiler. The words of EXPR are joined with spaces, as tcpdump
does. Host names are never resolved: use numeric addresses.

  -r FILE        read packets from a pcap or pcapng capture (- for standard
                 input); the filter is compiled for each link type found.
                 Without -w, each matching packet is listed (index, time,
                 length) unless -q is given.
                 The last line gives the counts; a progress line goes to
                 stderr every few seconds on long files.
  -w FILE        write the matching packets to a pcap file
  -c COUNT       stop after COUNT matching packets
  -d             print the classic program like tcpdump -d (--output dd or
                 ddd for tcpdump -dd / -ddd)
  --ebpf         print the eBPF translation of the classic program
  --link-type T  link type for -d/--ebpf without -r: a number or a name
                 (EN10MB, RAW, LINUX_SLL, LINUX_SLL2, NULL; default EN10MB)
  --snaplen N    value an accepted packet returns (default ${DEFAULT_SNAPLEN})
  --netmask M    IPv4 netmask for 'ip broadcast' (dotted quad; default 0 as
                 tcpdump uses when reading a file)
  -O             do not optimise (no jump threading)
  --engine E     engine that runs the translation over the capture: jit,
                 jit-verified or interp (default: jit-verified for the scan
                 loop over pcap records and pcapng packet blocks, which is
                 safe by construction; jit for other pcapng packets)
  --progress S   seconds between progress lines on stderr (default ${PROGRESS_SECONDS}; 0: none)
  --threads N    1 (default) or 2: with 2, a pcap file of at least 128 MiB
                 filtered without -c or a listing is read and filtered in two
                 halves on two threads; same output. It pays only with a core
                 and memory bandwidth to spare: on a busy 2-core machine it
                 measured slower (see bench/cbpf/filter.bench.ts)

Exit status: 0 on success, 1 for an invalid expression (tcpdump's message,
with a caret under the place) or unreadable capture, 2 on bad usage.`;

interface Values {
  r?: string;
  w?: string;
  c?: string;
  d?: boolean;
  q?: boolean;
  O?: boolean;
  ebpf?: boolean;
  output?: string;
  'link-type'?: string;
  snaplen?: string;
  netmask?: string;
  engine?: string;
  progress?: string;
  threads?: string;
}

function intOption(name: string, v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*(0x[0-9a-fA-F]+|[0-9]+)\s*$/.test(v) || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`-${name.length > 1 ? '-' : ''}${name}: expected a number ${min}..${max}, got '${v}'`);
  }
  return n;
}

function progressOption(v: string): number {
  const n = Number(v);
  if (!/^[0-9.]+$/.test(v) || !Number.isFinite(n)) throw new UsageError(`--progress: expected seconds (0 to turn it off), got '${v}'`);
  return n;
}

function linkTypeOption(v: string | undefined): number {
  if (v === undefined) return LINKTYPE.ETHERNET;
  if (/^[0-9]+$/.test(v)) return Number(v);
  const lt = linkTypeByName(v);
  if (lt === undefined) throw new UsageError(`--link-type: unknown link type '${v}'`);
  return lt;
}

function netmaskOption(v: string | undefined): number {
  if (v === undefined) return 0;
  const parts = v.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^[0-9]{1,3}$/.test(p) || Number(p) > 255)) throw new UsageError(`--netmask: expected a dotted quad, got '${v}'`);
  return parts.reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

/** `-` is standard input, as for tcpdump -r. */
const source = (file: string): string | number => (file === '-' ? 0 : file);

/** Link type and snapshot length of a capture's first interface (for -d/--ebpf with -r, as tcpdump -d -r). */
async function captureInfo(file: string): Promise<{ linkType: number; snaplen: number }> {
  const { readCaptureSync } = await import('../pcap/reader.js');
  let parser: CaptureParser | undefined;
  const it = readCaptureSync(source(file), { onParser: (p) => (parser = p) });
  const first = it.next();
  it.return(undefined);
  const iface = parser?.interfaces[0];
  if (iface !== undefined) return { linkType: iface.linkType, snaplen: iface.snaplen };
  if (!first.done) return { linkType: first.value.linkType, snaplen: DEFAULT_SNAPLEN };
  throw new UsageError(`${file}: the capture describes no interface, so its link type is unknown (use --link-type)`);
}

async function printEbpf(prog: ClassicInsn[], linkType: number, io: Io): Promise<void> {
  const [{ translateClassic }, { formatClassicInsn }, { decodeProgram }, { disassembleProgram }] = await Promise.all([
    import('../cbpf/translate.js'),
    import('../cbpf/disasm.js'),
    import('../isa/decode.js'),
    import('../asm/disassemble.js'),
  ]);
  const info = linkTypeInfo(linkType);
  const t = translateClassic(prog, { mode: 'socket', ...(info && { hatype: info.hatype }), ...(info?.netOffset !== undefined && { netOffset: info.netOffset }) });
  const starts = new Map<number, string[]>();
  prog.forEach((ins, pc) => {
    const s = t.pcMap[pc]!;
    starts.set(s, [...(starts.get(s) ?? []), formatClassicInsn(ins, pc)]);
  });
  const lines = disassembleProgram(decodeProgram(t.ebpf), {
    index: true,
    lineInfo: (slot) => (slot === t.failSlot ? 'out of packet / division by zero: return 0' : starts.get(slot)?.join('\n; ')),
  });
  io.out(lines.join('\n'));
}

function formatTime(sec: number, nsec: number): string {
  return `${sec}.${String(Math.floor(nsec / 1000)).padStart(6, '0')}`;
}

/** Snapshot length in the header of -w files (PcapWriter's default, what tsbpf has always written). */
const WRITE_SNAPLEN = 262144;

/** Lines of the match listing are written in blocks: one write per line costs more than the filter. */
const LIST_BLOCK = 4096;

/**
 * Set to a byte count: --threads 2 for captures from that size on (tests
 * force small files with 0, and are told what happened on stderr).
 */
const SPLIT_MIN_ENV = 'TSBPF_FILTER_SPLIT_MIN';
/** With it, a byte offset: the split point (a small file is read before a second thread could choose one). */
const SPLIT_AT_ENV = 'TSBPF_FILTER_SPLIT_AT';

/**
 * Whether and how a capture is split over two threads (--threads 2): the
 * spill file of the second half's matches (if they outgrow memory) beside
 * the output file, the worker thread started from the CLI bundle when the
 * command runs from it. Asked for, it splits whatever the machine's load.
 */
function splitOptions(values: Values): SplitOptions | undefined {
  const min = process.env[SPLIT_MIN_ENV];
  const minBytes = min === undefined ? undefined : intOption(SPLIT_MIN_ENV, min, 0, Number.MAX_SAFE_INTEGER);
  const threads = values.threads === undefined ? 1 : intOption('threads', values.threads, 1, 2);
  if (threads === 1 && minBytes === undefined) return undefined;
  const output = values.w;
  const st = output === undefined ? undefined : statSync(output, { throwIfNoEntry: false });
  const spillDir = output !== undefined && (st === undefined || st.isFile()) ? dirname(resolve(output)) : undefined;
  const { dir: bundleDir, kind: bundleKind = 'cli' } = bundleContext;
  return {
    whenIdle: false,
    ...(minBytes !== undefined && { minBytes }),
    ...(minBytes !== undefined && process.env[SPLIT_AT_ENV] !== undefined && { at: intOption(SPLIT_AT_ENV, process.env[SPLIT_AT_ENV], 0, Number.MAX_SAFE_INTEGER) }),
    ...(spillDir !== undefined && { spillDir }),
    ...(bundleDir !== undefined && { workerEntry: bundleWorkerEntry(bundleDir, bundleKind) }),
  };
}

/**
 * Filter a capture through scanCapture: the file is read straight into VM
 * memory and the translated filter runs over whole buffers of records (pcap)
 * or batches of packets (pcapng), so the per-packet cost is the filter
 * itself. Matching packets are written (-w) or listed as they are found;
 * the pcap writer flushes every megabyte, so memory stays constant.
 */
async function filterCapture(expr: string, values: Values, compile: (linkType: number) => ClassicInsn[], io: Io): Promise<number> {
  const { scanCapture } = await import('../cbpf/scan-capture.js');
  const { PcapWriter, fileSink } = await import('../pcap/writer.js');
  const file = values.r!;
  const limit = intOption('c', values.c, 1, Number.MAX_SAFE_INTEGER);
  const progressMs = 1000 * (values.progress === undefined ? PROGRESS_SECONDS : progressOption(values.progress));
  const list = values.w === undefined && values.q !== true;
  let writer: InstanceType<typeof PcapWriter> | undefined;
  let writerLinkType = -1;
  let matched = 0;
  let lines: string[] = [];
  // Matches reach the file as runs of ready-made pcap records (little-endian,
  // microseconds, cut to the accept length as the kernel's socket filter
  // cuts them), packed by the scan: the same bytes PcapWriter.write makes.
  const pcapOut: PcapRecordSink | undefined =
    values.w === undefined
      ? undefined
      : {
          snaplen: WRITE_SNAPLEN,
          write(records, linkType) {
            if (writer === undefined) {
              writer = new PcapWriter(fileSink(values.w!), { linkType, snaplen: WRITE_SNAPLEN });
              writerLinkType = linkType;
            } else if (linkType !== writerLinkType) {
              throw new UsageError(`-w writes one pcap link type, but matching packets are ${linkTypeName(writerLinkType)} and ${linkTypeName(linkType)}`);
            }
            writer.writeRecords(records);
          },
        };
  const onAccept = (p: AcceptedPacket): boolean => {
    matched++;
    if (list) {
      lines.push(`${p.index}\t${formatTime(p.tsSec, p.tsNsec)}\t${p.wireLen}`);
      if (lines.length === LIST_BLOCK) {
        io.out(lines.join('\n'));
        lines = [];
      }
    }
    return limit === undefined || matched < limit;
  };
  let lastProgress = Date.now();
  const onProgress = (packets: number, accepted: number): void => {
    if (Date.now() - lastProgress < progressMs) return;
    lastProgress = Date.now();
    io.err(`${file}: ${packets} packets read, ${accepted} matched...`);
  };
  let total: number;
  try {
    // Without a listing or -c nothing needs to see each match: the scan
    // counts them, and on pcap files no JS runs per packet at all.
    const scanOptions = {
      ...((list || limit !== undefined) && { onAccept }),
      ...(pcapOut !== undefined && { pcapOut }),
      ...(progressMs > 0 && { onProgress }),
      ...(values.engine !== undefined && { engine: values.engine }),
    };
    // --threads 2: a large file (and no per-match work) is read and filtered
    // in two halves on two threads (scan-split.ts); the result is the same.
    const split = file === '-' ? undefined : splitOptions(values);
    const r =
      split === undefined
        ? scanCapture(source(file), compile, scanOptions)
        : await (await import('../cbpf/scan-split.js')).scanCaptureSplit(file, compile, { ...scanOptions, split });
    // Forcing the split is for tests and measurements: they are told what happened.
    if ('split' in r && process.env[SPLIT_MIN_ENV] !== undefined) io.err(`tsbpf filter: ${SPLIT_MIN_ENV}: ${r.split}`);
    total = r.packets;
    matched = r.accepted;
  } finally {
    if (lines.length > 0) io.out(lines.join('\n'));
    writer?.close();
  }
  io.out(`${total} packets read, ${matched} matched '${expr}'${values.w !== undefined ? `, written to ${values.w}` : ''}`);
  return EXIT_OK;
}

export const filter: Command = {
  name: 'filter',
  summary: 'compile tcpdump filter expressions; print them (-d, --ebpf) or filter captures (-r, -w)',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        r: { type: 'string', short: 'r' },
        w: { type: 'string', short: 'w' },
        c: { type: 'string', short: 'c' },
        d: { type: 'boolean', short: 'd' },
        q: { type: 'boolean', short: 'q' },
        O: { type: 'boolean', short: 'O' },
        ebpf: { type: 'boolean' },
        output: { type: 'string' },
        'link-type': { type: 'string' },
        snaplen: { type: 'string' },
        netmask: { type: 'string' },
        engine: { type: 'string' },
        progress: { type: 'string' },
        threads: { type: 'string' },
      },
    }) as { values: Values; positionals: string[] };
    const expr = positionals.join(' ');
    const snaplenFlag = intOption('snaplen', values.snaplen, 1, 0xffffffff);
    const netmask = netmaskOption(values.netmask);
    const compile = (linkType: number, snaplen = snaplenFlag ?? DEFAULT_SNAPLEN): ClassicInsn[] =>
      compileFilter(expr, { linkType, snaplen, netmask, optimize: values.O !== true });
    const print = values.d === true || values.ebpf === true;
    if (!print && values.r === undefined) throw new UsageError('give -r CAPTURE to filter packets, or -d / --ebpf to print the program');
    if (values.output !== undefined && !['d', 'dd', 'ddd'].includes(values.output)) throw new UsageError(`--output: expected d, dd or ddd, got '${values.output}'`);
    try {
      if (print) {
        // With -r, like tcpdump -d -r: the capture's link type and snapshot length.
        const info = values.r !== undefined ? await captureInfo(values.r) : undefined;
        const linkType = values['link-type'] !== undefined || info === undefined ? linkTypeOption(values['link-type']) : info.linkType;
        const prog = compile(linkType, snaplenFlag ?? info?.snaplen ?? DEFAULT_SNAPLEN);
        if (values.d === true) {
          const { disassembleClassic, formatDd, formatDdd } = await import('../cbpf/disasm.js');
          const out = values.output ?? 'd';
          io.out(out === 'dd' ? formatDd(prog) : out === 'ddd' ? formatDdd(prog) : disassembleClassic(prog));
        }
        if (values.ebpf === true) await printEbpf(prog, linkType, io);
        return EXIT_OK;
      }
      return await filterCapture(expr, values, compile, io);
    } catch (e) {
      if (e instanceof FilterError) {
        io.err(`tsbpf filter: ${e.describe()}`);
        return EXIT_FAIL;
      }
      // A capture that cannot be opened or an output that cannot be created: say which, not a stack.
      if (e instanceof Error && 'syscall' in e && typeof (e as { code?: unknown }).code === 'string') {
        io.err(`tsbpf filter: ${e.message}`);
        return EXIT_FAIL;
      }
      throw e;
    }
  },
};
