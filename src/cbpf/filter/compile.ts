// compileFilter: a tcpdump filter expression to a classic BPF program, the
// equivalent of libpcap's pcap_compile.

import { hasBackwardJump, markLibpcapProgram } from '../check.js';
import type { ClassicInsn } from '../insn.js';
import { emitProgram } from './emit.js';
import { FilterError } from './errors.js';
import { Gen } from './gen.js';
import { LINKTYPE, linkLayer } from './link.js';
import { parseFilter } from './parser.js';

export interface FilterOptions {
  /** pcap LINKTYPE_* of the packets (default 1, Ethernet). */
  readonly linkType?: number;
  /** Returned for accepted packets, like libpcap's snapshot length (default 262144). */
  readonly snaplen?: number;
  /** IPv4 netmask for `ip broadcast`: tcpdump uses 0 when reading a file (the default); null means unknown. */
  readonly netmask?: number | null;
  /** Jump threading and redundant-load removal (default true). */
  readonly optimize?: boolean;
}

/** The default snapshot length of tcpdump 4.99. */
export const DEFAULT_SNAPLEN = 262144;

/**
 * Compile `expression` for the given link type. Throws FilterError with
 * tcpdump's message for invalid expressions, UnsupportedError for features
 * tsbpf does not implement.
 */
export function compileFilter(expression: string, opts: FilterOptions = {}): ClassicInsn[] {
  const link = linkLayer(opts.linkType ?? LINKTYPE.ETHERNET);
  const accept = opts.snaplen ?? DEFAULT_SNAPLEN;
  const netmask = opts.netmask === null ? undefined : (opts.netmask ?? 0);
  const gen = new Gen(link, expression, { netmask });
  // Primitives are compiled as they are parsed (see Parser.leaf).
  const ast = parseFilter(expression, (leaf) => ({ t: 'done', cond: gen.expr(leaf) }));
  if (ast === undefined) return emitProgram({ t: 'const', v: true }, { accept }).insns;
  const cond = gen.expr(ast);
  const out = emitProgram(cond, { accept, optimize: gen.noOptimize ? false : opts.optimize });
  if (out.rejectsAll) throw new FilterError('expression rejects all packets', 0, expression);
  // `protochain` loops backward, which only libpcap's dialect of classic BPF allows.
  return hasBackwardJump(out.insns) ? markLibpcapProgram(out.insns) : out.insns;
}
