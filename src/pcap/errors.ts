// Errors of the capture readers and writers.

import { TsbpfError } from '../internal/errors.js';

/** A capture file that is malformed, truncated or of an unsupported kind; `offset` is the byte offset in the stream. */
export class CaptureError extends TsbpfError {
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly file?: string,
  ) {
    super('EPCAP', `${file ? file + ': ' : ''}offset ${offset}: ${reason}`);
  }
}
