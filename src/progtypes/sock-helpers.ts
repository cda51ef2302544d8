// Socket helpers on the test run's socket (skb->sk, see skb.ts): the
// kernel's BPF_PROG_TEST_RUN attaches one dummy socket to the skb, and
// nothing else exists in the runtime's network namespace, so
// - bpf_sk_fullsock(sk) returns sk (its state, TCP_CLOSE, is a full one);
// - bpf_tcp_sock and bpf_skc_to_tcp_sock return NULL (protocol 0, not TCP);
// - bpf_get_socket_cookie(skb) is the socket's cookie (non-zero, one per
//   test run), bpf_get_socket_uid(skb) its owner, root (sock_init_data
//   without a struct socket gives uid 0);
// - bpf_get_netns_cookie: the runtime models one namespace, init_net, whose
//   cookie is 1 (the first the kernel hands out);
// - the socket lookups (sk_lookup_tcp/udp, skc_lookup_tcp) find nothing
//   (NULL), and bpf_sk_release has nothing to release (returns 0).

import { arg, helper, retInt, retU32, retU64 } from '../helpers/define.js';
import type { HelperDef, HelperEnv } from '../helpers/registry.js';
import { SkbRunContext, skbOf } from './skb.js';

/** init_net's cookie: the one network namespace a runtime has. */
export const INIT_NET_COOKIE = 1n;
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
  helper('skc_to_tcp_sock', (env) => retU32(env, 0)),
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
