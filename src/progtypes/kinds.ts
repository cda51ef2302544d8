// Which context a program type runs with, and what a test run of it takes.
// The names are the kernel's BPF_PROG_TYPE_* names (as ProgramSpec.type has them).

import type { HelperContextOptions } from '../helpers/context.js';
import { EOPNOTSUPP } from '../maps/errno.js';
import { TestRunError } from './errors.js';
import { ProgRunContext } from './run-context.js';
import { SkbRunContext } from './skb.js';
import { BytesRunContext, type BytesCtxKind } from './tracing.js';
import { XdpRunContext } from './xdp.js';

export type CtxKind = 'xdp' | 'skb-l2' | 'skb-l3' | BytesCtxKind;

const KIND_BY_TYPE: Readonly<Record<string, CtxKind>> = {
  xdp: 'xdp',
  sched_cls: 'skb-l2',
  sched_act: 'skb-l2',
  socket_filter: 'skb-l3',
  cgroup_skb: 'skb-l3',
  kprobe: 'kprobe',
  perf_event: 'perf_event',
  tracepoint: 'tracepoint',
  raw_tracepoint: 'raw_tracepoint',
  raw_tracepoint_writable: 'raw_tracepoint',
  syscall: 'syscall',
};

/** The context kind of a program type, or undefined when test runs do not support it. */
export function ctxKind(progType: string): CtxKind | undefined {
  return KIND_BY_TYPE[progType];
}

export function supportedTestRunTypes(): string[] {
  return Object.keys(KIND_BY_TYPE);
}

/** Does this program type take a packet (data_in) rather than only a context? */
export function takesPacket(progType: string): boolean {
  const k = KIND_BY_TYPE[progType];
  return k === 'xdp' || k === 'skb-l2' || k === 'skb-l3';
}

/** Build the run context of a test run for `progType`. */
export function createRunContext(progType: string, helper: HelperContextOptions, dataIn: Uint8Array | undefined, ctxIn: Uint8Array | undefined): ProgRunContext {
  const kind = KIND_BY_TYPE[progType];
  if (kind === undefined) throw new TestRunError(EOPNOTSUPP, `program type ${progType} has no test run (supported: ${supportedTestRunTypes().join(', ')})`);
  switch (kind) {
    case 'xdp':
      return new XdpRunContext(helper, dataIn ?? new Uint8Array(0), ctxIn);
    case 'skb-l2':
    case 'skb-l3':
      return new SkbRunContext(helper, dataIn ?? new Uint8Array(0), ctxIn, { l2: kind === 'skb-l2' });
    default:
      // the kernel refuses data_in for context-only types
      if (dataIn !== undefined && dataIn.length > 0) throw new TestRunError(22, `program type ${progType} takes no data_in, only ctx_in`);
      return new BytesRunContext(helper, kind, ctxIn);
  }
}
