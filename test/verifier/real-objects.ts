// Real projects' objects (docs/real-objects.md) as a verifier corpus for
// scripts/verifier-report.mjs --objects: each program's verdict from tsbpf
// (as `tsbpf check` gives it, with the kernel's BTF and .kconfig values)
// and from the running kernel (the linked, relocated program loaded through
// test/elf/kernel-harness.ts). Test-only: it reads the objects, which are
// third-party code and never committed.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { kernelBtf } from '../../src/elf/target-btf.js';
import { kernelKconfig } from '../../src/elf/kernel-config.js';
import { loadObject } from '../../src/elf/load.js';
import type { ObjectSpec } from '../../src/elf/spec.js';
import { checkProgram } from '../../src/cli/check.js';
import { attachCtxSize } from '../../src/runtime/verify.js';
import { kernelLoad, kernelLoadable } from '../elf/kernel-harness.js';
import { projectObjects as listProjectObjects, sized, withLoaderTypes } from '../elf/project-objects.js';

export interface ObjectVerdict {
  readonly name: string;
  /** 'other': no verifier verdict (no root, an attach target the kernel's BTF lacks, a Node attach context, a refusal with no verifier log). */
  readonly kernel: 'accept' | 'reject' | 'other';
  readonly ours: 'accept' | 'reject';
  readonly note?: string;
  readonly kernelError?: string;
  readonly processed: number;
  readonly ms: number;
}

/** Every .o under the colon-separated directories, sorted. */
export function projectObjects(dirs: string): string[] {
  return listProjectObjects(dirs);
}

/** The kernel's error line in the harness's last log lines. */
function errorLine(log: readonly string[] | undefined): string | undefined {
  const lines = (log ?? []).filter((l) => l.trim() !== '' && !/^(processed \d+ insns|verification time|stack depth)/.test(l));
  return lines[lines.length - 1];
}

/** Verdicts for every program of every object that loads; objects that fail to load are listed in `unloadable`. */
export function objectVerdicts(files: readonly string[]): { verdicts: ObjectVerdict[]; unloadable: string[]; kernelSkip?: string } {
  const target = kernelBtf();
  const kconfig = kernelKconfig();
  // libbpf's virtual extern: 1 when syscalls go through pt_regs wrappers (x86-64 since 4.17).
  if (existsSync('/proc/kallsyms') && /\b__x64_sys_bpf\b/.test(readFileSync('/proc/kallsyms', 'utf8'))) kconfig.set('LINUX_HAS_SYSCALL_WRAPPER', '1');
  const verdicts: ObjectVerdict[] = [];
  const unloadable: string[] = [];
  let kernelSkip: string | undefined;
  for (const file of files) {
    const obj = basename(file, '.o').replace(/\.bpf$/, '');
    let spec: ObjectSpec;
    try {
      spec = loadObject(new Uint8Array(readFileSync(file)), { file, kconfig, ...(target ? { coreTarget: target } : {}) });
    } catch (e) {
      unloadable.push(`${obj}: ${(e as Error).message}`);
      continue;
    }
    spec = withLoaderTypes(spec, obj);
    const loadable = kernelLoadable(spec, target);
    const kernel = new Map<string, { ok: boolean; error?: string }>();
    if (loadable.length > 0 && !kernelSkip) {
      const res = kernelLoad({ ...spec, maps: spec.maps.map(sized) }, loadable, target);
      if (typeof res === 'string') kernelSkip = res;
      else {
        for (const r of res) {
          // A refusal with no verifier log (EPERM from this machine's fentry/fexit support) is no verifier verdict.
          if (!r.ok && errorLine(r.log) === undefined) continue;
          kernel.set(r.name, { ok: r.ok, ...(r.ok ? {} : { error: errorLine(r.log) ?? r.error }) });
        }
      }
    }
    for (const p of spec.programs) {
      if (p.typeId <= 0) continue;
      const t0 = performance.now();
      const r = checkProgram(spec, p, undefined, 0);
      const ms = performance.now() - t0;
      const k = attachCtxSize(spec, p) === undefined ? kernel.get(p.name) : undefined;
      verdicts.push({
        name: `${obj}:${p.name}`, kernel: k === undefined ? 'other' : k.ok ? 'accept' : 'reject', ours: r.verdict,
        ...(r.error !== undefined ? { note: r.error } : {}), ...(k?.error !== undefined ? { kernelError: k.error } : {}),
        processed: r.processed, ms,
      });
    }
  }
  return { verdicts, unloadable, ...(kernelSkip !== undefined ? { kernelSkip } : {}) };
}
