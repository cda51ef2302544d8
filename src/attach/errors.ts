// Attaching a program failed: the target (channel, function, static probe)
// does not exist, the section names no attach point, or the program's context
// struct cannot be laid out from its BTF. The message names the program and
// the target.

import { TsbpfError } from '../internal/errors.js';

export class AttachError extends TsbpfError {
  constructor(
    /** The program's name, when one is involved. */
    readonly program: string | undefined,
    /** What it was to be attached to ('channel http.server.request.start', ...). */
    readonly target: string,
    reason: string,
  ) {
    super('EATTACH', `${program !== undefined ? `program ${program}: ` : ''}${target}: ${reason}`);
  }
}
