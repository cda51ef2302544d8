// The kernel's errno values that maps and helpers return, and the typed error
// the user-space map API throws. Helpers put the negated value in r0, as the
// kernel does; user space gets a MapError whose `errno` is the positive value.

import { TsbpfError } from '../internal/errors.js';

export const EPERM = 1;
export const ENOENT = 2;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EACCES = 13;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ERANGE = 34;
export const EDEADLK = 35;
export const ETIMEDOUT = 110;
export const EOPNOTSUPP = 95;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [E2BIG]: 'E2BIG',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC',
  [ERANGE]: 'ERANGE',
  [EDEADLK]: 'EDEADLK',
  [ETIMEDOUT]: 'ETIMEDOUT',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
};

/** The symbolic name of a (positive or negative) errno value, e.g. "ENOENT". */
export function errnoName(errno: number): string {
  return NAMES[Math.abs(errno)] ?? `errno ${Math.abs(errno)}`;
}

/** A map operation failed the way the kernel's bpf() syscall would. */
export class MapError extends TsbpfError {
  constructor(
    /** Positive errno, as the kernel's syscall would set it. */
    readonly errno: number,
    /** The map's name. */
    readonly map: string,
    /** The operation: create, lookup, update, delete, ... */
    readonly op: string,
    reason: string,
  ) {
    super(errnoName(errno), `map '${map}': ${op}: ${reason} (${errnoName(errno)})`);
  }
}
