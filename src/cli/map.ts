// tsbpf map list|show|dump|lookup|update|delete: the maps of a running Node
// process that serves an inspection socket, with bpftool's argument syntax.

import { parseArgs } from 'node:util';
import { UsageError } from '../internal/errors.js';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../maps/spec.js';
import { request } from '../registry/client.js';
import { socketFor, takeBytes, takeMapSelector } from '../registry/cli-args.js';
import { entriesJson, entryJson, formatDump, formatEntry, formatMap, mapJson } from '../registry/format.js';
import type { MapDump, MapInfo, MapLookup } from '../registry/protocol.js';
import { EXIT_FAIL, EXIT_OK, type Command } from './command.js';

const HELP = `usage: tsbpf map list [--pid N] [--json]
       tsbpf map show   MAP [--pid N] [--json]
       tsbpf map dump   MAP [--pid N] [--json]
       tsbpf map lookup MAP key BYTES [--pid N] [--json]
       tsbpf map update MAP key BYTES value BYTES [any|exist|noexist] [--pid N]
       tsbpf map delete MAP key BYTES [--pid N]

MAP is 'id N' or 'name NAME' (a bare number or name works too). BYTES are
one byte per word, as bpftool reads them (10 0x0a 012), or 'hex' followed by
hex digits ('key hex 0a 00 00 00', 'key hex 0a000000').

Maps with BTF types print their keys and values by type; others as hex.
The process opts in with serveInspection(registry); see 'tsbpf prog --help'.

  --pid N   the process to inspect
  --json    JSON output (bpftool's field names; "formatted" with BTF)`;

const FLAGS: Readonly<Record<string, number>> = { any: BPF_ANY, noexist: BPF_NOEXIST, exist: BPF_EXIST };

export const map: Command = {
  name: 'map',
  summary: 'list, dump, look up and update the maps of a running Node process',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { pid: { type: 'string' }, json: { type: 'boolean', short: 'j' } } });
    const [sub = 'list', ...rest] = positionals;
    const path = socketFor(values.pid);
    const json = values.json === true;
    switch (sub) {
      case 'list':
      case 'show': {
        if (sub === 'show' && rest.length > 0) {
          const { sel } = takeMapSelector(rest);
          const m = (await request(path, { op: 'map.show', map: sel })) as MapInfo;
          io.out(json ? JSON.stringify(mapJson(m)) : formatMap(m));
          return EXIT_OK;
        }
        const maps = (await request(path, { op: 'map.list' })) as MapInfo[];
        io.out(json ? JSON.stringify(maps.map(mapJson)) : maps.map(formatMap).join('\n') || '(no maps)');
        return EXIT_OK;
      }
      case 'dump': {
        const { sel, rest: extra } = takeMapSelector(rest);
        if (extra.length > 0) throw new UsageError(`unexpected '${extra.join(' ')}' after the map`);
        const d = (await request(path, { op: 'map.dump', map: sel })) as MapDump;
        io.out(json ? entriesJson(d.entries) : formatDump(d));
        return EXIT_OK;
      }
      case 'lookup': {
        const { sel, rest: r1 } = takeMapSelector(rest);
        const { hex, rest: r2 } = takeBytes(r1, 'key', []);
        if (r2.length > 0) throw new UsageError(`unexpected '${r2.join(' ')}'`);
        const l = (await request(path, { op: 'map.lookup', map: sel, key: hex })) as MapLookup;
        if (l.entry === null) {
          io.err(json ? JSON.stringify({ error: 'key not found' }) : 'Error: key not found');
          return EXIT_FAIL;
        }
        io.out(json ? entryJson(l.entry) : formatEntry(l.entry));
        return EXIT_OK;
      }
      case 'update': {
        const { sel, rest: r1 } = takeMapSelector(rest);
        const k = takeBytes(r1, 'key', ['value']);
        const v = takeBytes(k.rest, 'value', Object.keys(FLAGS));
        const flagWord = v.rest[0] ?? 'any';
        const flags = FLAGS[flagWord];
        if (flags === undefined || v.rest.length > 1) throw new UsageError(`update flags are any, exist or noexist, got '${v.rest.join(' ')}'`);
        await request(path, { op: 'map.update', map: sel, key: k.hex, value: v.hex, flags });
        return EXIT_OK;
      }
      case 'delete': {
        const { sel, rest: r1 } = takeMapSelector(rest);
        const { hex } = takeBytes(r1, 'key', []);
        await request(path, { op: 'map.delete', map: sel, key: hex });
        return EXIT_OK;
      }
      default:
        throw new UsageError(`unknown map command '${sub}' (list, show, dump, lookup, update, delete)`);
    }
  },
};
