// The running kernel's BTF for the verifier (VerifyOptions.kernelBtf): the
// layouts of kernel structs that kfuncs and bpf_get_current_task_btf return
// pointers to. Node only (reads a file); the verifier itself never touches
// the file system, so it stays usable in a browser.

import { readFileSync } from 'node:fs';
import type { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse-btf.js';
import type { ProgramSpec } from '../elf/spec.js';

const cache = new Map<string, Btf | null>();

/**
 * The kernel BTF at `path` (default /sys/kernel/btf/vmlinux), parsed once
 * per path; undefined when the file is missing or unreadable (not Linux, or
 * a kernel without CONFIG_DEBUG_INFO_BTF).
 */
export function loadKernelBtf(path = '/sys/kernel/btf/vmlinux'): Btf | undefined {
  let b = cache.get(path);
  if (b === undefined) {
    try {
      b = parseBtf(new Uint8Array(readFileSync(path)), { section: path });
    } catch {
      b = null;
    }
    cache.set(path, b);
  }
  return b ?? undefined;
}

const OPC_CALL = 0x85;
const GET_CURRENT_TASK_BTF = 158;

/**
 * The kernel BTF when program p needs it (it calls kfuncs or
 * bpf_get_current_task_btf, whose results are kernel objects), so tools
 * that verify objects parse the 5 MB file only for such programs.
 */
export function kernelBtfFor(p: ProgramSpec, path?: string): Btf | undefined {
  // BTF tracing programs (tp_btf, fentry...) read their arguments by the kernel's BTF too (tracing-ctx.ts).
  let needs = p.externs.length > 0 || (p.type === 'tracing' && p.attachTo !== undefined);
  for (let i = 0; !needs && i + 8 <= p.insns.length; i += 8) {
    const imm = p.insns[i + 4]! | (p.insns[i + 5]! << 8) | (p.insns[i + 6]! << 16) | (p.insns[i + 7]! << 24);
    needs = p.insns[i] === OPC_CALL && p.insns[i + 1]! >> 4 === 0 && imm === GET_CURRENT_TASK_BTF;
  }
  return needs ? loadKernelBtf(path) : undefined;
}
