// What the attach layer needs from a loaded program: the runtime's BpfProgram
// has exactly this shape (src/runtime/program.ts), and tests or embedders can
// supply their own.

import type { ProgramSpec } from '../elf/spec.js';
import type { HelperContextOptions } from '../helpers/context.js';
import type { ProgRunContext } from '../progtypes/run-context.js';

export interface AttachProgram {
  /** Runtime-wide program id. */
  readonly id: number;
  /** Function name. */
  readonly name: string;
  readonly section: string;
  /** Kernel program type name ('tracepoint', 'kprobe', ...). */
  readonly type: string;
  /** The loader's view: line info, func info (for the context struct and fault reports). */
  readonly spec: ProgramSpec;
  helperContextOptions(cpu?: number): HelperContextOptions;
  /** One top-level run with r1 = ctx.ctxAddr; throws on a fault (MemoryFault, BudgetExceeded, ProgramError). */
  execute(ctx: ProgRunContext, options: { engine?: string; budget?: number }): { r0lo: number; r0hi: number; insns: number };
}
