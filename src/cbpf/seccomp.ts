// seccomp's vocabulary for classic filters: the return actions
// (SECCOMP_RET_*, include/uapi/linux/seccomp.h) and the audit architecture
// numbers a filter compares `seccomp_data.arch` with.

/** Actions: the top 16 bits of a seccomp filter's return value; the low 16 are data (errno, trace tag). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

/** AUDIT_ARCH_* values of common architectures (seccomp_data.arch). */
export const AUDIT_ARCH = {
  X86_64: 0xc000003e,
  I386: 0x40000003,
  AARCH64: 0xc00000b7,
  ARM: 0x40000028,
  RISCV64: 0xc00000f3,
  PPC64LE: 0xc0000015,
  S390X: 0x80000016,
} as const;

const ACTION_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(SECCOMP_RET).map(([name, v]) => [v >>> 0, name]));
/** Actions whose data bits mean something (shown in parentheses). */
const WITH_DATA: ReadonlySet<number> = new Set([SECCOMP_RET.TRAP, SECCOMP_RET.ERRNO, SECCOMP_RET.TRACE]);

/**
 * A return value as the kernel reads it: `ALLOW`, `ERRNO(1)`, `TRACE(7)`.
 * Unknown actions behave as KILL_PROCESS in the kernel and are shown so.
 */
export function describeSeccompAction(ret: number): string {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  const name = ACTION_NAMES.get(action);
  if (name === undefined) return `KILL_PROCESS (unknown action 0x${action.toString(16).padStart(8, '0')})`;
  return WITH_DATA.has(action) ? `${name}(${data})` : name;
}
