// tsbpf prog list|show|stats: the programs loaded in a running Node process
// that serves an inspection socket (registry/endpoint.ts).

import { parseArgs } from 'node:util';
import { UsageError } from '../internal/errors.js';
import { request } from '../registry/client.js';
import { socketFor } from '../registry/cli-args.js';
import { formatProg, progJson } from '../registry/format.js';
import type { Hello, ProgInfo } from '../registry/protocol.js';
import { EXIT_OK, type Command } from './command.js';

const HELP = `usage: tsbpf prog list [--pid N] [--json]
       tsbpf prog show [id] N [--pid N] [--json]
       tsbpf prog stats on|off [--pid N]

The programs loaded in a running Node process, as bpftool shows the kernel's:
id, type, name, tag, load time, size, maps, and run_cnt / run_time_ns while
stats are on ('prog stats on' turns them on in that process).

The process opts in by calling serveInspection(registry); its socket lives
in a directory only its user can open. Without --pid the only such process
is used.

  --pid N   the process to inspect
  --json    JSON output (bpftool's field names)`;

export const prog: Command = {
  name: 'prog',
  summary: 'list the programs loaded in a running Node process',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { pid: { type: 'string' }, json: { type: 'boolean', short: 'j' } } });
    const [sub = 'list', ...rest] = positionals;
    const path = socketFor(values.pid);
    if (sub === 'list' || (sub === 'show' && rest.length === 0)) {
      const hello = (await request(path, { op: 'hello' })) as Hello;
      const progs = (await request(path, { op: 'prog.list' })) as ProgInfo[];
      io.out(values.json ? JSON.stringify(progs.map(progJson)) : progs.map((p) => formatProg(p, hello.stats)).join('\n') || '(no programs)');
      return EXIT_OK;
    }
    if (sub === 'show') {
      const idText = rest[0] === 'id' ? rest[1] : rest[0];
      if (idText === undefined || !/^\d+$/.test(idText)) throw new UsageError(`prog show takes a program id, got '${idText ?? ''}'`);
      const hello = (await request(path, { op: 'hello' })) as Hello;
      const p = (await request(path, { op: 'prog.show', id: Number(idText) })) as ProgInfo;
      io.out(values.json ? JSON.stringify(progJson(p)) : formatProg(p, hello.stats));
      return EXIT_OK;
    }
    if (sub === 'stats') {
      const on = rest[0];
      if (on !== 'on' && on !== 'off') throw new UsageError(`prog stats takes on or off, got '${on ?? ''}'`);
      await request(path, { op: 'stats', enable: on === 'on' });
      io.out(`run stats ${on === 'on' ? 'enabled' : 'disabled'}`);
      return EXIT_OK;
    }
    throw new UsageError(`unknown prog command '${sub}' (list, show, stats)`);
  },
};
