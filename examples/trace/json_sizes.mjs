// json_sizes: function probes on JSON.parse, a global function: json_sizes.o
// builds a log2 histogram of input sizes and counts the parses that throw,
// while this program parses documents of random sizes (a few of them broken).
//
//   npm run build && node examples/trace/json_sizes.mjs [PARSES]
import { readFileSync } from 'node:fs';
import { Runtime } from '../../dist/src/runtime/runtime.js';
import { attachObject } from '../../dist/src/attach/index.js';

const parses = Number(process.argv[2] ?? 2000);
const rt = new Runtime();
const coll = rt.loadObject(readFileSync(new URL('json_sizes.o', import.meta.url)), { file: 'json_sizes.o' });
const links = attachObject(coll); // JSON.parse is now probed

// the traced application
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
for (let i = 0; i < parses; i++) {
  const doc = JSON.stringify({ id: i, tags: Array.from({ length: Math.floor(rand() ** 3 * 200) }, (_, k) => `tag${k}`) });
  try {
    JSON.parse(rand() < 0.01 ? doc.slice(0, -1) : doc);
  } catch {
    // a broken document: the return probe counted it
  }
}
links.detach(); // JSON.parse is itself again

const sizes = coll.typedMap('sizes');
const counts = Array.from({ length: 24 }, (_, slot) => Number(sizes.lookup(slot)));
const first = counts.findIndex((c) => c > 0);
const last = counts.findLastIndex((c) => c > 0);
const max = Math.max(...counts);
console.log('     bytes               : count    distribution');
for (let slot = first; slot <= last; slot++) {
  const lo = slot === 0 ? 0 : 2 ** slot;
  const bar = '*'.repeat(Math.round((40 * counts[slot]) / max)).padEnd(40);
  console.log(`${String(lo).padStart(10)} -> ${String(2 ** (slot + 1) - 1).padEnd(10)} : ${String(counts[slot]).padEnd(8)} |${bar}|`);
}
console.log(`parses that threw: ${coll.typedMap('failures').lookup(0)}`);
