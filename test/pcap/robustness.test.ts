// Mutated captures: the readers return packets or throw CaptureError; no
// RangeError from a DataView, no hang, for any chunking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureParser, CaptureError } from '../../src/pcap/index.js';
import { FIXTURES } from '../paths.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

test('mutated pcap and pcapng files: packets or CaptureError only', () => {
  const rand = rng(99);
  let errors = 0;
  for (const name of ['lo-us.pcap', 'two-if.pcapng', 'lo-ns.pcapng']) {
    const good = readFileSync(join(FIXTURES, 'pcap', name));
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from(good.subarray(0, 24 + Math.floor(rand() * (good.length - 24))));
      const flips = 1 + Math.floor(rand() * 6);
      for (let f = 0; f < flips; f++) {
        // mostly hit headers and lengths near the front
        const at = Math.floor(rand() * Math.min(bytes.length, rand() < 0.5 ? 200 : bytes.length));
        bytes[at] = Math.floor(rand() * 256);
      }
      const parser = new CaptureParser({ maxBlock: 1 << 20 });
      const chunk = 1 + Math.floor(rand() * 5000);
      try {
        for (let off = 0; off < bytes.length; off += chunk) {
          parser.push(bytes.subarray(off, off + chunk));
          while (parser.next() !== undefined);
        }
        parser.finish();
      } catch (e) {
        if (!(e instanceof CaptureError)) assert.fail(`${name} mutation ${i}: ${String(e)}`);
        errors++;
      }
    }
  }
  assert.ok(errors > 100, `${errors} errors`);
});
