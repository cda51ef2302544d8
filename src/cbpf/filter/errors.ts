// Errors of the filter-expression compiler. The message is the text tcpdump
// (libpcap 1.10) prints for the same mistake, so users can search for it;
// the extra fields say where in the expression it happened.

import { TsbpfError } from '../../internal/errors.js';

/** A filter expression that does not parse or cannot be compiled for the link type. */
export class FilterError extends TsbpfError {
  constructor(
    /** tcpdump's wording: `syntax error`, `unknown host 'foo'`, ... */
    readonly reason: string,
    /** 0-based character offset in the expression, when known. */
    readonly offset?: number,
    /** The expression text the offset refers to. */
    readonly expression?: string,
  ) {
    super('EFILTER', reason);
  }

  /** The reason followed by the expression with a caret under the offset (for the CLI). */
  describe(): string {
    if (this.offset === undefined || this.expression === undefined) return this.reason;
    return `${this.reason}\n  ${this.expression}\n  ${' '.repeat(this.offset)}^`;
  }
}

/** libpcap reports every parse failure with this prefix. */
export function syntaxError(offset?: number, expression?: string): FilterError {
  return new FilterError("can't parse filter expression: syntax error", offset, expression);
}
