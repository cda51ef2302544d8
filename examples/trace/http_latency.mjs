// http_latency: a Node HTTP server answers requests with varying delays
// (and some 500s); http_latency.o, attached to Node's built-in
// http.server.request.start and http.server.response.finish channels, builds
// a log2 histogram of the latency in microseconds, printed at the end like
// bcc's funclatency.
//
//   npm run build && node examples/trace/http_latency.mjs [REQUESTS]
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Runtime } from '../../dist/src/runtime/runtime.js';
import { attachObject } from '../../dist/src/attach/index.js';

const requests = Number(process.argv[2] ?? 60);

const rt = new Runtime();
const coll = rt.loadObject(readFileSync(new URL('http_latency.o', import.meta.url)), { file: 'http_latency.o' });
const links = attachObject(coll);

const server = http.createServer((req, res) => {
  const delay = Number(new URL(req.url, 'http://x').searchParams.get('ms') ?? 0);
  setTimeout(() => {
    res.statusCode = delay > 40 ? 500 : 200;
    res.end('ok\n');
  }, delay);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const get = (ms) =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/?ms=${ms}` }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
const delays = Array.from({ length: requests }, (_, i) => [0, 1, 2, 5, 10, 20, 50][i % 7]);
await Promise.all(delays.map(get));
server.close();
links.detach();

// print the histogram
const hist = coll.typedMap('latency_us');
const counts = [];
for (let slot = 0; slot < 32; slot++) counts.push(Number(hist.lookup(slot) ?? 0));
const last = counts.findLastIndex((c) => c > 0);
const max = Math.max(...counts);
console.log('     usecs               : count    distribution');
for (let slot = 0; slot <= last; slot++) {
  const lo = slot === 0 ? 0 : 2 ** slot;
  const hi = 2 ** (slot + 1) - 1;
  const bar = '*'.repeat(Math.round((40 * counts[slot]) / max)).padEnd(40);
  console.log(`${String(lo).padStart(10)} -> ${String(hi).padEnd(10)} : ${String(counts[slot]).padEnd(8)} |${bar}|`);
}
console.log(`server errors (5xx): ${coll.typedMap('errors').lookup(0)}`);
