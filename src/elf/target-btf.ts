// Target BTFs for CO-RE: the running kernel's (/sys/kernel/btf/vmlinux, the
// default in Node) or a file the user names: raw BTF, or an ELF file whose
// .BTF section is used (a vmlinux image, another object). Browsers have no
// such files: parse bytes with targetBtfFromBytes and pass the result as
// LoadOptions.coreTarget. readTargetBtf and kernelBtf are Node-only (node:fs).

import { existsSync, readFileSync } from 'node:fs';
import type { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse-btf.js';
import { ElfError } from '../internal/errors.js';
import { SHT, parseElf } from './elf-file.js';
import { kernelKconfig } from './kernel-config.js';
import type { ObjectSpec } from './spec.js';

export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/** Raw BTF bytes, or an ELF file's .BTF section, as a Btf. */
export function targetBtfFromBytes(bytes: Uint8Array, name: string): Btf {
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) {
    const elf = parseElf(bytes, name);
    const s = elf.sections.find((x) => x.name === '.BTF' && x.type !== SHT.NOBITS);
    if (!s) throw new ElfError('has no .BTF section to use as a CO-RE target', name);
    return parseBtf(s.data, { section: `${name} .BTF`, base: s.offset });
  }
  return parseBtf(bytes, { section: name });
}

/** Read a target BTF file (raw BTF or ELF with .BTF). */
export function readTargetBtf(path: string): Btf {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new ElfError(`cannot read the target BTF (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
  return targetBtfFromBytes(bytes, path);
}

/** The kernel's BTF, or undefined when this system does not expose it. */
export function kernelBtf(): Btf | undefined {
  return existsSync(KERNEL_BTF_PATH) ? readTargetBtf(KERNEL_BTF_PATH) : undefined;
}

/** What a Node front end passes to the loader for an object's CO-RE relocations and kconfig externs. */
export interface LoadTargets {
  coreTarget?: Btf;
  kconfig?: Map<string, string>;
}

/**
 * The CO-RE target and kconfig values for an object, from command-line
 * choices: a file, 'kernel' (the running kernel's) or 'none'. Left out, the
 * running kernel's are used when the object needs them and they exist, as
 * libbpf does; nothing is read for an object that needs neither.
 */
export function loadTargets(spec: ObjectSpec, btf?: string, kconfig?: string): LoadTargets {
  const out: LoadTargets = {};
  if (btf !== 'none' && (btf !== undefined || spec.coreRelos.length > 0)) {
    const target = btf === undefined || btf === 'kernel' ? (btf === 'kernel' ? readTargetBtf(KERNEL_BTF_PATH) : kernelBtf()) : readTargetBtf(btf);
    if (target) out.coreTarget = target;
  }
  if (kconfig !== 'none' && (kconfig !== undefined || spec.externs.some((e) => e.kind === 'kconfig'))) {
    out.kconfig = kconfig === undefined || kconfig === 'kernel' ? kernelKconfig() : kernelKconfig(kconfig);
  }
  return out;
}
