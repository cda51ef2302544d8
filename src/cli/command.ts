// The shape of a CLI verb. Each verb is one file exporting a Command; main.ts
// dispatches by name. Exit codes: 0 ok, 1 program error (bad input, rejected
// program, fault), 2 usage error.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Read all of standard input (binary). */
  readStdin(): Promise<Uint8Array>;
}

export interface Command {
  readonly name: string;
  /** One line for `tsbpf --help`. */
  readonly summary: string;
  /** Full text for `tsbpf VERB --help`. */
  readonly help: string;
  run(args: string[], io: Io): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
