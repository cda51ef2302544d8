// struct __sk_buff (include/uapi/linux/bpf.h, Linux 6.x): the ONE table of
// its field offsets and size. The verifier's context rules (ctx.ts), the
// skb test run (skb.ts) and the classic-BPF translation (src/cbpf) all
// import it.

/** sizeof(struct __sk_buff). */
export const SKB_SIZE = 192;

/** Byte offsets of the fields of struct __sk_buff. */
export const SKB = {
  len: 0, pkt_type: 4, mark: 8, queue_mapping: 12, protocol: 16, vlan_present: 20, vlan_tci: 24, vlan_proto: 28,
  priority: 32, ingress_ifindex: 36, ifindex: 40, tc_index: 44, cb: 48, hash: 68, tc_classid: 72, data: 76,
  data_end: 80, napi_id: 84, family: 88, remote_ip4: 92, local_ip4: 96, remote_ip6: 100, local_ip6: 116,
  remote_port: 132, local_port: 136, data_meta: 140, tstamp: 152, wire_len: 160, gso_segs: 164, sk: 168,
  gso_size: 176, hwtstamp: 184,
} as const;

export type SkbField = keyof typeof SKB;
