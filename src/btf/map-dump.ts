// Map contents as `bpftool map dump` prints them: with BTF key/value types, a
// JSON-like list of {"key": ..., "value": ...} formatted by type; without,
// hex bytes per entry and a "Found N elements" line.

import type { Btf } from './btf.js';
import { btfValue, toJsonText, type BtfValue } from './print.js';

/** The parts of a map description the dump needs (MapSpec has them all). */
export interface MapEntryTypes {
  readonly keySize: number;
  readonly valueSize: number;
  readonly keyTypeId?: number;
  readonly valueTypeId?: number;
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i ? ' ' : '') + bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

export function formatMapDump(btf: Btf | undefined, map: MapEntryTypes, entries: Iterable<readonly [Uint8Array, Uint8Array]>): string {
  const list = [...entries];
  if (btf && map.keyTypeId !== undefined && map.valueTypeId !== undefined) {
    const rows: BtfValue[] = list.map(([k, v]) => ({ key: btfValue(btf, map.keyTypeId!, k), value: btfValue(btf, map.valueTypeId!, v) }));
    return toJsonText(rows, '');
  }
  const lines = list.map(([k, v]) => `key: ${hex(k)}  value: ${hex(v)}`);
  lines.push(`Found ${list.length} element${list.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}
