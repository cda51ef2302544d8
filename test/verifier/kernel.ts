// Runs instruction streams through the running kernel's verifier via
// kernel_load.py (bpf(2) through Python ctypes). Test-only: everything
// returns 'unavailable' where there is no python3, no root or no bpf(2).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { MapInfo } from '../../src/verifier/env.js';

export interface KernelRequest {
  readonly bytes: Uint8Array;
  readonly progType: number;
  readonly maps: readonly MapInfo[];
  readonly license?: string;
  readonly logLevel?: number;
  readonly progFlags?: number;
  readonly expectedAttachType?: number;
}

export interface KernelVerdict {
  readonly status: 'accept' | 'reject' | 'error' | 'unavailable';
  readonly errno: number;
  readonly log: string;
}

function script(): string {
  // dist/test/verifier -> test/verifier (the .py is not compiled)
  const here = dirname(fileURLToPath(import.meta.url));
  const cands = [join(here, 'kernel_load.py'), resolve(here, '../../../test/verifier/kernel_load.py')];
  return cands.find((p) => existsSync(p)) ?? cands[1]!;
}

/** Load every request; one python process for the batch. */
export function kernelVerdicts(reqs: readonly KernelRequest[]): KernelVerdict[] {
  const unavailable = (why: string): KernelVerdict[] => reqs.map(() => ({ status: 'unavailable', errno: 0, log: why }));
  if (process.getuid?.() !== 0) return unavailable('not root');
  const input = reqs
    .map((r) => JSON.stringify({
      insns: Buffer.from(r.bytes).toString('hex'), progType: r.progType, license: r.license ?? 'GPL', logLevel: r.logLevel ?? 1,
      progFlags: r.progFlags ?? 0, expectedAttachType: r.expectedAttachType ?? 0,
      maps: r.maps.map((m) => ({
        type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags ?? 0,
        valueBtf: m.valueBtf === true, spinLockOff: m.spinLockOff,
      })),
    }))
    .join('\n') + '\n';
  const p = spawnSync('python3', [script()], { input, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
  if (p.status !== 0 || !p.stdout) return unavailable(`kernel_load.py failed: ${p.stderr || p.error?.message}`);
  const lines = p.stdout.trim().split('\n');
  if (lines.length !== reqs.length) return unavailable('kernel_load.py answered a different number of lines');
  return lines.map((l) => JSON.parse(l) as KernelVerdict);
}

/** The verifier's error line in a kernel log: the line before "processed N insns". */
export function kernelErrorLine(log: string): string {
  const lines = log.trimEnd().split('\n');
  const k = lines.findIndex((l) => l.startsWith('processed '));
  return k > 0 ? lines[k - 1]! : lines[lines.length - 1] ?? '';
}
