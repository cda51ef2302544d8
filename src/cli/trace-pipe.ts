// tsbpf trace-pipe: stream the trace_printk output of a running Node process,
// like `cat /sys/kernel/tracing/trace_pipe` (reading consumes the lines).

import { parseArgs } from 'node:util';
import { UsageError } from '../internal/errors.js';
import { traceLines } from '../registry/client.js';
import { socketFor } from '../registry/cli-args.js';
import { EXIT_OK, type Command } from './command.js';

const HELP = `usage: tsbpf trace-pipe [--pid N] [--lines N]

Print the trace_printk lines of a running Node process as they are written,
until the process exits, Ctrl-C, or --lines lines.

  --pid N     the process (default: the only one serving an inspection socket)
  --lines N   stop after N lines`;

export const tracePipe: Command = {
  name: 'trace-pipe',
  summary: "stream a running Node process's trace_printk output",
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { pid: { type: 'string' }, lines: { type: 'string' } } });
    if (positionals.length > 0) throw new UsageError(`unexpected '${positionals.join(' ')}'`);
    let limit = Infinity;
    if (values.lines !== undefined) {
      if (!/^\d+$/.test(values.lines) || Number(values.lines) === 0) throw new UsageError(`--lines takes a positive number, got '${values.lines}'`);
      limit = Number(values.lines);
    }
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.once('SIGINT', stop);
    try {
      let n = 0;
      for await (const line of traceLines(socketFor(values.pid), ac.signal)) {
        io.out(line.endsWith('\n') ? line.slice(0, -1) : line);
        if (++n >= limit) break;
      }
    } finally {
      process.removeListener('SIGINT', stop);
    }
    return EXIT_OK;
  },
};
