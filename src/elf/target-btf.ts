// The running kernel's BTF, the default target for CO-RE relocations in
// Node. Browsers have no such file: pass a target BTF explicitly there.
// Node-only (node:fs); not re-exported from the browser-safe index.

import { readFileSync, existsSync } from 'node:fs';
import { BtfError } from '../internal/errors.js';
import type { Btf } from './btf.js';
import { parseBtf } from './parse-btf.js';

export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** Parse a raw BTF file (vmlinux BTF, `bpftool btf dump file X format raw` input, or an object's .BTF bytes saved alone). */
export function readBtfFile(path: string): Btf {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new BtfError(`cannot read ${path}: ${(e as Error).message}`, path);
  }
  return parseBtf(bytes, { section: path });
}

/** The kernel's BTF, or undefined when this system does not expose it. */
export function kernelBtf(): Btf | undefined {
  return existsSync(KERNEL_BTF_PATH) ? readBtfFile(KERNEL_BTF_PATH) : undefined;
}
