// Hand-written verifier cases: a compact text form (LLVM asm plus a few
// header lines) with the verdict the Linux kernel gives. Shared by the
// tests and scripts/verifier-report.mjs.
//
//   == name
//   type: xdp                       (program type, default socket_filter)
//   maps: array:4:8:1 hash:4:8:16   (type:key:value:entries[:flags[:btf|lock@OFF]], referenced as ld_pseudo rN, 1, INDEX;
//                                    btf: the value has BTF; lock@OFF: its BTF struct holds a bpf_spin_lock at OFF)
//   license: MIT                    (default GPL)
//   flags: sleepable                (BPF_F_SLEEPABLE; syscall programs need it)
//   expect: accept | reject TEXT    (TEXT: a substring of the kernel's error line)
//   --
//   r0 = 0
//   exit

import { readFileSync } from 'node:fs';
import { assemble } from '../../src/asm/assemble.js';
import { decodeProgram, type Program } from '../../src/isa/decode.js';
import { BPF_MAP_TYPE, BPF_PROG_TYPE } from '../../src/internal/uapi.gen.js';
import type { MapInfo } from '../../src/verifier/env.js';
import { BPF_F_SLEEPABLE } from '../../src/elf/section-names.js';

export interface VerifierCase {
  readonly name: string;
  readonly progType: number;
  readonly typeName: string;
  readonly maps: MapInfo[];
  readonly license: string;
  /** Loaded with BPF_F_SLEEPABLE. */
  readonly sleepable: boolean;
  readonly expect: 'accept' | 'reject';
  readonly message?: string;
  readonly bytes: Uint8Array;
  readonly prog: Program;
  readonly line: number;
}

export function parseCases(text: string, file = 'cases.txt'): VerifierCase[] {
  const out: VerifierCase[] = [];
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (!l.startsWith('== ')) {
      i++;
      continue;
    }
    const start = i + 1;
    const name = l.slice(3).trim();
    const head = new Map<string, string>();
    i++;
    while (i < lines.length && lines[i]!.trim() !== '--') {
      const m = /^(\w+):\s*(.*)$/.exec(lines[i]!.trim());
      if (m) head.set(m[1]!, m[2]!);
      i++;
    }
    i++;
    const body: string[] = [];
    while (i < lines.length && !lines[i]!.startsWith('== ')) body.push(lines[i++]!);
    const typeName = head.get('type') ?? 'socket_filter';
    const progType = BPF_PROG_TYPE[typeName];
    if (progType === undefined) throw new Error(`${file}:${start}: unknown program type ${typeName}`);
    const maps: MapInfo[] = (head.get('maps') ?? '').split(/\s+/).filter(Boolean).map((m) => {
      const [t, k, v, e, f, b] = m.split(':');
      const type = BPF_MAP_TYPE[t!];
      if (type === undefined) throw new Error(`${file}:${start}: unknown map type ${t}`);
      const lock = /^lock@(\d+)$/.exec(b ?? '');
      if (b !== undefined && b !== 'btf' && !lock) throw new Error(`${file}:${start}: map BTF is 'btf' or 'lock@OFF', not ${b}`);
      const btf = b === undefined ? {} : lock ? { valueBtf: true, spinLockOff: Number(lock[1]) } : { valueBtf: true };
      return { type, keySize: Number(k), valueSize: Number(v), maxEntries: Number(e), flags: Number(f ?? 0), ...btf };
    });
    const exp = head.get('expect') ?? '';
    const em = /^(accept|reject)\s*(.*)$/.exec(exp);
    if (!em) throw new Error(`${file}:${start}: case ${name} needs 'expect: accept|reject ...'`);
    const flags = (head.get('flags') ?? '').split(/\s+/).filter(Boolean);
    const bad = flags.find((f) => f !== 'sleepable');
    if (bad !== undefined) throw new Error(`${file}:${start}: unknown flag ${bad} (known: sleepable)`);
    const bytes = assemble(body.join('\n'), { dialect: 'llvm' });
    out.push({
      name, progType, typeName, maps, license: head.get('license') ?? 'GPL', sleepable: flags.includes('sleepable'), expect: em[1] as 'accept' | 'reject',
      message: em[2] || undefined, bytes, prog: decodeProgram(bytes, { validate: false }), line: start,
    });
  }
  return out;
}

/** The prog_flags a case is loaded into the kernel with. */
export function caseProgFlags(c: VerifierCase): number {
  return c.sleepable ? BPF_F_SLEEPABLE : 0;
}

export function loadCases(path: string): VerifierCase[] {
  return parseCases(readFileSync(path, 'utf8'), path);
}
