// Argument pieces the `tsbpf prog|map|link|trace-pipe` verbs share: which
// process (--pid), map selectors (id N | name X) and byte lists as bpftool
// reads them (10 0x0a 012, or `hex 0a 00` / `hex 0a00`).

import { UsageError } from '../internal/errors.js';
import type { MapSelector } from './protocol.js';
import { findSocket } from './socket-dir.js';

/** The socket of --pid N, or of the only process serving one. */
export function socketFor(pid: string | undefined): string {
  if (pid === undefined) return findSocket();
  if (!/^\d+$/.test(pid)) throw new UsageError(`--pid takes a process id, got '${pid}'`);
  return findSocket(Number(pid));
}

/** `id N`, `name X`, or a bare number (id) or word (name); returns the selector and the rest. */
export function takeMapSelector(args: string[]): { sel: MapSelector; rest: string[] } {
  const [a, b, ...rest] = args;
  if (a === undefined) throw new UsageError('expected a map: id N or name NAME');
  if (a === 'id') {
    if (b === undefined || !/^\d+$/.test(b)) throw new UsageError(`'id' takes a number, got '${b ?? ''}'`);
    return { sel: { id: Number(b) }, rest };
  }
  if (a === 'name') {
    if (b === undefined) throw new UsageError("'name' takes a map name");
    return { sel: { name: b }, rest };
  }
  const more = b === undefined ? [] : [b, ...rest];
  return /^\d+$/.test(a) ? { sel: { id: Number(a) }, rest: more } : { sel: { name: a }, rest: more };
}

/**
 * Bytes after `what` (key/value) up to the next keyword in `stops`: each
 * token one byte (decimal, 0x hex, 0 octal), or after `hex`, hex digits (one
 * or more bytes per token). Returns them as hex text.
 */
export function takeBytes(args: string[], what: string, stops: readonly string[]): { hex: string; rest: string[] } {
  if (args[0] !== what) throw new UsageError(`expected '${what}' followed by bytes`);
  let i = 1;
  let hexMode = false;
  if (args[i] === 'hex') {
    hexMode = true;
    i++;
  }
  const out: number[] = [];
  for (; i < args.length && !stops.includes(args[i]!); i++) {
    const t = args[i]!;
    if (hexMode) {
      if (!/^([0-9a-fA-F]{2})+$/.test(t)) throw new UsageError(`${what}: '${t}' is not hex bytes`);
      for (let k = 0; k < t.length; k += 2) out.push(parseInt(t.slice(k, k + 2), 16));
      continue;
    }
    const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^0[0-7]+$/.test(t) ? parseInt(t, 8) : /^\d+$/.test(t) ? Number(t) : NaN;
    if (!(v >= 0 && v <= 255)) throw new UsageError(`${what}: '${t}' is not a byte (0..255, 0x.., or use 'hex')`);
    out.push(v);
  }
  if (out.length === 0) throw new UsageError(`${what}: no bytes given`);
  return { hex: out.map((b) => b.toString(16).padStart(2, '0')).join(''), rest: args.slice(i) };
}
