// The running kernel's configuration for `.kconfig` externs, in Node: the
// .config text from /proc/config.gz (gzip) or /boot/config-$(uname -r), or a
// file the user names, plus LINUX_KERNEL_VERSION from the release string.
// Node-only (node:fs, node:zlib, node:os); browsers pass LoadOptions.kconfig.

import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { ElfError } from '../internal/errors.js';
import { kernelVersionCode, parseKconfig } from './kconfig.js';

/** Where libbpf looks for the running kernel's config, in order. */
export function kernelConfigPaths(): string[] {
  return ['/proc/config.gz', `/boot/config-${release()}`];
}

/** Parse a .config file (gzip-compressed when its name ends in .gz). */
export function readKconfigFile(path: string): Map<string, string> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
    if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
  } catch (e) {
    throw new ElfError(`cannot read the kernel config (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
  return parseKconfig(bytes.toString('utf8'));
}

/**
 * The running kernel's config values with LINUX_KERNEL_VERSION, or just the
 * version when no config file exists (non-weak CONFIG_* externs then fail to load, naming themselves).
 */
export function kernelKconfig(path?: string): Map<string, string> {
  const file = path ?? kernelConfigPaths().find((p) => existsSync(p));
  const values = file ? readKconfigFile(file) : new Map<string, string>();
  const version = kernelVersionCode(release());
  if (version !== undefined && !values.has('LINUX_KERNEL_VERSION')) values.set('LINUX_KERNEL_VERSION', String(version));
  return values;
}
