// The inspection endpoint's protocol: one JSON object per line each way.
// A request names an operation; the answer is { ok: true, result } or
// { ok: false, error: { code, message } }. 'trace.pipe' answers with one
// { line } object per trace_pipe line until the client hangs up. Bytes
// travel as lowercase hex without separators.

export type MapSelector = { readonly id: number } | { readonly name: string };

export type Request =
  | { readonly op: 'hello' }
  | { readonly op: 'prog.list' }
  | { readonly op: 'prog.show'; readonly id: number }
  | { readonly op: 'map.list' }
  | { readonly op: 'map.show'; readonly map: MapSelector }
  | { readonly op: 'map.dump'; readonly map: MapSelector }
  | { readonly op: 'map.lookup'; readonly map: MapSelector; readonly key: string }
  | { readonly op: 'map.update'; readonly map: MapSelector; readonly key: string; readonly value: string; readonly flags?: number }
  | { readonly op: 'map.delete'; readonly map: MapSelector; readonly key: string }
  | { readonly op: 'link.list' }
  | { readonly op: 'stats'; readonly enable: boolean }
  | { readonly op: 'trace.pipe' };

export interface Hello {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly node: string;
  readonly stats: boolean;
}

export interface ProgInfo {
  readonly id: number;
  readonly type: string;
  readonly name: string;
  readonly tag: string;
  readonly gplCompatible: boolean;
  /** Milliseconds since the epoch. */
  readonly loadedAt: number;
  readonly uid: number;
  readonly bytesXlated: number;
  readonly mapIds: readonly number[];
  readonly section: string;
  readonly file: string;
  /** Present while stats are (or were) on: the kernel's run_cnt / run_time_ns. */
  readonly runCnt: number;
  readonly runTimeNs: number;
  readonly recursionMisses: number;
  readonly linkIds: readonly number[];
}

export interface MapInfo {
  readonly id: number;
  readonly type: string;
  readonly name: string;
  readonly flags: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly frozen: boolean;
  /** Whether keys and values can be shown by their BTF types. */
  readonly btf: boolean;
}

export interface LinkInfo {
  readonly id: number;
  /** tracepoint, uprobe, uretprobe, usdt. */
  readonly type: string;
  readonly progId: number;
  readonly progName: string;
  readonly target: string;
  readonly attachedAt: number;
  readonly events: number;
  readonly drops: number;
  readonly faults: number;
  readonly recursionMisses: number;
  readonly runCnt: number;
  readonly runTimeNs: number;
}

export interface MapEntryOut {
  readonly key: string;
  readonly value: string;
  /** BTF-formatted key and value as JSON text (bigint-exact), when the map has BTF types. */
  readonly formatted?: { readonly key: string; readonly value: string };
}

export interface MapDump {
  readonly map: MapInfo;
  readonly entries: readonly MapEntryOut[];
}

export interface MapLookup {
  readonly map: MapInfo;
  readonly entry: MapEntryOut | null;
}

export type Response = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Hex text to bytes; undefined when it is not an even number of hex digits. */
export function fromHex(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  return new Uint8Array(Buffer.from(s, 'hex'));
}
