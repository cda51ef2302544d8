// Loading an object into a runtime failed for one program or map: the
// message names the program (or map) and, for instruction-level causes, the
// instruction; the underlying error stays in `cause`.

import { TsbpfError } from '../internal/errors.js';

export class LoadError extends TsbpfError {
  constructor(
    /** 'program' or 'map'. */
    readonly what: 'program' | 'map' | 'object',
    /** Its name. */
    readonly objectName: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('ELOAD', `${what} ${objectName}: ${reason}`, options);
  }
}
