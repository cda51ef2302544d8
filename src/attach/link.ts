// A link: one program attached at one point, with the per-event machinery
// (context region, writer, fault handling) and its counters. Detaching is
// idempotent and leaves the attach point as it was.
//
// An event runs the program synchronously where it happens. Whatever the
// program does wrong (a bad memory access, a runaway loop, an unknown
// helper) never reaches the code that fired the event: the event is dropped
// and counted, and the first fault of the link is reported (onFault, or a
// process warning) with the program counter and the source line.

import { LineTable } from '../btf/line-info.js';
import { BudgetExceeded, MemoryFault, ProgramError } from '../internal/errors.js';
import type { CtxLayout } from './ctx-layout.js';
import type { CtxWriter } from './ctx-writer.js';
import { EventContext } from './event-context.js';
import type { AttachProgram } from './program.js';
import type { AttachKind } from './section.js';

export interface LinkStats {
  /** Events that reached the link. */
  events: number;
  /** Events dropped: the program faulted, the event's fields could not be read (a getter threw), or the program was already running. */
  drops: number;
  faults: number;
  /** Events that arrived while the program was running (re-entry), dropped like the kernel's recursion misses. */
  recursionMisses: number;
  /** Completed runs and their total time, counted only while stats are on (the kernel's run_cnt/run_time_ns). */
  runCnt: number;
  runTimeNs: number;
}

export interface FaultReport {
  readonly link: Link;
  /** Instruction index of the fault, when the error has one. */
  readonly pc: number | undefined;
  /** 'file.c:12: source text', when the program has line info. */
  readonly sourceLine: string | undefined;
  readonly error: unknown;
  /** One line: program, attach point, pc, source line, cause. */
  readonly message: string;
}

export type FaultHandler = (report: FaultReport) => void;

/** Where links announce themselves (the registry). */
export interface LinkSink {
  addLink(link: Link): void;
  removeLink(link: Link): void;
}

export interface LinkOptions {
  engine?: string;
  /** Instruction budget per event (default 1,000,000, the kernel's complexity limit). */
  budget?: number;
  onFault?: FaultHandler;
  /** Time runs from the start (registry.enableStats turns it on later too). */
  stats?: boolean;
  sink?: LinkSink;
}

export const DEFAULT_EVENT_BUDGET = 1_000_000;

let nextLinkId = 1;

function defaultFaultHandler(r: FaultReport): void {
  const p = (globalThis as { process?: { emitWarning?: (msg: string, opts: { code: string; type: string }) => void } }).process;
  if (p?.emitWarning) p.emitWarning(r.message, { code: 'TSBPF_PROGRAM_FAULT', type: 'TsbpfFaultWarning' });
  else console.warn(r.message);
}

export class Link {
  readonly id: number;
  readonly kind: AttachKind;
  readonly target: string;
  readonly program: AttachProgram;
  readonly layout: CtxLayout;
  readonly stats: LinkStats = { events: 0, drops: 0, faults: 0, recursionMisses: 0, runCnt: 0, runTimeNs: 0 };
  /** Date.now() when attached. */
  readonly attachedAt: number;
  /** r0 (low 32 bits) of the last completed run. */
  lastResult = 0;
  private readonly ctx: EventContext;
  private readonly writer: CtxWriter;
  private readonly exec: { engine?: string; budget: number };
  private readonly onFault: FaultHandler;
  private readonly sink: LinkSink | undefined;
  private timed: boolean;
  private busy = false;
  private reported = false;
  private unhook: (() => void) | undefined;
  private lines: LineTable | undefined;

  constructor(kind: AttachKind, target: string, program: AttachProgram, layout: CtxLayout, writer: CtxWriter, options: LinkOptions = {}) {
    this.id = nextLinkId++;
    this.kind = kind;
    this.target = target;
    this.program = program;
    this.layout = layout;
    this.writer = writer;
    this.exec = { budget: options.budget ?? DEFAULT_EVENT_BUDGET, ...(options.engine !== undefined ? { engine: options.engine } : {}) };
    this.onFault = options.onFault ?? defaultFaultHandler;
    this.timed = options.stats ?? false;
    this.sink = options.sink;
    this.ctx = new EventContext(program.helperContextOptions(), layout.size, `${kind} ${target} ctx`);
    this.attachedAt = Date.now();
  }

  /** Called by the attach point once it is hooked; `unhook` undoes the hook. */
  hooked(unhook: () => void): this {
    this.unhook = unhook;
    this.sink?.addLink(this);
    return this;
  }

  get attached(): boolean {
    return this.unhook !== undefined;
  }

  /** Time each run (run_cnt, run_time_ns). */
  setStats(on: boolean): void {
    this.timed = on;
  }

  get statsEnabled(): boolean {
    return this.timed;
  }

  /** Run the program on one event (`root` is what the member names read). Never throws. */
  fire(root: unknown): void {
    const s = this.stats;
    s.events++;
    if (this.busy) {
      s.recursionMisses++;
      s.drops++;
      return;
    }
    this.busy = true;
    const ctx = this.ctx;
    try {
      const mem = ctx.maps.mem;
      this.writer(mem.u8, mem.dv, ctx.ctxAddr, root);
    } catch (e) {
      // the event's own getters threw: not the program's fault, but the event is lost all the same
      this.busy = false;
      s.drops++;
      if (!this.reported) {
        this.reported = true;
        this.report(e, 'could not read the event');
      }
      return;
    }
    try {
      if (this.timed) {
        const t0 = performance.now();
        this.lastResult = this.program.execute(ctx, this.exec).r0lo;
        s.runTimeNs += Math.round((performance.now() - t0) * 1e6);
        s.runCnt++;
      } else {
        this.lastResult = this.program.execute(ctx, this.exec).r0lo;
      }
    } catch (e) {
      s.drops++;
      s.faults++;
      if (!this.reported) {
        this.reported = true;
        this.report(e, 'faulted');
      }
    } finally {
      this.busy = false;
    }
  }

  /** Unhook from the attach point and free the context region. Safe to call twice. */
  detach(): void {
    const u = this.unhook;
    if (u === undefined) return;
    this.unhook = undefined;
    u();
    this.ctx.dispose();
    this.sink?.removeLink(this);
  }

  /** 'tracepoint/http.server.request.start' */
  get point(): string {
    return `${this.kind}/${this.target}`;
  }

  private report(e: unknown, what: string): void {
    const pc = e instanceof MemoryFault || e instanceof BudgetExceeded || e instanceof ProgramError ? e.pc : undefined;
    let sourceLine: string | undefined;
    if (pc !== undefined && this.program.spec.lineInfo.length > 0) {
      this.lines ??= new LineTable(this.program.spec.lineInfo);
      const li = this.lines.lineAt(pc);
      if (li !== undefined) sourceLine = `${li.file.split('/').pop()}:${li.line}: ${li.text.trim()}`;
    }
    const cause = e instanceof Error ? e.message : String(e);
    const message =
      `tsbpf: program ${this.program.name} attached to ${this.point} ${what}` +
      (pc !== undefined ? ` at pc ${pc}` : '') +
      (sourceLine !== undefined ? ` (${sourceLine})` : '') +
      `: ${cause}; the event was dropped, and later failures of this link are only counted`;
    try {
      this.onFault({ link: this, pc, sourceLine, error: e, message });
    } catch {
      // a throwing fault handler must not take the host down either
    }
  }
}
