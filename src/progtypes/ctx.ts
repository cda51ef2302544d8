// Context layouts per program type: the struct a program's r1 points to on
// entry (__sk_buff, xdp_md, pt_regs...), with each field's offset, size and
// access rules, and which fields load as packet pointers. ONE table: the
// verifier checks ctx accesses against it and the runtime builds contexts
// from it. Rules follow the kernel's *_is_valid_access functions (6.x).

import { BPF_PROG_TYPE } from '../internal/uapi.gen.js';
import { SKB, SKB_SIZE, type SkbField } from './skb-layout.js';

/** What a ctx load produces when it is not a plain scalar. */
export type CtxPtrKind = 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock_common_or_null' | 'flow_keys';

export interface CtxField {
  readonly name: string;
  readonly off: number;
  readonly size: number;
  readonly read: boolean;
  readonly write: boolean;
  /** Reads narrower than the field (1, 2, 4 bytes, naturally aligned) are allowed. */
  readonly narrow?: boolean;
  /** An array or opaque area: any naturally aligned access of an allowed size inside it. */
  readonly area?: boolean;
  /** Allowed access sizes for area fields (default 1, 2, 4, 8). */
  readonly sizes?: readonly number[];
  /** Loads of this field produce a pointer. */
  readonly ptr?: CtxPtrKind;
}

export interface CtxLayout {
  /** C struct name. */
  readonly name: string;
  readonly size: number;
  readonly fields: readonly CtxField[];
  /** Direct packet access through pkt pointers: none, read only, or read and write. */
  readonly packet: 'none' | 'read' | 'write';
  /**
   * Sign-extending loads (ldsx) are allowed: the kernel rewrites no access of
   * this type (no convert_ctx_access), so a ldsx reads the bytes as they are.
   */
  readonly signExtendLoads?: boolean;
}

export type CtxAccess = { readonly ok: true; readonly field: CtxField } | { readonly ok: false };

const u32 = (name: string, off: number, write = false, narrow = true): CtxField => ({ name, off, size: 4, read: true, write, narrow });

// struct __sk_buff: offsets from the one layout table (skb-layout.ts).
function skbFields(opts: { write: readonly string[]; deny: readonly string[]; pkt: boolean; meta: boolean }): CtxField[] {
  const w = (n: string): boolean => opts.write.includes(n);
  const f32 = (n: SkbField): CtxField => u32(n, SKB[n], w(n));
  const ro = (n: SkbField, size: number, extra: Partial<CtxField> = {}): CtxField => ({ name: n, off: SKB[n], size, read: true, write: false, ...extra });
  const all: CtxField[] = [
    f32('len'), f32('pkt_type'), f32('mark'), f32('queue_mapping'), f32('protocol'), f32('vlan_present'), f32('vlan_tci'), f32('vlan_proto'),
    f32('priority'), f32('ingress_ifindex'), f32('ifindex'), f32('tc_index'),
    { name: 'cb', off: SKB.cb, size: 20, read: true, write: w('cb'), area: true },
    f32('hash'), f32('tc_classid'),
    ro('data', 4, { ptr: opts.pkt ? 'pkt' : undefined }),
    ro('data_end', 4, { ptr: opts.pkt ? 'pkt_end' : undefined }),
    f32('napi_id'), f32('family'), ro('remote_ip4', 4), ro('local_ip4', 4),
    ro('remote_ip6', 16, { area: true, sizes: [4] }),
    ro('local_ip6', 16, { area: true, sizes: [4] }),
    f32('remote_port'), f32('local_port'),
    ro('data_meta', 4, { ptr: opts.meta ? 'pkt_meta' : undefined }),
    { name: 'tstamp', off: SKB.tstamp, size: 8, read: true, write: w('tstamp') },
    f32('wire_len'), f32('gso_segs'),
    ro('sk', 8, { ptr: 'sock_common_or_null' }),
    f32('gso_size'),
    ro('hwtstamp', 8),
  ];
  return all.filter((f) => !opts.deny.includes(f.name));
}

const SOCKET_FILTER: CtxLayout = {
  name: '__sk_buff',
  size: SKB_SIZE,
  packet: 'none',
  fields: skbFields({
    write: ['cb'],
    deny: ['tc_classid', 'data', 'data_meta', 'data_end', 'family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port', 'tstamp', 'wire_len', 'hwtstamp'],
    pkt: false,
    meta: false,
  }),
};

const TC: CtxLayout = {
  name: '__sk_buff',
  size: SKB_SIZE,
  packet: 'write',
  fields: skbFields({
    write: ['mark', 'tc_index', 'priority', 'tc_classid', 'cb', 'tstamp', 'queue_mapping'],
    deny: ['family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port'],
    pkt: true,
    meta: true,
  }),
};

const CGROUP_SKB: CtxLayout = {
  name: '__sk_buff',
  size: SKB_SIZE,
  packet: 'read',
  fields: skbFields({ write: ['mark', 'priority', 'cb', 'tstamp'], deny: ['tc_classid', 'data_meta', 'wire_len'], pkt: true, meta: false }),
};

// sk_skb (sockmap parsers and verdicts): sk_skb_is_valid_access. Writes
// only to tc_index and priority; no mark, tc_classid, data_meta, tstamp,
// wire_len or hwtstamp; direct packet access.
const SK_SKB: CtxLayout = {
  name: '__sk_buff',
  size: SKB_SIZE,
  packet: 'write',
  fields: skbFields({
    write: ['tc_index', 'priority'],
    deny: ['mark', 'tc_classid', 'data_meta', 'tstamp', 'wire_len', 'hwtstamp'],
    pkt: true,
    meta: false,
  }),
};

// Lightweight tunnels: packet reads everywhere, writes only on xmit.
function lwt(packet: 'read' | 'write'): CtxLayout {
  return {
    name: '__sk_buff',
    size: SKB_SIZE,
    packet,
    fields: skbFields({
      write: ['mark', 'priority', 'cb'],
      deny: ['tc_classid', 'family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port', 'data_meta', 'tstamp', 'wire_len', 'hwtstamp'],
      pkt: true,
      meta: false,
    }),
  };
}

const XDP: CtxLayout = {
  name: 'xdp_md',
  size: 24,
  packet: 'write',
  fields: [
    { name: 'data', off: 0, size: 4, read: true, write: false, ptr: 'pkt' },
    { name: 'data_end', off: 4, size: 4, read: true, write: false, ptr: 'pkt_end' },
    { name: 'data_meta', off: 8, size: 4, read: true, write: false, ptr: 'pkt_meta' },
    { name: 'ingress_ifindex', off: 12, size: 4, read: true, write: false },
    { name: 'rx_queue_index', off: 16, size: 4, read: true, write: false },
  ],
};

/** struct sk_msg_md: read-only; data/data_end are 64-bit pointers; 32-bit fields take exact loads. */
const SK_MSG: CtxLayout = {
  name: 'sk_msg_md',
  size: 80,
  packet: 'write',
  fields: [
    { name: 'data', off: 0, size: 8, read: true, write: false, ptr: 'pkt' },
    { name: 'data_end', off: 8, size: 8, read: true, write: false, ptr: 'pkt_end' },
    { name: 'family', off: 16, size: 4, read: true, write: false },
    { name: 'remote_ip4', off: 20, size: 4, read: true, write: false },
    { name: 'local_ip4', off: 24, size: 4, read: true, write: false },
    { name: 'remote_ip6', off: 28, size: 16, read: true, write: false, area: true, sizes: [4] },
    { name: 'local_ip6', off: 44, size: 16, read: true, write: false, area: true, sizes: [4] },
    { name: 'remote_port', off: 60, size: 4, read: true, write: false },
    { name: 'local_port', off: 64, size: 4, read: true, write: false },
    { name: 'size', off: 68, size: 4, read: true, write: false },
  ],
};

/** struct pt_regs on x86-64: 21 unsigned longs. */
const PT_REGS_SIZE = 168;
const KPROBE: CtxLayout = {
  name: 'pt_regs',
  size: PT_REGS_SIZE,
  packet: 'none',
  fields: [{ name: 'regs', off: 0, size: PT_REGS_SIZE, read: true, write: false, area: true }],
};

const PERF_EVENT: CtxLayout = {
  name: 'bpf_perf_event_data',
  size: PT_REGS_SIZE + 16,
  packet: 'none',
  fields: [
    { name: 'regs', off: 0, size: PT_REGS_SIZE, read: true, write: false, area: true, sizes: [8] },
    { name: 'sample_period', off: PT_REGS_SIZE, size: 8, read: true, write: false, narrow: true },
    { name: 'addr', off: PT_REGS_SIZE + 8, size: 8, read: true, write: false, narrow: true },
  ],
};

/**
 * Tracepoint records: opaque, read-only, up to PERF_MAX_TRACE_SIZE. The
 * first 8 bytes (the common_* header) are refused by the 6.18 kernel.
 */
const TRACEPOINT: CtxLayout = {
  name: 'trace_event_raw',
  size: 2048,
  packet: 'none',
  fields: [{ name: 'data', off: 8, size: 2040, read: true, write: false, area: true }],
};

/** Raw tracepoints: up to MAX_BPF_FUNC_ARGS u64 arguments. */
const RAW_TRACEPOINT: CtxLayout = {
  name: 'bpf_raw_tracepoint_args',
  size: 96,
  packet: 'none',
  fields: [{ name: 'args', off: 0, size: 96, read: true, write: false, area: true }],
};

/** U16_MAX: the largest syscall program context (ctx_size_in). */
export const MAX_SYSCALL_CTX = 0xffff;

/**
 * Syscall programs: the caller's buffer, read and written at any naturally
 * aligned offset below U16_MAX (syscall_prog_is_valid_access); its real size
 * is checked at run time against the furthest byte the program touches. An
 * aligned access starting below U16_MAX ends at most at U16_MAX + 1.
 */
const SYSCALL: CtxLayout = {
  name: 'syscall ctx',
  size: MAX_SYSCALL_CTX,
  packet: 'none',
  signExtendLoads: true,
  fields: [{ name: 'buffer', off: 0, size: MAX_SYSCALL_CTX + 1, read: true, write: true, area: true }],
};

const NONE: CtxLayout = { name: 'unknown', size: 0, packet: 'none', fields: [] };

const T = BPF_PROG_TYPE;
const BY_TYPE = new Map<number, CtxLayout>([
  [T['socket_filter']!, SOCKET_FILTER],
  [T['sched_cls']!, TC],
  [T['sched_act']!, TC],
  [T['xdp']!, XDP],
  [T['cgroup_skb']!, CGROUP_SKB],
  [T['sk_msg']!, SK_MSG],
  [T['sk_skb']!, SK_SKB],
  [T['lwt_in']!, lwt('read')],
  [T['lwt_out']!, lwt('read')],
  [T['lwt_xmit']!, lwt('write')],
  [T['kprobe']!, KPROBE],
  [T['perf_event']!, PERF_EVENT],
  [T['tracepoint']!, TRACEPOINT],
  [T['raw_tracepoint']!, RAW_TRACEPOINT],
  [T['raw_tracepoint_writable']!, RAW_TRACEPOINT],
  [T['syscall']!, SYSCALL],
]);

/** The context layout for a program type (an empty layout for types not described yet). */
export function ctxLayout(progType: number): CtxLayout {
  return BY_TYPE.get(progType) ?? NONE;
}

/**
 * The context of a program attached in Node (src/attach: diagnostics_channel
 * tracepoints, function probes, static probes): the program's own struct,
 * laid out from offset 0 by the attach layer, `size` bytes from its BTF.
 * Read-only; any naturally aligned access inside it.
 */
export function structCtxLayout(size: number, name = 'attach context'): CtxLayout {
  const n = Math.max(0, Math.floor(size));
  return { name, size: n, packet: 'none', fields: n > 0 ? [{ name: 'struct', off: 0, size: n, read: true, write: false, area: true }] : [] };
}

/** Program types with a described context. */
export function supportedCtxTypes(): number[] {
  return [...BY_TYPE.keys()];
}

const isPow2Size = (s: number): boolean => s === 1 || s === 2 || s === 4 || s === 8;

/**
 * May a program read or write `size` bytes at `off` of its context? Mirrors
 * the kernel: the access lies inside one field, is naturally aligned, and
 * has a size the field allows.
 */
export function checkCtxAccess(layout: CtxLayout, off: number, size: number, write: boolean): CtxAccess {
  if (off < 0 || off >= layout.size || !isPow2Size(size) || off % size !== 0) return { ok: false };
  for (const f of layout.fields) {
    if (off < f.off || off >= f.off + f.size) continue;
    if (off + size > f.off + f.size) return { ok: false };
    if (write ? !f.write : !f.read) return { ok: false };
    if (f.area) {
      if (f.sizes && !f.sizes.includes(size)) return { ok: false };
      return { ok: true, field: f };
    }
    if (f.ptr !== undefined || write) {
      // Pointer fields and writes take the whole field.
      return size === f.size && off === f.off ? { ok: true, field: f } : { ok: false };
    }
    if (size === f.size && off === f.off) return { ok: true, field: f };
    return f.narrow && size < f.size ? { ok: true, field: f } : { ok: false };
  }
  return { ok: false };
}
