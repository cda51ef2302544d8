// Checksum state and routing metadata of a test run's skb, which the kernel
// builds with ip_summed CHECKSUM_NONE, no route (dst) and, for a task in no
// net_cls cgroup, class id 0:
// - bpf_csum_update adds to skb->csum only for CHECKSUM_COMPLETE packets,
//   which a test run never has here: -ENOTSUPP;
// - bpf_csum_level moves ip_summed/csum_level as __skb_incr/decr/
//   reset_checksum_unnecessary do, and QUERY reads the level (-EACCES
//   unless CHECKSUM_UNNECESSARY);
// - bpf_get_route_realm (dst_tclassid) and bpf_get_cgroup_classid are 0:
//   the kernel's class id is the net_cls cgroup's of the task (the skb's
//   in tc, the current one in every other program type), and a program run
//   in user space belongs to no net_cls cgroup.

import { arg, argHi, helper, retInt, retU32 } from '../helpers/define.js';
import type { HelperDef } from '../helpers/registry.js';
import { EINVAL } from './errno.js';
import { SkbRunContext, skbOf } from './skb.js';

/** The kernel's ENOTSUPP (524), as bpf_csum_update returns it. */
const ENOTSUPP = 524;
const EACCES = 13;
const BPF_CSUM_LEVEL = { QUERY: 0, INC: 1, DEC: 2, RESET: 3 } as const;
/** SKB_MAX_CSUM_LEVEL. */
const MAX_CSUM_LEVEL = 3;

export const CSUM_HELPERS: readonly HelperDef[] = [
  helper('csum_update', (env) => {
    skbOf(env, 'csum_update');
    retInt(env, -ENOTSUPP);
  }),
  helper('csum_level', (env) => {
    const skb = skbOf(env, 'csum_level');
    const level = argHi(env, 2) !== 0 ? -1 : arg(env, 2);
    switch (level) {
      case BPF_CSUM_LEVEL.INC:
        if (!skb.csumUnnecessary) {
          skb.csumUnnecessary = true;
          skb.csumLevel = 0;
        } else if (skb.csumLevel < MAX_CSUM_LEVEL) {
          skb.csumLevel++;
        }
        return retInt(env, 0);
      case BPF_CSUM_LEVEL.DEC:
        if (skb.csumUnnecessary) {
          if (skb.csumLevel === 0) skb.csumUnnecessary = false;
          else skb.csumLevel--;
        }
        return retInt(env, 0);
      case BPF_CSUM_LEVEL.RESET:
        skb.resetChecksumUnnecessary();
        return retInt(env, 0);
      case BPF_CSUM_LEVEL.QUERY:
        return retInt(env, skb.csumUnnecessary ? skb.csumLevel : -EACCES);
      default:
        return retInt(env, -EINVAL);
    }
  }),
  helper('get_route_realm', (env) => {
    skbOf(env, 'get_route_realm');
    retU32(env, 0);
  }),
  helper('get_cgroup_classid', (env) => {
    // tc programs pass their skb (the verifier's prototype for tc and lwt); the
    // others take no argument (bpf_get_cgroup_classid_curr_proto), so r1 is not looked at
    if (env.run instanceof SkbRunContext && env.run.l2) skbOf(env, 'get_cgroup_classid');
    retU32(env, 0);
  }),
];
