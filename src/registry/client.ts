// The CLI's side of the inspection endpoint: one request and its answer, or
// a stream of trace_pipe lines.

import { connect, type Socket } from 'node:net';
import { TsbpfError } from '../internal/errors.js';
import type { Request, Response } from './protocol.js';
import { InspectError } from './socket-dir.js';

/** An error the inspected process answered with (its code and message). */
export class RemoteError extends TsbpfError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', (e) => reject(new InspectError(`cannot connect to ${path}: ${e.message}`, { cause: e })));
  });
}

/** JSON lines from a socket, as they arrive. */
async function* lines(sock: Socket): AsyncGenerator<unknown> {
  let buf = '';
  sock.setEncoding('utf8');
  for await (const chunk of sock as AsyncIterable<string>) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        yield JSON.parse(line);
      } catch {
        throw new InspectError(`the inspected process sent a line that is not JSON: ${line.slice(0, 80)}`);
      }
    }
  }
}

function unwrap(r: unknown): unknown {
  const res = r as Response;
  if (res === null || typeof res !== 'object' || typeof res.ok !== 'boolean') throw new InspectError('the inspected process sent an answer of the wrong shape');
  if (!res.ok) throw new RemoteError(res.error.code, res.error.message);
  return res.result;
}

/** Send one request, return its result (RemoteError for an error answer). */
export async function request(path: string, req: Request, timeoutMs = 5000): Promise<unknown> {
  const sock = await open(path);
  const timer = setTimeout(() => sock.destroy(new InspectError(`no answer from ${path} within ${timeoutMs} ms`)), timeoutMs);
  try {
    sock.write(JSON.stringify(req) + '\n');
    for await (const msg of lines(sock)) return unwrap(msg);
    throw new InspectError(`${path} closed the connection without answering`);
  } catch (e) {
    if (e instanceof TsbpfError) throw e;
    throw new InspectError(`${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

/** The trace_pipe lines of the process, until it exits or `signal` aborts. */
export async function* traceLines(path: string, signal?: AbortSignal): AsyncGenerator<string> {
  const sock = await open(path);
  const stop = (): void => {
    sock.destroy();
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    sock.write(JSON.stringify({ op: 'trace.pipe' }) + '\n');
    let first = true;
    for await (const msg of lines(sock)) {
      if (first) {
        unwrap(msg);
        first = false;
        continue;
      }
      const line = (msg as { line?: unknown }).line;
      if (typeof line === 'string') yield line;
    }
  } catch (e) {
    if (signal?.aborted) return;
    if (e instanceof TsbpfError) throw e;
    throw new InspectError(`${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    signal?.removeEventListener('abort', stop);
    sock.destroy();
  }
}
