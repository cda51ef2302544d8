// tsbpf link list: the attachments in a running Node process (program, attach
// point, events, drops, faults).

import { parseArgs } from 'node:util';
import { UsageError } from '../internal/errors.js';
import { request } from '../registry/client.js';
import { socketFor } from '../registry/cli-args.js';
import { formatLink, linkJson } from '../registry/format.js';
import type { LinkInfo } from '../registry/protocol.js';
import { EXIT_OK, type Command } from './command.js';

const HELP = `usage: tsbpf link list [--pid N] [--json]

The links of a running Node process: which program is attached to which
channel (tracepoint), function (uprobe, uretprobe) or static probe (usdt),
and how many events it saw, dropped and faulted on.

  --pid N   the process to inspect (default: the only one serving a socket)
  --json    JSON output`;

export const link: Command = {
  name: 'link',
  summary: 'list the attachments in a running Node process',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { pid: { type: 'string' }, json: { type: 'boolean', short: 'j' } } });
    const [sub = 'list'] = positionals;
    if (sub !== 'list' && sub !== 'show') throw new UsageError(`unknown link command '${sub}' (list)`);
    const links = (await request(socketFor(values.pid), { op: 'link.list' })) as LinkInfo[];
    io.out(values.json ? JSON.stringify(links.map(linkJson)) : links.map(formatLink).join('\n') || '(no links)');
    return EXIT_OK;
  },
};
