// Where inspection sockets live: a directory only its owner can enter
// ($XDG_RUNTIME_DIR/tsbpf, else <tmpdir>/tsbpf-<uid>), one socket per process
// named <pid>.sock. The directory is 0700 and the socket 0600: another user
// can neither connect nor list them. Nothing listens on a network port.

import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsbpfError } from '../internal/errors.js';

/** The inspection endpoint could not be set up or reached. */
export class InspectError extends TsbpfError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EINSPECT', message, options);
  }
}

const uid = (): number => (typeof process.getuid === 'function' ? process.getuid() : 0);

export function socketDir(): string {
  const xdg = process.env.TSBPF_SOCKET_DIR ?? (process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'tsbpf') : undefined);
  return xdg ?? join(tmpdir(), `tsbpf-${uid()}`);
}

export function socketPath(pid = process.pid, dir = socketDir()): string {
  return join(dir, `${pid}.sock`);
}

/** Create the directory (0700) or check that an existing one is ours and closed to others. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new InspectError(`${dir} is not a directory (a symlink?); refusing to put an inspection socket there`);
  if (st.uid !== uid()) throw new InspectError(`${dir} belongs to uid ${st.uid}, not to this user (${uid()}); refusing to put an inspection socket there`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The processes with a socket in the directory: pid and path, live processes only. */
export function listSockets(dir = socketDir()): { pid: number; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { pid: number; path: string }[] = [];
  for (const n of names) {
    const m = /^(\d+)\.sock$/.exec(n);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (!alive(pid)) continue;
    out.push({ pid, path: join(dir, n) });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is someone else's
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** The socket of `pid`, or of the only process with one; InspectError otherwise. */
export function findSocket(pid?: number, dir = socketDir()): string {
  const all = listSockets(dir);
  if (pid !== undefined) {
    const hit = all.find((s) => s.pid === pid);
    if (hit === undefined) throw new InspectError(`process ${pid} has no inspection socket in ${dir} (it must call serveInspection(), and run as this user)`);
    return hit.path;
  }
  if (all.length === 0) throw new InspectError(`no process serves an inspection socket in ${dir} (a process opts in with serveInspection())`);
  if (all.length > 1) throw new InspectError(`several processes serve inspection sockets (pids ${all.map((s) => s.pid).join(', ')}); pick one with --pid`);
  return all[0]!.path;
}
