// inspect_demo: a Node process that loads netif_rcv.o and dropmon.o, attaches
// them, opts in to the inspection endpoint and keeps generating events, so
// the CLI can look at it from another terminal:
//
//   npm run build && node examples/trace/inspect_demo.mjs [SECONDS]     (default 60)
//   tsbpf prog list                  # or: node dist/src/cli/main.js prog list
//   tsbpf map dump name drops
//   tsbpf link list --json
//   tsbpf trace-pipe
import { readFileSync } from 'node:fs';
import { Runtime } from '../../dist/src/runtime/runtime.js';
import { attachObject, declareChannel, probe } from '../../dist/src/attach/index.js';
import { Registry, serveInspection } from '../../dist/src/registry/index.js';

const seconds = Number(process.argv[2] ?? 60);
const rt = new Runtime();
const registry = new Registry(rt, { stats: true });
const load = (name) => registry.loadObject(readFileSync(new URL(name, import.meta.url)), { file: name });

const netif = load('netif_rcv.o');
netif.map('dev_filter').update(new Uint8Array(4), new TextEncoder().encode('lo'.padEnd(16, '\0')));
const dropmon = load('dropmon.o');
const rcv = declareChannel('net:netif_receive_skb');
const kfree = probe.define('skb:kfree_skb');
attachObject(netif, { sink: registry });
attachObject(dropmon, { sink: registry });

const server = await serveInspection(registry);
console.log(`inspect_demo: pid ${process.pid}, socket ${server.path}`);

const devices = ['eth0', 'lo', 'wlan0'];
const places = ['ip_rcv: bad checksum', 'tcp_v4_rcv: no socket', 'udp_queue_rcv_skb: full'];
let n = 0;
const timer = setInterval(() => {
  n++;
  rcv.publish({ dev: devices[n % 3], len: 60 + n, protocol: 0x0800 });
  if (n % 2 === 0) kfree.fire({ location: places[n % 3], len: 60 });
}, 50);
setTimeout(() => {
  clearInterval(timer);
  void server.close();
}, seconds * 1000);
