// tsbpf command line: `tsbpf VERB [ARGS]`, `tsbpf --help`, `tsbpf VERB --help`.
// launch.cts (for bin/tsbpf.cjs and main.js) starts it through runCli, from
// the bundle of this module when one is built or from here.
import { readFileSync } from 'node:fs';
import { TsbpfError, UsageError } from '../internal/errors.js';
import { EXIT_FAIL, EXIT_USAGE, type Io } from './command.js';
import { VERBS } from './verbs.js';
import { bundleContext, type BundleKind } from './bundle-files.js';
import { stdoutErrorHandler, whenStdoutMade, writeStd } from './stdio.js';

// Straight to fds 1 and 2 (stdio.ts): making process.stdout costs start-up time.
const io: Io = {
  out: (t) => writeStd(1, t.endsWith('\n') ? t : t + '\n'),
  err: (t) => writeStd(2, t.endsWith('\n') ? t : t + '\n'),
  readStdin: async () => new Uint8Array(readFileSync(0)),
};

function usage(): string {
  const w = Math.max(...VERBS.map((v) => v.name.length), 4);
  return [
    'usage: tsbpf VERB [ARGS...]',
    '',
    'verbs:',
    ...VERBS.map((v) => `  ${v.name.padEnd(w)}  ${v.summary}`),
    '',
    "run 'tsbpf VERB --help' for a verb's options",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    io.out(usage());
    return verb === undefined ? EXIT_USAGE : 0;
  }
  const entry = VERBS.find((v) => v.name === verb);
  if (!entry) {
    io.err(`tsbpf: unknown verb '${verb}'\n${usage()}`);
    return EXIT_USAGE;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`tsbpf ${verb}: ${e.message}`);
      return EXIT_USAGE;
    }
    if (e instanceof TsbpfError) {
      io.err(`tsbpf ${verb}: ${e.message}`);
      return EXIT_FAIL;
    }
    // node:util parseArgs errors are usage errors
    if (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      io.err(`tsbpf ${verb}: ${e.message}`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

/**
 * Run the command line with these arguments; sets process.exitCode.
 * `bundle`: main.js started it from that CLI bundle (worker threads start from it too).
 */
export async function runCli(argv: string[], bundle?: { dir: string; kind: BundleKind }): Promise<void> {
  if (bundle !== undefined) {
    bundleContext.dir = bundle.dir;
    bundleContext.kind = bundle.kind;
  }
  // `tsbpf ... | head` closes our stdout early: that is not an error (for
  // writes through process.stdout, when a verb uses it; io.out checks its own).
  whenStdoutMade((s) => s.on('error', stdoutErrorHandler));
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    process.stderr.write(`tsbpf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  }
}

/** The second thread of a split capture scan, when started from the bundle (see bundle-files.ts). */
export async function scanWorkerMain(): Promise<void> {
  (await import('../cbpf/scan-worker.js')).scanWorkerMain();
}
