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

/**
 * Misuse of a runtime share (Runtime.share / Runtime.attach): a share
 * attached twice, a map closed by the runtime that created it, a map a
 * worker's object needs that the creator never made, a full registry.
 */
export class ShareError extends TsbpfError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ESHARE', reason, options);
  }
}
