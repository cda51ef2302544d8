// Socket helpers on the test run's socket (skb->sk, see skb.ts): the
// kernel's BPF_PROG_TEST_RUN attaches one dummy socket to the skb, and
// nothing else exists in the runtime's network namespace, so
// - bpf_sk_fullsock(sk) returns sk (its state, TCP_CLOSE, is a full one);
// - bpf_tcp_sock, bpf_get_listener_sock and the bpf_skc_to_* casts return NULL (protocol 0 and
//   family AF_INET/AF_INET6/AF_UNSPEC: not TCP, UDP, unix or MPTCP);
// - bpf_sk_storage_get / bpf_sk_storage_delete keep values on that socket
//   for the test run (a new socket each run); other pointers get NULL /
//   -EINVAL, as for a socket that is not a full one;
// - bpf_get_socket_cookie(skb) is the socket's cookie (non-zero, one per
//   test run), bpf_get_socket_uid(skb) its owner, root (sock_init_data
//   without a struct socket gives uid 0);
// - bpf_get_netns_cookie: the runtime models one namespace, init_net, whose
//   cookie is 1 (the first the kernel hands out);
// - the socket lookups (sk_lookup_tcp/udp, skc_lookup_tcp) find nothing
//   (NULL), and bpf_sk_release has nothing to release (returns 0).

import { arg, argHi, helper, retInt, retU32, retU64 } from '../helpers/define.js';
import { ProgramError } from '../internal/errors.js';
import { ENOENT } from '../maps/errno.js';
import { SkStorageMap } from '../maps/sk-storage.js';
import { EINVAL } from './errno.js';
import type { HelperDef, HelperEnv } from '../helpers/registry.js';
import { SkbRunContext, skbOf } from './skb.js';

/** init_net's cookie: the one network namespace a runtime has. */
export const INIT_NET_COOKIE = 1n;
/** BPF_SK_STORAGE_GET_F_CREATE. */
const SK_STORAGE_GET_F_CREATE = 1;
/** GLOBAL_ROOT_UID, the dummy socket's owner. */
const ROOT_UID = 0;

/** The test run's socket if `sk` (the helper's argument) is it, else undefined. */
function runSocket(env: HelperEnv, sk: number): SkbRunContext | undefined {
  const run = env.run;
  return run instanceof SkbRunContext && sk === run.sockAddr ? run : undefined;
}

export const SOCK_HELPERS: readonly HelperDef[] = [
  helper('sk_fullsock', (env) => {
    const sk = arg(env, 1);
    retU32(env, runSocket(env, sk) !== undefined ? sk : 0);
  }),
  helper('tcp_sock', (env) => retU32(env, 0)),
  // the dummy socket is not listening (TCP_CLOSE)
  helper('get_listener_sock', (env) => retU32(env, 0)),
  ...['skc_to_tcp_sock', 'skc_to_tcp6_sock', 'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock', 'skc_to_udp6_sock', 'skc_to_unix_sock', 'skc_to_mptcp_sock']
    .map((name) => helper(name, (env) => retU32(env, 0))),
  helper('sk_storage_get', (env) => {
    const run = runSocket(env, arg(env, 2));
    const flags = arg(env, 4);
    if (run === undefined || argHi(env, 4) !== 0 || flags > SK_STORAGE_GET_F_CREATE) return retU32(env, 0);
    const map = run.maps.byDesc(arg(env, 1));
    if (!(map instanceof SkStorageMap)) throw new ProgramError(env.pc, 'helper sk_storage_get: r1 is not an sk_storage map');
    const value = arg(env, 3);
    let init: Uint8Array | undefined;
    if (value !== 0) {
      if (!env.mem.checkRange(value, map.valueSize, false)) return retU32(env, 0);
      init = env.mem.u8.subarray(value, value + map.valueSize);
    }
    retU32(env, run.socketStorage(map.id, map.valueSize, flags === SK_STORAGE_GET_F_CREATE, init));
  }),
  helper('sk_storage_delete', (env) => {
    const run = runSocket(env, arg(env, 2));
    if (run === undefined) return retInt(env, -EINVAL);
    const map = run.maps.byDesc(arg(env, 1));
    if (!(map instanceof SkStorageMap)) throw new ProgramError(env.pc, 'helper sk_storage_delete: r1 is not an sk_storage map');
    retInt(env, run.deleteSocketStorage(map.id) ? 0 : -ENOENT);
  }),
  helper('get_socket_cookie', (env) => retU64(env, skbOf(env, 'get_socket_cookie').socketCookie())),
  helper('get_socket_uid', (env) => {
    skbOf(env, 'get_socket_uid');
    retU32(env, ROOT_UID);
  }),
  helper('get_netns_cookie', (env) => retU64(env, INIT_NET_COOKIE)),
  helper('sk_lookup_tcp', (env) => retU32(env, 0)),
  helper('sk_lookup_udp', (env) => retU32(env, 0)),
  helper('skc_lookup_tcp', (env) => retU32(env, 0)),
  helper('sk_release', (env) => retInt(env, 0)),
];
