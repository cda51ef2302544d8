// Every error tsbpf throws extends TsbpfError: a stable `code` for programs,
// a `name` for humans, and context fields on the subclasses. Never throw a
// string, and never let a DataView RangeError escape a parser.

export class TsbpfError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An instruction stream that is not valid eBPF: unknown opcode, reserved field set, bad register... */
export class DecodeError extends TsbpfError {
  constructor(
    readonly insn: number,
    readonly reason: string,
  ) {
    super('EDECODE', `instruction ${insn}: ${reason}`);
  }
}

/** Assembly text that cannot be assembled; line and column are 1-based. */
export class AsmError extends TsbpfError {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
    readonly expected?: string,
    readonly file?: string,
  ) {
    super(
      'EASM',
      `${file ? file + ':' : ''}${line}:${column}: ${reason}${expected ? ` (expected ${expected})` : ''}`,
    );
  }
}

/** A malformed or unsupported ELF object. */
export class ElfError extends TsbpfError {
  constructor(
    reason: string,
    readonly file?: string,
    readonly section?: string,
    readonly offset?: number,
  ) {
    super(
      'EELF',
      [file, section ? `section ${section}` : undefined, offset !== undefined ? `offset ${offset}` : undefined]
        .filter((s) => s !== undefined)
        .join(': ') + (file || section || offset !== undefined ? ': ' : '') + reason,
    );
  }
}

/** Malformed BTF or BTF.ext data. */
export class BtfError extends TsbpfError {
  constructor(
    reason: string,
    readonly section?: string,
    readonly offset?: number,
  ) {
    super('EBTF', `${section ?? '.BTF'}${offset !== undefined ? ` offset ${offset}` : ''}: ${reason}`);
  }
}

/** A memory access outside every region the program may touch. */
export class MemoryFault extends TsbpfError {
  constructor(
    readonly pc: number,
    readonly addr: number,
    readonly size: number,
    readonly write: boolean,
    readonly detail: string,
  ) {
    super(
      'EFAULT',
      `pc ${pc}: invalid ${write ? 'write' : 'read'} of ${size} byte${size === 1 ? '' : 's'} at 0x${addr.toString(16)}: ${detail}`,
    );
  }
}

/** The instruction budget ran out: a runaway program was stopped. */
export class BudgetExceeded extends TsbpfError {
  constructor(
    readonly pc: number,
    readonly budget: number,
  ) {
    super('EBUDGET', `pc ${pc}: instruction budget of ${budget} exhausted (runaway program stopped)`);
  }
}

/** A program did something the runtime refuses at run time (unknown helper, call depth...). */
export class ProgramError extends TsbpfError {
  constructor(
    readonly pc: number,
    reason: string,
  ) {
    super('EPROG', `pc ${pc}: ${reason}`);
  }
}

/** A feature that is recognised but not implemented (yet). */
export class UnsupportedError extends TsbpfError {
  constructor(reason: string) {
    super('EUNSUPPORTED', reason);
  }
}

/** Bad arguments from a caller of the API or CLI. */
export class UsageError extends TsbpfError {
  constructor(reason: string) {
    super('EUSAGE', reason);
  }
}

/**
 * A program the verifier (or the register-init check) rejects. The message is
 * one line: the instruction index and the cause; the full log, when there is
 * one, stays in `log`, and `sourceLine` holds the BTF line info if known.
 */
export class VerifierError extends TsbpfError {
  constructor(
    readonly insn: number,
    readonly reason: string,
    readonly log?: string,
    readonly sourceLine?: string,
  ) {
    super('EVERIFY', `instruction ${insn}: ${reason}`);
  }
}
