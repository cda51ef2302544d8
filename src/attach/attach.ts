// Attaching by section name: one program (attachProgram) or every program of
// a loaded object that names an attach point (attachObject, multi-probe).
// The program's context struct comes from its BTF; function probes without
// one get struct js_args.

import type { Btf } from '../btf/btf.js';
import { attachChannel, type ChannelAttachOptions } from './channel.js';
import { ctxLayoutOf, DEFAULT_FUNC_LAYOUT, type CtxLayout } from './ctx-layout.js';
import { AttachError } from './errors.js';
import { attachFunction, type FunctionAttachOptions } from './function-probe.js';
import type { Link } from './link.js';
import type { AttachProgram } from './program.js';
import { attachPointOf, type AttachPoint } from './section.js';
import { attachStaticProbe } from './static-probe.js';

export interface AttachOptions extends ChannelAttachOptions, FunctionAttachOptions {
  /** The object's BTF (describes the context struct). */
  btf?: Btf;
  /** Attach here instead of where the section name says. */
  point?: AttachPoint;
}

/** The context layout a program gets at an attach point. */
export function layoutFor(program: AttachProgram, point: AttachPoint, btf: Btf | undefined): CtxLayout {
  const layout = ctxLayoutOf(btf, program.spec);
  if (layout !== undefined) return layout;
  if (point.kind === 'uprobe' || point.kind === 'uretprobe') return DEFAULT_FUNC_LAYOUT;
  throw new AttachError(
    program.name,
    `${point.kind} ${point.target}`,
    `no context struct: declare the program as int ${program.name}(struct my_event *ctx), whose members name the event's fields, and compile with -g so the object has BTF`,
  );
}

export function attachProgram(program: AttachProgram, options: AttachOptions = {}): Link {
  const point = options.point ?? attachPointOf(program.section);
  if (point === undefined) {
    throw new AttachError(program.name, `section ${program.section}`, 'the section names no attach point (use tracepoint/CHANNEL, uprobe/FUNCTION, uretprobe/FUNCTION or usdt/PROBE)');
  }
  const layout = layoutFor(program, point, options.btf);
  switch (point.kind) {
    case 'tracepoint':
      return attachChannel(program, point.target, layout, options);
    case 'uprobe':
    case 'uretprobe':
      return attachFunction(program, point.kind, point.target, layout, options);
    case 'usdt':
      return attachStaticProbe(program, point.target, layout, options);
  }
}

/** The links of one attachObject call. */
export class LinkSet {
  readonly links: readonly Link[];

  constructor(links: readonly Link[]) {
    this.links = links;
  }

  /** The link of a program (by function name). */
  get(program: string): Link | undefined {
    return this.links.find((l) => l.program.name === program);
  }

  detach(): void {
    for (const l of this.links) l.detach();
  }
}

/** What attachObject needs: the runtime's Collection has this shape. */
export interface AttachableObject {
  readonly programs: ReadonlyMap<string, AttachProgram>;
  readonly btf: Btf | undefined;
}

/**
 * Attach every program whose section names an attach point. All or nothing:
 * if one fails, the ones already attached are detached and the error thrown.
 */
export function attachObject(obj: AttachableObject, options: Omit<AttachOptions, 'point' | 'btf'> = {}): LinkSet {
  const progs = [...obj.programs.values()].filter((p) => attachPointOf(p.section) !== undefined);
  if (progs.length === 0) {
    const secs = [...obj.programs.values()].map((p) => p.section);
    throw new AttachError(undefined, 'object', `no program has an attach section (tracepoint/, uprobe/, uretprobe/, usdt/); sections: ${secs.join(', ') || 'none'}`);
  }
  const links: Link[] = [];
  try {
    for (const p of progs) links.push(attachProgram(p, { ...options, btf: obj.btf }));
  } catch (e) {
    for (const l of links) l.detach();
    throw e;
  }
  return new LinkSet(links);
}
