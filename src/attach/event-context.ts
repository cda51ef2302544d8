// The run state of an attached program: the standard HelperContext (maps,
// trace pipe, clock) plus one context region that every event reuses. The
// region is read-only to the program, as a tracepoint's record is.

import type { HelperContextOptions } from '../helpers/context.js';
import { ProgRunContext } from '../progtypes/run-context.js';

export class EventContext extends ProgRunContext {
  readonly ctxAddr: number;
  readonly size: number;

  constructor(options: HelperContextOptions, size: number, name: string) {
    super(options);
    this.size = size;
    // an empty struct still gets a valid (unreadable past its end) address, never NULL
    this.ctxAddr = this.alloc(size, name, 'ctx', false).start;
  }

  dataOut(): Uint8Array {
    return new Uint8Array(0);
  }

  ctxOut(): Uint8Array | undefined {
    return undefined;
  }
}
