// The running kernel's BTF for the verifier (VerifyOptions.kernelBtf): the
// layouts of kernel structs that kfuncs and bpf_get_current_task_btf return
// pointers to. Node only (reads a file); the verifier itself never touches
// the file system, so it stays usable in a browser.

import { readFileSync } from 'node:fs';
import type { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse-btf.js';

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
