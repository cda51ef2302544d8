// Node's built-in diagnostics_channel channels, and for each one the flat
// field names a context struct can use, as paths into the message Node
// publishes. A member that is not listed here still reads the message by the
// generic rules (ctx-writer.ts): `request__method` is msg.request.method.

import type { FieldAliases } from './ctx-writer.js';

const HTTP_SERVER: FieldAliases = {
  method: 'request.method',
  url: 'request.url',
  host: 'request.headers.host',
  status: 'response.statusCode',
  status_code: 'response.statusCode',
  remote_address: 'socket.remoteAddress',
  remote_port: 'socket.remotePort',
  local_port: 'socket.localPort',
};

const HTTP_CLIENT: FieldAliases = {
  method: 'request.method',
  host: 'request.host',
  path: 'request.path',
  protocol: 'request.protocol',
  status: 'response.statusCode',
  status_code: 'response.statusCode',
  error: 'error.code',
};

const SOCKET: FieldAliases = {
  remote_address: 'socket.remoteAddress',
  remote_port: 'socket.remotePort',
  remote_family: 'socket.remoteFamily',
  local_address: 'socket.localAddress',
  local_port: 'socket.localPort',
};

const UNDICI: FieldAliases = {
  method: 'request.method',
  origin: 'request.origin',
  path: 'request.path',
  status: 'response.statusCode',
  status_code: 'response.statusCode',
  error: 'error.code',
};

/** Channel name -> member aliases; the keys are every channel Node (20-22) and its bundled undici publish. */
export const BUILTIN_CHANNELS: Readonly<Record<string, FieldAliases>> = {
  'http.client.request.start': HTTP_CLIENT,
  'http.client.request.created': HTTP_CLIENT,
  'http.client.request.error': HTTP_CLIENT,
  'http.client.response.finish': HTTP_CLIENT,
  'http.server.request.start': HTTP_SERVER,
  'http.server.response.created': HTTP_SERVER,
  'http.server.response.finish': HTTP_SERVER,
  'net.client.socket': SOCKET,
  'net.server.socket': SOCKET,
  'udp.socket': SOCKET,
  'child_process': { pid: 'process.pid', spawnfile: 'process.spawnfile' },
  'worker_threads': { thread_id: 'worker.threadId' },
  'undici:request:create': UNDICI,
  'undici:request:bodySent': UNDICI,
  'undici:request:headers': UNDICI,
  'undici:request:trailers': UNDICI,
  'undici:request:error': UNDICI,
  'undici:client:sendHeaders': UNDICI,
  'undici:client:beforeConnect': {},
  'undici:client:connected': SOCKET,
  'undici:client:connectError': { error: 'error.code' },
};

/** Levenshtein distance, for "did you mean" in attach errors (short names only). */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest of `names` to `name`, if it is close enough to be a typo. */
export function closest(name: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(name, n);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 4)) ? best : undefined;
}
