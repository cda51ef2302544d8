// Reading captures: from a file or any byte stream, chunk by chunk, so a
// capture of any size is read in memory bounded by the chunk size and the
// largest packet. Each yielded record's `data` is valid until the iteration
// continues (pass `copy: true` to get packets that can be kept).

import { openSync, readSync, closeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { CaptureParser, type CaptureParserOptions, type PacketRecord } from './parser.js';

export interface ReadCaptureOptions extends CaptureParserOptions {
  /** Bytes read per chunk (default 1 MiB). */
  chunkSize?: number;
  /** Give every record its own copy of the bytes (default false: a view valid until the next record). */
  copy?: boolean;
  /** Receives the parser once it exists, e.g. to look at `format` and `interfaces`. */
  onParser?: (parser: CaptureParser) => void;
}

const DEFAULT_CHUNK = 1 << 20;

function* drain(parser: CaptureParser, copy: boolean): Generator<PacketRecord, void, undefined> {
  for (let r = parser.next(); r !== undefined; r = parser.next()) {
    if (copy) r.data = r.data.slice();
    yield r;
  }
}

/** Parse a capture that is already in memory. */
export function* parseCapture(bytes: Uint8Array, options: ReadCaptureOptions = {}): Generator<PacketRecord, void, undefined> {
  const parser = new CaptureParser(options);
  options.onParser?.(parser);
  parser.push(bytes);
  yield* drain(parser, options.copy ?? false);
  parser.finish();
}

/** Read a capture file synchronously, chunk by chunk (the fastest way to scan a big file). Path or open file descriptor. */
export function* readCaptureSync(file: string | number, options: ReadCaptureOptions = {}): Generator<PacketRecord, void, undefined> {
  const fd = typeof file === 'number' ? file : openSync(file, 'r');
  const parser = new CaptureParser({ ...options, file: options.file ?? (typeof file === 'string' ? file : undefined) });
  options.onParser?.(parser);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  const copy = options.copy ?? false;
  const read = (buf: Uint8Array, off: number, len: number): number => readSync(fd, buf, off, len, null);
  try {
    for (;;) {
      yield* drain(parser, copy);
      if (parser.fill(read, chunkSize) === 0) break;
    }
    parser.finish();
  } finally {
    if (typeof file === 'string') closeSync(fd);
  }
}

/** Read a capture from a file path or an async stream of chunks (a Readable, a fetch body...). */
export async function* readCapture(
  source: string | AsyncIterable<Uint8Array>,
  options: ReadCaptureOptions = {},
): AsyncGenerator<PacketRecord, void, undefined> {
  const parser = new CaptureParser({ ...options, file: options.file ?? (typeof source === 'string' ? source : undefined) });
  options.onParser?.(parser);
  const copy = options.copy ?? false;
  if (typeof source === 'string') {
    const fh = await open(source, 'r');
    const chunk = new Uint8Array(options.chunkSize ?? DEFAULT_CHUNK);
    try {
      for (;;) {
        yield* drain(parser, copy);
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        parser.push(chunk.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  } else {
    for await (const piece of source) {
      yield* drain(parser, copy);
      parser.push(piece);
    }
    yield* drain(parser, copy);
  }
  parser.finish();
}
