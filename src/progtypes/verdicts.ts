// Return values by program type: the names a verdict count is printed with,
// and which verdicts let a packet go on (what `run --out` writes).

const XDP = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];
/** TC_ACT_* from linux/pkt_cls.h; -1 is TC_ACT_UNSPEC. */
const TC: Record<number, string> = {
  0: 'TC_ACT_OK', 1: 'TC_ACT_RECLASSIFY', 2: 'TC_ACT_SHOT', 3: 'TC_ACT_PIPE', 4: 'TC_ACT_STOLEN',
  5: 'TC_ACT_QUEUED', 6: 'TC_ACT_REPEAT', 7: 'TC_ACT_REDIRECT', 8: 'TC_ACT_TRAP', 0xffffffff: 'TC_ACT_UNSPEC',
};

/** A display name for `retval` (u32) of a program of type `progType`; the number itself when there is none. */
export function verdictName(progType: string, retval: number): string {
  switch (progType) {
    case 'xdp':
      return XDP[retval] ?? String(retval);
    case 'sched_cls':
    case 'sched_act':
      return TC[retval] ?? String(retval);
    case 'cgroup_skb':
      return retval === 1 ? 'allow' : retval === 0 ? 'drop' : String(retval);
    case 'socket_filter':
      return retval === 0 ? 'drop' : `keep ${retval}`;
    default:
      return String(retval);
  }
}

/** Does the packet continue (pass, transmit, redirect, accept) with this verdict? */
export function passesPacket(progType: string, retval: number): boolean {
  switch (progType) {
    case 'xdp':
      return retval === 2 || retval === 3 || retval === 4;
    case 'sched_cls':
    case 'sched_act':
      return retval !== 2 && retval !== 4 && retval !== 8;
    case 'cgroup_skb':
      return (retval & 1) === 1;
    case 'socket_filter':
      return retval !== 0;
    default:
      return true;
  }
}
