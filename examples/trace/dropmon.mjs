// dropmon: a packet pipeline that drops packets in several places, each drop
// firing the static probe 'skb:kfree_skb'; dropmon.o counts drops per
// location in a hash map, and this program prints the table sorted by count,
// refreshed every half second while the pipeline runs.
//
//   npm run build && node examples/trace/dropmon.mjs [SECONDS]
import { readFileSync } from 'node:fs';
import { Runtime } from '../../dist/src/runtime/runtime.js';
import { attachObject, probe } from '../../dist/src/attach/index.js';

const seconds = Number(process.argv[2] ?? 3);
const kfreeSkb = probe.define('skb:kfree_skb');

// --- the traced application: a toy receive path ---------------------------
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
function drop(location, len) {
  kfreeSkb.fire({ location, len });
}
function receive(len) {
  if (len < 64) return drop('eth_type_trans: runt', len);
  if (rand() < 0.02) return drop('ip_rcv: bad checksum', len);
  if (rand() < 0.05) return drop('tcp_v4_rcv: no socket', len);
  if (rand() < 0.01) return drop('sk_add_backlog: queue full', len);
}

// --- tracing ---------------------------------------------------------------
const rt = new Runtime();
const coll = rt.loadObject(readFileSync(new URL('dropmon.o', import.meta.url)), { file: 'dropmon.o' });
const links = attachObject(coll);
const drops = coll.typedMap('drops');

function printTable() {
  const rows = [...drops.entries()].map(({ key, value }) => [key.location, Number(value)]);
  rows.sort((a, b) => b[1] - a[1]);
  const lines = rows.map(([loc, n]) => `${String(n).padStart(8)}  ${loc}`);
  process.stdout.write(`\x1b[H\x1b[J` + `dropmon: drops by location (${seconds}s, ${new Date().toISOString()})\n   COUNT  LOCATION\n` + lines.join('\n') + '\n');
}

const end = Date.now() + seconds * 1000;
const timer = setInterval(printTable, 500);
const pump = setInterval(() => {
  for (let i = 0; i < 2000; i++) receive(40 + Math.floor(rand() * 1460));
  if (Date.now() >= end) {
    clearInterval(pump);
    clearInterval(timer);
    printTable();
    const s = links.get('dropmon').stats;
    process.stdout.write(`${s.events} drop events, ${s.drops} dropped by faults\n`);
    links.detach();
  }
}, 10);
