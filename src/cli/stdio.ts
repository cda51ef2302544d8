// The command line's standard output and error, written with writeSync on
// fds 1 and 2 instead of through process.stdout / process.stderr. Node makes
// those streams on first use, and making one loads its stream modules: ~2 ms
// of `tsbpf filter`'s start-up for the one summary line it prints. On Linux
// Node writes stdio files, pipes and terminals synchronously anyway, so the
// bytes and their order are the same; a mix with process.stdout.write (tsbpf
// asm writes bytes that way) keeps its order too.
//  - EAGAIN (a non-blocking pipe that is full): the rest of that fd's output
//    goes through the Node stream, which waits for the pipe.
//  - EPIPE on stdout (`tsbpf ... | head` closed it): exit quietly, with the
//    exit code set so far, as the stream's error handler does.

import { writeSync } from 'node:fs';

/** fds whose writes go through the Node stream from now on (after an EAGAIN). */
const viaStream = new Set<number>();

function stream(fd: 1 | 2): NodeJS.WriteStream {
  return fd === 1 ? process.stdout : process.stderr;
}

function quitOnEpipe(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
}

/** Write all of `text` to fd 1 or 2. */
export function writeStd(fd: 1 | 2, text: string): void {
  if (viaStream.has(fd)) {
    stream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EAGAIN') {
      viaStream.add(fd);
      stream(fd).write(bytes.subarray(off));
      return;
    }
    if (fd === 1) quitOnEpipe(err);
    throw e;
  }
}

/**
 * Call `onCreate` with process.stdout when something first uses it (now, if
 * Node has already made it), so its handlers cost nothing when nothing does.
 * Node defines process.stdout as a configurable getter that makes the stream
 * once; where it is not one, the stream is made now.
 */
export function whenStdoutMade(onCreate: (s: NodeJS.WriteStream) => void): void {
  const desc = Object.getOwnPropertyDescriptor(process, 'stdout');
  const get = desc?.get;
  if (desc === undefined || get === undefined || desc.configurable !== true) {
    onCreate(process.stdout);
    return;
  }
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: desc.enumerable ?? true,
    get(): NodeJS.WriteStream {
      // Node's getter again from now on: it returns the stream it made.
      Object.defineProperty(process, 'stdout', desc);
      const s = get.call(process) as NodeJS.WriteStream;
      onCreate(s);
      return s;
    },
  });
}

/** process.stdout's error handler: EPIPE ends the command quietly. */
export const stdoutErrorHandler = quitOnEpipe;
