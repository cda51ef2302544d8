// tc's other redirects, in a test run (which records the verdict and sends
// nothing): bpf_redirect_peer and bpf_redirect_neigh return TC_ACT_REDIRECT
// (TC_ACT_SHOT for flags, or a next-hop struct too short); bpf_clone_redirect
// sends a clone at once in the kernel, which here succeeds for the one
// device (loopback, ifindex 1: 0) and is -EINVAL for any other or for flags
// other than BPF_F_INGRESS.

import { arg, argHi, helper, retInt } from '../helpers/define.js';
import type { HelperDef } from '../helpers/registry.js';
import { EINVAL } from './errno.js';
import { skbOf } from './skb.js';
import { LOOPBACK_IFINDEX } from './xdp.js';

const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const BPF_F_INGRESS = 1;
/** sizeof(struct bpf_redir_neigh). */
const REDIR_NEIGH_SIZE = 20;

export const TC_REDIRECT_HELPERS: readonly HelperDef[] = [
  helper('redirect_peer', (env) => retInt(env, arg(env, 2) !== 0 || argHi(env, 2) !== 0 ? TC_ACT_SHOT : TC_ACT_REDIRECT)),
  helper('redirect_neigh', (env) => {
    const plen = env.regs[6]! | 0; // int plen
    const bad = (plen !== 0 && plen < REDIR_NEIGH_SIZE) || arg(env, 4) !== 0 || argHi(env, 4) !== 0;
    retInt(env, bad ? TC_ACT_SHOT : TC_ACT_REDIRECT);
  }),
  helper('clone_redirect', (env) => {
    skbOf(env, 'clone_redirect');
    const flags = arg(env, 3);
    if ((flags & ~BPF_F_INGRESS) !== 0 || argHi(env, 3) !== 0) return retInt(env, -EINVAL);
    retInt(env, arg(env, 2) === LOOPBACK_IFINDEX ? 0 : -EINVAL);
  }),
];
