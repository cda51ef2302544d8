// Function probes on JavaScript functions: SEC("uprobe/PATH") runs before
// the function, SEC("uretprobe/PATH") after it returns (or throws). PATH is
// a property path: 'handle' (a root the caller passes, or a global), or
// 'lib.parser.parse'. The function is replaced on its owner by one wrapper
// per function however many programs attach, and put back when the last one
// detaches (unless someone replaced it in between; the wrapper then stays as
// a plain pass-through).
//
// The programs see ctx->arg1..arg5, ctx->nargs, ctx->ret and ctx->threw
// (struct js_args in examples/trace/tsbpf.h), or any struct of their own
// whose members use those names: `char arg1[32]` receives a string argument,
// `arg2__url` reads the second argument's url property.

import { compileCtxWriter, type FieldAliases } from './ctx-writer.js';
import type { CtxLayout } from './ctx-layout.js';
import { AttachError } from './errors.js';
import { Link, type LinkOptions } from './link.js';
import type { AttachProgram } from './program.js';

/** What a function probe's members read: the call's arguments, receiver and outcome. */
interface CallEvent {
  args: ArrayLike<unknown>;
  self: unknown;
  ret: unknown;
  threw: number;
}

export const FUNCTION_ALIASES: FieldAliases = {
  arg1: 'args.0',
  arg2: 'args.1',
  arg3: 'args.2',
  arg4: 'args.3',
  arg5: 'args.4',
  nargs: 'args.length',
  this: 'self',
  // x86-64 struct pt_regs, so bpf_tracing.h's BPF_KPROBE/PT_REGS_PARM1..5/PT_REGS_RC work unchanged
  di: 'args.0',
  si: 'args.1',
  dx: 'args.2',
  cx: 'args.3',
  r8: 'args.4',
  ax: 'ret',
  // the same registers as user-space headers name them (bpf_tracing.h without vmlinux.h)
  rdi: 'args.0',
  rsi: 'args.1',
  rdx: 'args.2',
  rcx: 'args.3',
  rax: 'ret',
};

const NO_ARGS: readonly unknown[] = [];

interface Site {
  readonly owner: Record<string, unknown>;
  readonly key: string;
  readonly original: (...args: unknown[]) => unknown;
  readonly wrapper: (...args: unknown[]) => unknown;
  entry: Link[];
  ret: Link[];
  /** Return links that asked to wait for a returned promise (FunctionAttachOptions.settle). */
  settleLinks: number;
  /** Whether the function was the owner's own property (else it came from a prototype, and release deletes the shadow). */
  readonly own: boolean;
}

const sites = new WeakMap<object, Map<string, Site>>();

export interface FunctionAttachOptions extends LinkOptions {
  /**
   * Return probes of a function that returns a promise fire when it settles
   * (ret: the value, or threw: 1), and the caller gets a promise that settles
   * the same way a moment later, instead of the original promise. Without it
   * (the default) the return probe fires when the function returns, with the
   * promise's identity as ret.
   */
  settle?: boolean;
  /** Objects the first path segment names: { lib: libModule }; otherwise it is looked up on globalThis. */
  functions?: Readonly<Record<string, unknown>>;
}

/** The object holding the function and its property name; AttachError saying which step failed. */
export function resolveFunction(path: string, roots: Readonly<Record<string, unknown>> = {}, program?: string): { owner: Record<string, unknown>; key: string } {
  const segs = path.split('.');
  const where = `function ${path}`;
  if (segs.some((s) => s === '')) throw new AttachError(program, where, `'${path}' is not a property path (expected name or a.b.name)`);
  const key = segs.pop()!;
  let owner: unknown;
  if (segs.length === 0) {
    owner = Object.prototype.hasOwnProperty.call(roots, key) ? roots : globalThis;
  } else {
    const first = segs.shift()!;
    owner = Object.prototype.hasOwnProperty.call(roots, first) ? roots[first] : (globalThis as Record<string, unknown>)[first];
    if (owner === undefined) throw new AttachError(program, where, `no root object '${first}': pass it in the functions option ({ ${first}: ... }) or make it a global`);
    let walked = first;
    for (const s of segs) {
      if (owner === null || (typeof owner !== 'object' && typeof owner !== 'function')) throw new AttachError(program, where, `'${walked}' is not an object`);
      owner = (owner as Record<string, unknown>)[s];
      walked += '.' + s;
      if (owner === undefined) throw new AttachError(program, where, `'${walked}' does not exist`);
    }
  }
  if (owner === null || (typeof owner !== 'object' && typeof owner !== 'function')) throw new AttachError(program, where, `the owner of '${key}' is not an object`);
  const fn = (owner as Record<string, unknown>)[key];
  if (fn === undefined) throw new AttachError(program, where, `no such function: '${key}' is not defined${segs.length === 0 && owner === globalThis ? ' (not a global, and not in the functions option)' : ''}`);
  if (typeof fn !== 'function') throw new AttachError(program, where, `'${key}' is a ${fn === null ? 'null' : typeof fn}, not a function`);
  return { owner: owner as Record<string, unknown>, key };
}

function installSite(owner: Record<string, unknown>, key: string, program: string, path: string): Site {
  let byKey = sites.get(owner);
  const existing = byKey?.get(key);
  if (existing !== undefined && owner[key] === existing.wrapper) return existing;
  const original = owner[key] as (...args: unknown[]) => unknown;
  const ev: CallEvent = { args: NO_ARGS, self: undefined, ret: undefined, threw: 0 };
  const site: Site = {
    owner,
    key,
    original,
    entry: [],
    ret: [],
    settleLinks: 0,
    own: Object.prototype.hasOwnProperty.call(owner, key),
    // `function`, not an arrow: it keeps `this` and `new.target` for the original
    wrapper: function (this: unknown, ...args: unknown[]): unknown {
      const entry = site.entry;
      const rets = site.ret;
      if (entry.length !== 0) {
        ev.args = args;
        ev.self = this;
        ev.ret = undefined;
        ev.threw = 0;
        for (let i = 0; i < entry.length; i++) entry[i]!.fire(ev);
      }
      let result: unknown;
      try {
        // `new wrapper()` builds an instance of the original; a subclass's new.target stays itself
        result = new.target !== undefined ? Reflect.construct(original, args, new.target === site.wrapper ? original : new.target) : Reflect.apply(original, this, args);
      } catch (e) {
        if (rets.length !== 0) {
          ev.args = args;
          ev.self = this;
          ev.ret = undefined;
          ev.threw = 1;
          for (let i = 0; i < rets.length; i++) rets[i]!.fire(ev);
        }
        throw e;
      }
      if (rets.length !== 0) {
        // an async function's return probe waits for its promise when asked to (settleLinks)
        if (site.settleLinks !== 0 && result instanceof Promise) {
          const self = this;
          const fireSettled = (ret: unknown, threw: number): void => {
            ev.args = args;
            ev.self = self;
            ev.ret = ret;
            ev.threw = threw;
            const now = site.ret;
            for (let i = 0; i < now.length; i++) now[i]!.fire(ev);
            ev.args = NO_ARGS;
            ev.self = undefined;
            ev.ret = undefined;
          };
          // the caller gets a promise that settles the same way, right after the probe ran
          return result.then(
            (v: unknown) => {
              fireSettled(v, 0);
              return v;
            },
            (e: unknown) => {
              fireSettled(undefined, 1);
              throw e;
            },
          );
        }
        ev.args = args;
        ev.self = this;
        ev.ret = result;
        ev.threw = 0;
        for (let i = 0; i < rets.length; i++) rets[i]!.fire(ev);
      }
      // do not keep the last call's values alive
      ev.args = NO_ARGS;
      ev.self = undefined;
      ev.ret = undefined;
      return result;
    },
  };
  Object.defineProperty(site.wrapper, 'name', { value: original.name });
  Object.defineProperty(site.wrapper, 'length', { value: original.length });
  // instanceof against the wrapper (what the owner now holds) answers as for the original
  if ('prototype' in original) site.wrapper.prototype = original.prototype;
  try {
    owner[key] = site.wrapper;
  } catch {
    // strict mode: a frozen object or an ES module namespace
  }
  if (owner[key] !== site.wrapper) {
    throw new AttachError(program, `function ${path}`, `cannot replace '${key}' on its owner (read-only property, frozen object, or an ES module namespace: attach to an object that holds the function)`);
  }
  if (byKey === undefined) {
    byKey = new Map();
    sites.set(owner, byKey);
  }
  byKey.set(key, site);
  return site;
}

function releaseSite(site: Site): void {
  if (site.entry.length !== 0 || site.ret.length !== 0) return;
  if (site.owner[site.key] === site.wrapper) {
    if (site.own) site.owner[site.key] = site.original;
    else delete site.owner[site.key];
  }
  const byKey = sites.get(site.owner);
  if (byKey?.get(site.key) === site) byKey.delete(site.key);
}

/** Attach to the entry ('uprobe') or the return ('uretprobe') of the function at `path`. */
export function attachFunction(program: AttachProgram, kind: 'uprobe' | 'uretprobe', path: string, layout: CtxLayout, options: FunctionAttachOptions = {}): Link {
  const { owner, key } = resolveFunction(path, options.functions, program.name);
  const writer = compileCtxWriter(layout, FUNCTION_ALIASES);
  const site = installSite(owner, key, program.name, path);
  let link: Link;
  try {
    link = new Link(kind, path, program, layout, writer, options);
  } catch (e) {
    releaseSite(site);
    throw e;
  }
  const list = kind === 'uprobe' ? 'entry' : 'ret';
  // copy-on-write: a call in progress keeps iterating the list it started with
  site[list] = [...site[list], link];
  const settles = kind === 'uretprobe' && options.settle === true;
  if (settles) site.settleLinks++;
  return link.hooked(() => {
    site[list] = site[list].filter((l) => l !== link);
    if (settles) site.settleLinks--;
    releaseSite(site);
  });
}
