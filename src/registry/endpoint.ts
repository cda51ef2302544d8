// The inspection endpoint: a process opts in with serveInspection(registry),
// and `tsbpf prog|map|link|trace-pipe` connect to its Unix socket (see
// socket-dir.ts for where, and who may). Requests and answers are JSON lines
// (protocol.ts). The server does not keep the process alive, and removes its
// socket when closed or when the process exits.

import { existsSync, unlinkSync, chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { TsbpfError } from '../internal/errors.js';
import type { Request, Response } from './protocol.js';
import type { Registry } from './registry.js';
import { ensurePrivateDir, InspectError, socketPath } from './socket-dir.js';

/** Longest request line accepted (a map update of a large value fits). */
const MAX_LINE = 4 * 1024 * 1024;

/** Socket paths this process serves, so a second server cannot unlink the first's socket. */
const serving = new Set<string>();

export interface InspectionServer {
  readonly path: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Socket path (default: socketPath(process.pid)). */
  path?: string;
}

export async function serveInspection(registry: Registry, options: ServeOptions = {}): Promise<InspectionServer> {
  const path = options.path ?? socketPath();
  if (serving.has(path)) throw new InspectError(`this process already serves ${path}; serve one registry per socket (pass another path)`);
  ensurePrivateDir(dirname(path));
  // a socket left by an earlier process with our pid cannot be in use
  if (existsSync(path)) unlinkSync(path);
  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    open.add(sock);
    // a watching CLI must not keep the traced process alive either
    sock.unref();
    sock.on('close', () => open.delete(sock));
    serveConnection(registry, sock);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new InspectError(`cannot listen on ${path}: ${e.message}`, { cause: e })));
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  server.unref();
  serving.add(path);
  const cleanup = (): void => {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once('exit', cleanup);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        process.removeListener('exit', cleanup);
        serving.delete(path);
        for (const s of open) s.destroy();
        server.close(() => resolve());
        cleanup();
      }),
  };
}

function send(sock: Socket, r: Response | { line: string }): void {
  if (!sock.destroyed) sock.write(JSON.stringify(r) + '\n');
}

function serveConnection(registry: Registry, sock: Socket): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_LINE) {
      send(sock, { ok: false, error: { code: 'E2BIG', message: `request longer than ${MAX_LINE} bytes` } });
      sock.destroy();
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== '') answer(registry, sock, line);
    }
  });
}

function answer(registry: Registry, sock: Socket, line: string): void {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
    if (req === null || typeof req !== 'object' || typeof req.op !== 'string') throw new SyntaxError('not a request object');
  } catch (e) {
    send(sock, { ok: false, error: { code: 'EPROTO', message: `bad request: ${(e as Error).message}` } });
    return;
  }
  if (req.op === 'trace.pipe') {
    streamTrace(registry, sock);
    return;
  }
  try {
    send(sock, { ok: true, result: registry.handle(req) });
  } catch (e) {
    if (e instanceof TsbpfError) send(sock, { ok: false, error: { code: e.code, message: e.message } });
    else send(sock, { ok: false, error: { code: 'EINTERNAL', message: e instanceof Error ? e.message : String(e) } });
  }
}

function streamTrace(registry: Registry, sock: Socket): void {
  const ac = new AbortController();
  sock.on('close', () => ac.abort());
  send(sock, { ok: true, result: { streaming: true } });
  void (async () => {
    for await (const line of registry.runtime.tracePipe.lines(ac.signal)) send(sock, { line });
  })();
}
