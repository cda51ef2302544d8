// User-defined static probes, like USDT: the application marks places in its
// code with a probe and fires it with the event's fields; programs attach
// with SEC("usdt/PROVIDER:NAME"). A probe nobody traces costs one property
// read and a branch:
//
//   const query = probe.define('app:query');
//   ...
//   query.fire({ table, rows, ms });            // or probe.fire('app:query', {...})
//   if (query.enabled) query.fire(expensive());  // skip building the fields too
//
// Probes must be defined before a program attaches to them, so a misspelt
// name is an attach error rather than a link that never fires.

import { closest } from './channel-fields.js';
import { compileCtxWriter } from './ctx-writer.js';
import type { CtxLayout } from './ctx-layout.js';
import { AttachError } from './errors.js';
import { Link, type LinkOptions } from './link.js';
import type { AttachProgram } from './program.js';

export class StaticProbe {
  /** 'provider:name' (or just 'name'). */
  readonly name: string;
  /** The attached links; empty when nothing traces the probe. */
  links: readonly Link[] = [];

  constructor(name: string) {
    this.name = name;
  }

  /** True when at least one program is attached (build costly fields only then). */
  get enabled(): boolean {
    return this.links.length !== 0;
  }

  /** Run the attached programs on `fields`; nothing at all when none is attached. */
  fire(fields?: unknown): void {
    const links = this.links;
    if (links.length === 0) return;
    for (let i = 0; i < links.length; i++) links[i]!.fire(fields);
  }
}

const probes = new Map<string, StaticProbe>();

function checkName(name: string): void {
  if (!/^[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?$/.test(name)) throw new AttachError(undefined, `probe ${JSON.stringify(name)}`, `a probe name is 'provider:name' or 'name' (letters, digits, _ . -)`);
}

/** The module-level facade: probe.define(name), probe.fire(name, fields), probe.list(). */
export const probe = {
  /** Define (or get) the static probe of that name. */
  define(name: string): StaticProbe {
    let p = probes.get(name);
    if (p === undefined) {
      checkName(name);
      p = new StaticProbe(name);
      probes.set(name, p);
    }
    return p;
  },
  /** Fire a defined probe by name; an undefined or untraced probe costs a map lookup. */
  fire(name: string, fields?: unknown): void {
    const p = probes.get(name);
    if (p !== undefined && p.links.length !== 0) p.fire(fields);
  },
  /** Whether a program is attached to the probe. */
  enabled(name: string): boolean {
    return (probes.get(name)?.links.length ?? 0) !== 0;
  },
  list(): string[] {
    return [...probes.keys()].sort();
  },
};

export function attachStaticProbe(program: AttachProgram, name: string, layout: CtxLayout, options: LinkOptions = {}): Link {
  // libbpf's usdt/BINARY:PROVIDER:NAME: the binary is this process
  const parts = name.split(':');
  const p = probes.get(name) ?? (parts.length > 2 ? probes.get(parts.slice(-2).join(':')) : undefined);
  if (p === undefined) {
    const near = closest(name, probes.keys());
    throw new AttachError(
      program.name,
      `probe ${name}`,
      `no such static probe: none was defined with probe.define('${name}')` + (near !== undefined ? `; did you mean '${near}'?` : ` (defined: ${probe.list().join(', ') || 'none'})`),
    );
  }
  const link = new Link('usdt', name, program, layout, compileCtxWriter(layout), options);
  p.links = [...p.links, link];
  return link.hooked(() => {
    p.links = p.links.filter((l) => l !== link);
  });
}
