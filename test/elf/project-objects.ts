// What the real projects' loaders do that libbpf's conventions do not say,
// shared by test/elf/project-objects.test.ts (load, CO-RE, kernel) and
// test/verifier/real-objects.ts (the verifier report's --objects corpus).
// Not a test file itself (the runner picks *.test.js only).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MapSpec, ObjectSpec } from '../../src/elf/spec.js';
import { BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';

/**
 * Program types the projects' own loaders set for sections libbpf cannot
 * classify (libbpf leaves them unspec): suricata loads its socket filters with
 * an explicit type, tc and ip-route load the samples' "filter" and "len_hist".
 */
export const LOADER_TYPES: Readonly<Record<string, string>> = {
  bypass_filter: 'socket_filter', filter: 'socket_filter', vlan_filter: 'socket_filter', lb: 'socket_filter',
  test_cgrp2_tc: 'sched_cls', lwt_len_hist: 'lwt_out',
};

/** Maps whose size the project's loader sets at run time (max_entries 0: per-CPU counters, ring buffers) get a small one, as that loader would. */
export function sized(m: MapSpec): MapSpec {
  const inner = m.innerMap ? { innerMap: sized(m.innerMap) } : {};
  return { ...m, ...inner, maxEntries: m.maxEntries !== 0 ? m.maxEntries : m.type === 'ringbuf' ? 65536 : 1 };
}

/** The spec with unspec programs given the type the project's loader uses (object name without .o). */
export function withLoaderTypes(spec: ObjectSpec, name: string): ObjectSpec {
  const type = LOADER_TYPES[name];
  if (type === undefined) return spec;
  return { ...spec, programs: spec.programs.map((p) => (p.type === 'unspec' ? { ...p, type, typeId: BPF_PROG_TYPE[type]! } : p)) };
}

function walk(dir: string, out: string[]): void {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (st.isFile() && f.endsWith('.o')) out.push(p);
  }
}

/** Every .o under the colon-separated directories, sorted. */
export function projectObjects(dirs: string | undefined): string[] {
  const out: string[] = [];
  for (const d of (dirs ?? '').split(':').filter(Boolean)) if (existsSync(d)) walk(d, out);
  return out.sort();
}
