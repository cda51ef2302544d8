// `tsbpf cbpf dis|check|translate|run FILE`: classic BPF programs (socket
// and seccomp filters) in any of the forms users have them.

import { parseArgs } from 'node:util';
import { checkClassic, markLibpcapProgram, type ClassicMode } from '../cbpf/check.js';
import { ClassicFilter, SeccompFilter } from '../cbpf/classic-filter.js';
import { disassembleClassic, formatDd, formatDdd } from '../cbpf/disasm.js';
import { disassembleTranslation } from '../cbpf/disasm-translation.js';
import type { ClassicInsn } from '../cbpf/insn.js';
import { CLASSIC_FORMATS, readClassic, type ClassicFormat } from '../cbpf/read.js';
import { translateClassic } from '../cbpf/translate.js';
import { describeSeccompAction } from '../cbpf/seccomp.js';
import { UsageError } from '../internal/errors.js';
import { linkTypeInfo, linkTypeName } from '../pcap/linktype.js';
import { readCaptureSync } from '../pcap/reader.js';
import { PcapWriter, fileSink } from '../pcap/writer.js';
import { scanCapture, type AcceptedPacket } from '../cbpf/scan-capture.js';
import { readInput } from './asm.js';
import { EXIT_FAIL, EXIT_OK, type Command, type Io } from './command.js';
import { writeFileSync } from 'node:fs';

const HELP = `usage: tsbpf cbpf dis FILE [--format F] [--output d|dd|ddd]
       tsbpf cbpf check FILE [--format F] [--seccomp]
       tsbpf cbpf translate FILE [--format F] [--seccomp] [--hatype N] [--net-offset N] [-o OUT]
       tsbpf cbpf run FILE --pcap CAPTURE [--engine E] [-w OUT.pcap] [--verbose]
       tsbpf cbpf run FILE --packet HEX [--wire-len N] [--engine E]
       tsbpf cbpf run FILE --seccomp --nr N [--arch A] [--arg V]... [--engine E]

Classic BPF programs (struct sock_filter), run by translating them to eBPF.
FILE (or - for stdin) is read as --format:
  auto  detect from the content (default)
  bin   binary struct sock_filter array (8 bytes per instruction, little-endian)
  ddd   tcpdump -ddd: a count, then "code jt jf k" in decimal (also the
        one-line comma form of iptables/tc)
  dd    tcpdump -dd: { 0x28, 0, 0, 0x0000000c }, ...
  asm   bpf_asm syntax (labels, ; comments) or a tcpdump -d listing

dis        print the program as tcpdump -d does (--output dd or ddd for the
           other tcpdump forms)
check      apply Linux's rules for classic filters (--seccomp: seccomp's)
translate  print the eBPF translation with the classic instructions as
           comments; -o OUT writes the eBPF bytes instead
run        filter a capture (pcap or pcapng) and print how many packets the
           filter accepts; -w writes them (cut to the accept length) to a
           pcap file. --packet runs one packet given in hex; --seccomp runs a
           seccomp filter on one system call and prints the action.

Options:
  --hatype N      SKF_AD_HATYPE value (run: taken from the capture's link type)
  --net-offset N  network header offset for SKF_NET_OFF loads (run: from the link type)
  --engine E      interp or jit (default: jit for run --pcap when available, else interp)
  -v, --verbose   run --pcap: one line per packet (index, link type, length, result)
  --libpcap       the program is libpcap's (tcpdump's): a backward ja is allowed,
                  as in tcpdump's protochain loops (check, translate, run)

Exit status: 0 on success, 1 when the program is rejected or input is
malformed (the message names the instruction or offset), 2 on bad usage.`;

const SUBCOMMANDS = ['dis', 'check', 'translate', 'run'] as const;

function formatOf(v: string | undefined): ClassicFormat | 'auto' {
  const f = v ?? 'auto';
  if (!(CLASSIC_FORMATS as readonly string[]).includes(f)) throw new UsageError(`unknown format '${f}' (expected ${CLASSIC_FORMATS.join(', ')})`);
  return f as ClassicFormat | 'auto';
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`--${name}: expected a number 0..2^32-1, got '${v}'`);
  return n;
}

function bigOption(name: string, v: string): bigint {
  try {
    return BigInt.asUintN(64, BigInt(v));
  } catch {
    throw new UsageError(`--${name}: expected an integer, got '${v}'`);
  }
}

function hexBytes(v: string): Uint8Array {
  const clean = v.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(clean)) throw new UsageError(`--packet: expected hex bytes, got '${v}'`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export const cbpf: Command = {
  name: 'cbpf',
  summary: 'classic BPF: disassemble, check, translate to eBPF, run on captures or seccomp data',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        format: { type: 'string' },
        output: { type: 'string' },
        seccomp: { type: 'boolean' },
        hatype: { type: 'string' },
        'net-offset': { type: 'string' },
        o: { type: 'string', short: 'o' },
        pcap: { type: 'string' },
        packet: { type: 'string' },
        'wire-len': { type: 'string' },
        w: { type: 'string', short: 'w' },
        engine: { type: 'string' },
        verbose: { type: 'boolean', short: 'v' },
        nr: { type: 'string' },
        arch: { type: 'string' },
        arg: { type: 'string', multiple: true },
        libpcap: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const [sub, file, ...extra] = positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new UsageError(`expected a subcommand (${SUBCOMMANDS.join(', ')}), got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
    }
    if (file === undefined || extra.length > 0) throw new UsageError(`cbpf ${sub}: expected one input FILE`);
    const name = file === '-' ? '<stdin>' : file;
    const prog = readClassic(await readInput(file, io), formatOf(values.format), { file: name });
    // libpcap's dialect: backward `ja` allowed (tcpdump's own protochain programs), see cbpf/check.ts.
    if (values.libpcap === true) markLibpcapProgram(prog);
    const mode: ClassicMode = values.seccomp === true ? 'seccomp' : 'socket';

    switch (sub) {
      case 'dis': {
        const out = values.output ?? 'd';
        if (out === 'd') io.out(disassembleClassic(prog));
        else if (out === 'dd') io.out(formatDd(prog));
        else if (out === 'ddd') io.out(formatDdd(prog));
        else throw new UsageError(`--output: expected d, dd or ddd, got '${out}'`);
        return EXIT_OK;
      }
      case 'check':
        checkClassic(prog, { mode });
        io.out(`${name}: ok, ${prog.length} instruction${prog.length === 1 ? '' : 's'} (${mode === 'seccomp' ? 'seccomp' : 'socket'} filter)`);
        return EXIT_OK;
      case 'translate':
        return translate(prog, mode, values, io);
      case 'run':
        return run(prog, values, io);
    }
    return EXIT_FAIL;
  },
};

interface Values {
  hatype?: string;
  'net-offset'?: string;
  o?: string;
  pcap?: string;
  packet?: string;
  'wire-len'?: string;
  w?: string;
  engine?: string;
  verbose?: boolean;
  seccomp?: boolean;
  nr?: string;
  arch?: string;
  arg?: string[];
}

function translate(prog: readonly ClassicInsn[], mode: ClassicMode, values: Values, io: Io): number {
  const hatype = intOption('hatype', values.hatype);
  const netOffset = intOption('net-offset', values['net-offset']);
  const t = translateClassic(prog, { mode, ...(hatype !== undefined && { hatype }), ...(netOffset !== undefined && { netOffset }) });
  if (values.o !== undefined) {
    writeFileSync(values.o, t.ebpf);
    io.out(`${values.o}: ${t.slots} eBPF instructions from ${prog.length} classic`);
    return EXIT_OK;
  }
  const lines = disassembleTranslation(prog, t);
  io.out(lines.join('\n'));
  return EXIT_OK;
}

function run(prog: readonly ClassicInsn[], values: Values, io: Io): number {
  const engine = values.engine ?? 'interp';
  if (values.seccomp === true) {
    const nr = intOption('nr', values.nr);
    if (nr === undefined) throw new UsageError('run --seccomp needs --nr');
    const args = (values.arg ?? []).map((a) => bigOption('arg', a));
    const f = new SeccompFilter(prog, { engine });
    const action = f.run({ nr, arch: intOption('arch', values.arch) ?? 0xc000003e, args });
    io.out(`0x${action.toString(16).padStart(8, '0')} ${describeSeccompAction(action)}`);
    return EXIT_OK;
  }
  if (values.packet !== undefined) {
    const pkt = hexBytes(values.packet);
    const f = new ClassicFilter(prog, { engine, ...optionsFromFlags(values) });
    const r = f.run(pkt, intOption('wire-len', values['wire-len']) ?? pkt.length);
    io.out(`${r}`);
    return EXIT_OK;
  }
  if (values.pcap === undefined) throw new UsageError('run needs --pcap CAPTURE, --packet HEX or --seccomp');
  if (values.verbose === true) return runVerbose(prog, values.pcap, engine, values, io);
  // The fast path: the capture is filtered where it is read, in batches (scan-capture.ts).
  let writer: PcapWriter | undefined;
  let writerLinkType = -1;
  let result;
  try {
    result = scanCapture(values.pcap, prog, {
      ...(values.engine !== undefined && { engine }),
      ...optionsFromFlags(values),
      ...(values.w !== undefined && {
        onAccept: (p: AcceptedPacket) => {
          if (writer === undefined) {
            writer = new PcapWriter(fileSink(values.w!), { linkType: p.linkType });
            writerLinkType = p.linkType;
          } else if (p.linkType !== writerLinkType) {
            throw new UsageError(`-w writes one pcap link type, but accepted packets are ${linkTypeName(writerLinkType)} and ${linkTypeName(p.linkType)}`);
          }
          writer.write({ ...p, data: p.data.subarray(0, Math.min(p.result, p.data.length)) });
        },
      }),
    });
  } finally {
    writer?.close();
  }
  io.out(`${result.packets} packets, ${result.accepted} accepted`);
  return EXIT_OK;
}

/** One line per packet: index, link type, wire length, filter result. */
function runVerbose(prog: readonly ClassicInsn[], capture: string, engine: string, values: Values, io: Io): number {
  // hatype and the network offset follow the link type, and a pcapng may mix link types: one filter per link type
  const filters = new Map<number, ClassicFilter>();
  let total = 0;
  let accepted = 0;
  try {
    for (const rec of readCaptureSync(capture)) {
      let filter = filters.get(rec.linkType);
      if (filter === undefined) {
        const info = linkTypeInfo(rec.linkType);
        filter = new ClassicFilter(prog, { engine, ...(info && { hatype: info.hatype }), ...(info?.netOffset !== undefined && { netOffset: info.netOffset }), ...optionsFromFlags(values) });
        filters.set(rec.linkType, filter);
      }
      const r = filter.run(rec.data, rec.wireLen);
      io.out(`${total}\t${linkTypeName(rec.linkType)}\t${rec.wireLen}\t${r}`);
      if (r !== 0) accepted++;
      total++;
    }
  } finally {
    for (const f of filters.values()) f.dispose();
  }
  io.out(`${total} packets, ${accepted} accepted`);
  return EXIT_OK;
}

function optionsFromFlags(values: Values): { hatype?: number; netOffset?: number } {
  const o: { hatype?: number; netOffset?: number } = {};
  const h = intOption('hatype', values.hatype);
  const n = intOption('net-offset', values['net-offset']);
  if (h !== undefined) o.hatype = h;
  if (n !== undefined) o.netOffset = n;
  return o;
}
