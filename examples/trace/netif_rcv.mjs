// netif_rcv: frames "received" on three devices become events on the
// diagnostics_channel 'net:netif_receive_skb'; netif_rcv.o keeps those of one
// device and prints them through trace_printk, which this program reads from
// the runtime's trace pipe, as `cat /sys/kernel/tracing/trace_pipe` would.
//
//   npm run build && node examples/trace/netif_rcv.mjs [DEVICE]     (default: lo)
import { readFileSync } from 'node:fs';
import { Runtime } from '../../dist/src/runtime/runtime.js';
import { attachObject, declareChannel } from '../../dist/src/attach/index.js';

const device = process.argv[2] ?? 'lo';
const channel = declareChannel('net:netif_receive_skb');

const rt = new Runtime();
const coll = rt.loadObject(readFileSync(new URL('netif_rcv.o', import.meta.url)), { file: 'netif_rcv.o' });
// the filter's device name, NUL-padded to IFNAMSIZ
const name = new Uint8Array(16);
name.set(new TextEncoder().encode(device).subarray(0, 15));
coll.map('dev_filter').update(new Uint8Array(4), name);
const links = attachObject(coll);

// the traced application: a few frames on each device
const devices = ['eth0', 'lo', 'wlan0'];
for (let i = 0; i < 12; i++) {
  const dev = devices[i % devices.length];
  if (channel.hasSubscribers) channel.publish({ dev, len: 60 + 100 * i, protocol: i % 4 === 0 ? 0x86dd : 0x0800 });
}

process.stdout.write(rt.tracePipe.read());
const s = links.get('netif_rcv').stats;
process.stdout.write(`${s.events} frames seen, filtered in the program; ${s.drops} dropped by faults\n`);
links.detach();
