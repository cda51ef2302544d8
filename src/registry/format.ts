// bpftool-like text and JSON for what the registry reports, shared by the
// `tsbpf prog|map|link` verbs:
//   12: tracepoint  name on_event  tag 0123456789abcdef  gpl  run_time_ns 1520 run_cnt 3
//   	loaded_at 2026-11-25T09:48:08+0000  uid 0
//   	xlated 312B  map_ids 4,5
//   	section tracepoint/test:events  file probes.o  link_ids 7

import type { LinkInfo, MapDump, MapEntryOut, MapInfo, ProgInfo } from './protocol.js';

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** bpftool's loaded_at: ISO-like local time with the zone offset; here UTC (+0000). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}+0000`;
}

export function formatProg(p: ProgInfo, statsOn: boolean): string {
  let head = `${p.id}: ${p.type}  name ${p.name}  tag ${p.tag}${p.gplCompatible ? '  gpl' : ''}`;
  if (statsOn || p.runCnt > 0) head += ` run_time_ns ${p.runTimeNs} run_cnt ${p.runCnt}`;
  if (p.recursionMisses > 0) head += ` recursion_misses ${p.recursionMisses}`;
  const lines = [head, `\tloaded_at ${formatTime(p.loadedAt)}  uid ${p.uid}`, `\txlated ${p.bytesXlated}B${p.mapIds.length ? `  map_ids ${p.mapIds.join(',')}` : ''}`];
  const extra = [`section ${p.section}`, ...(p.file ? [`file ${p.file}`] : []), ...(p.linkIds.length ? [`link_ids ${p.linkIds.join(',')}`] : [])];
  lines.push(`\t${extra.join('  ')}`);
  return lines.join('\n');
}

export function progJson(p: ProgInfo): Record<string, unknown> {
  return {
    id: p.id,
    type: p.type,
    name: p.name,
    tag: p.tag,
    gpl_compatible: p.gplCompatible,
    run_time_ns: p.runTimeNs,
    run_cnt: p.runCnt,
    recursion_misses: p.recursionMisses,
    loaded_at: Math.floor(p.loadedAt / 1000),
    uid: p.uid,
    bytes_xlated: p.bytesXlated,
    jited: false,
    map_ids: p.mapIds,
    section: p.section,
    file: p.file,
    link_ids: p.linkIds,
  };
}

export function formatMap(m: MapInfo): string {
  return `${m.id}: ${m.type}  name ${m.name}  flags 0x${m.flags.toString(16)}${m.frozen ? '  frozen' : ''}\n\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}`;
}

export function mapJson(m: MapInfo): Record<string, unknown> {
  return { id: m.id, type: m.type, name: m.name, flags: m.flags, bytes_key: m.keySize, bytes_value: m.valueSize, max_entries: m.maxEntries, frozen: m.frozen ? 1 : 0 };
}

export function formatLink(l: LinkInfo): string {
  const what = l.type === 'tracepoint' ? 'channel' : l.type === 'usdt' ? 'probe' : 'function';
  const stats = `\tevents ${l.events}  drops ${l.drops}  faults ${l.faults}${l.recursionMisses ? `  recursion_misses ${l.recursionMisses}` : ''}${l.runCnt ? `  run_cnt ${l.runCnt}  run_time_ns ${l.runTimeNs}` : ''}`;
  return `${l.id}: ${l.type}  prog ${l.progId}  ${what} ${l.target}\n\tprog_name ${l.progName}  attached_at ${formatTime(l.attachedAt)}\n${stats}`;
}

export function linkJson(l: LinkInfo): Record<string, unknown> {
  return {
    id: l.id,
    type: l.type,
    prog_id: l.progId,
    prog_name: l.progName,
    target: l.target,
    attached_at: Math.floor(l.attachedAt / 1000),
    events: l.events,
    drops: l.drops,
    faults: l.faults,
    recursion_misses: l.recursionMisses,
    run_cnt: l.runCnt,
    run_time_ns: l.runTimeNs,
  };
}

/** Hex bytes as bpftool prints them: "0a 00 00 00". */
export function spacedHex(hex: string): string {
  return (hex.match(/../g) ?? []).join(' ');
}

const byteList = (hex: string): string => '[' + (hex.match(/../g) ?? []).map((b) => `"0x${b}"`).join(',') + ']';

/** One entry as `bpftool map dump` text: BTF-formatted when possible, else hex. */
function entryText(e: MapEntryOut): string {
  if (e.formatted) return `{\n    "key": ${indent(e.formatted.key)},\n    "value": ${indent(e.formatted.value)}\n}`;
  return `key: ${spacedHex(e.key)}  value: ${spacedHex(e.value)}`;
}

const indent = (json: string): string => json.replace(/\n/g, '\n    ');

export function formatDump(d: MapDump): string {
  if (d.map.btf) return '[' + d.entries.map((e) => entryText(e)).join(',') + ']';
  return [...d.entries.map(entryText), `Found ${d.entries.length} element${d.entries.length === 1 ? '' : 's'}`].join('\n');
}

export function formatEntry(e: MapEntryOut): string {
  return entryText(e);
}

/** JSON text of entries as bpftool --json: byte lists, plus "formatted" (raw JSON text, bigint-exact) with BTF. */
export function entriesJson(entries: readonly MapEntryOut[]): string {
  return '[' + entries.map(entryJson).join(',') + ']';
}

export function entryJson(e: MapEntryOut): string {
  const base = `"key":${byteList(e.key)},"value":${byteList(e.value)}`;
  const f = e.formatted ? `,"formatted":{"key":${e.formatted.key.replace(/\n\s*/g, '')},"value":${e.formatted.value.replace(/\n\s*/g, '')}}` : '';
  return `{${base}${f}}`;
}
