// The socket structs a program reads through socket pointers: struct
// bpf_sock (from skb->sk, bpf_sk_fullsock, the socket lookups) and struct
// bpf_tcp_sock (bpf_tcp_sock), laid out as include/uapi/linux/bpf.h has
// them, with the kernel's access rules (bpf_sock_common_is_valid_access,
// bpf_sock_is_valid_access, bpf_tcp_sock_is_valid_access in
// net/core/filter.c). ONE table: the verifier checks socket loads against
// it and the skb test run builds its socket from it.

/** Offsets in struct bpf_sock. */
export const BPF_SOCK = {
  bound_dev_if: 0, family: 4, type: 8, protocol: 12, mark: 16, priority: 20, src_ip4: 24, src_ip6: 28,
  src_port: 44, dst_port: 48, dst_ip4: 52, dst_ip6: 56, state: 72, rx_queue_mapping: 76,
} as const;
export const BPF_SOCK_SIZE = 80;

/** struct bpf_tcp_sock: u32 fields, then bytes_received and bytes_acked (u64), then u32 fields up to icsk_retransmits. */
export const BPF_TCP_SOCK = { bytes_received: 80, bytes_acked: 88, icsk_retransmits: 108 } as const;
export const BPF_TCP_SOCK_SIZE = 112;

/** What a socket pointer points to, as the verifier names the register type. */
export type SockKind = 'sock_common' | 'sock' | 'tcp_sock';

/** bpf_ctx_narrow_access_ok: a power-of-two size no wider than the field. */
const narrowOk = (size: number, field: number): boolean => size <= field && (size & (size - 1)) === 0;

/** bpf_sock_is_valid_access (reads; writes are refused before this). */
function sockOk(off: number, size: number): boolean {
  const S = BPF_SOCK;
  if (off < 0 || off >= BPF_SOCK_SIZE || size <= 0 || off % size !== 0) return false;
  const in4 = (start: number, n: number): boolean => off >= start && off < start + n;
  if (off === S.state || off === S.family || off === S.type || off === S.protocol || off === S.src_port ||
    off === S.rx_queue_mapping || in4(S.src_ip4, 4) || in4(S.src_ip6, 16) || in4(S.dst_ip4, 4) || in4(S.dst_ip6, 16)) {
    return narrowOk(size, 4);
  }
  // dst_port is a __be16 followed by 16 bits of padding: 4-byte loads take both, narrower ones only the port
  if (in4(S.dst_port, 2)) return narrowOk(size, size === 4 ? 4 : 2);
  if (in4(S.dst_port + 2, 2)) return false;
  return size === 4;
}

/** bpf_tcp_sock_is_valid_access: u64 loads of the two byte counters, u32 loads of the rest, no narrow loads. */
function tcpSockOk(off: number, size: number): boolean {
  if (off < 0 || off >= BPF_TCP_SOCK_SIZE || size <= 0 || off % size !== 0) return false;
  if (off === BPF_TCP_SOCK.bytes_received || off === BPF_TCP_SOCK.bytes_acked) return size === 8;
  return size === 4;
}

/** May a program read `size` bytes at `off` through a pointer to this kind of socket? */
export function sockAccessOk(kind: SockKind, off: number, size: number): boolean {
  switch (kind) {
    case 'sock_common':
      // type, protocol, mark and priority live in the full socket only
      if (off >= BPF_SOCK.type && off < BPF_SOCK.priority + 4) return false;
      return sockOk(off, size);
    case 'sock':
      return sockOk(off, size);
    case 'tcp_sock':
      return tcpSockOk(off, size);
  }
}
