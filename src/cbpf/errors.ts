// Errors of the classic BPF modules. Text formats report line and column
// through AsmError; everything about a decoded program reports the
// instruction index through ClassicError.

import { TsbpfError } from '../internal/errors.js';

/** A classic program that is malformed or rejected by the checker; `insn` is the 0-based index (-1: the program as a whole). */
export class ClassicError extends TsbpfError {
  constructor(
    readonly insn: number,
    readonly reason: string,
  ) {
    super('ECBPF', insn >= 0 ? `classic instruction ${insn}: ${reason}` : `classic program: ${reason}`);
  }
}
