// What loading an object gives back (cilium/ebpf's Collection): programs and
// maps by name, plus BTF-typed views of the maps when the object has BTF.

import type { Btf } from '../btf/btf.js';
import type { ObjectSpec } from '../elf/spec.js';
import { UsageError } from '../internal/errors.js';
import type { BpfMap } from '../maps/base.js';
import type { BpfProgram } from './program.js';
import { TypedMap } from './typed-map.js';

/** What a collection needs from its runtime. */
export interface CollectionHost {
  /** Close a map unless it is pinned. */
  closeMap(map: BpfMap): void;
}

export class Collection {
  readonly spec: ObjectSpec;
  readonly programs: ReadonlyMap<string, BpfProgram>;
  readonly maps: ReadonlyMap<string, BpfMap>;
  private readonly host: CollectionHost;

  constructor(host: CollectionHost, spec: ObjectSpec, programs: readonly BpfProgram[], maps: readonly BpfMap[]) {
    this.host = host;
    this.spec = spec;
    this.programs = new Map(programs.map((p) => [p.name, p]));
    this.maps = new Map(maps.map((m) => [m.name, m]));
  }

  get btf(): Btf | undefined {
    return this.spec.btf;
  }

  /** The program by function name (or section name); a UsageError lists the names there are. */
  program(name: string): BpfProgram {
    const p = this.programs.get(name) ?? [...this.programs.values()].find((x) => x.section === name);
    if (p === undefined) throw new UsageError(`no program '${name}' in ${this.spec.file} (have: ${[...this.programs.keys()].join(', ') || 'none'})`);
    return p;
  }

  map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (m === undefined) throw new UsageError(`no map '${name}' in ${this.spec.file} (have: ${[...this.maps.keys()].join(', ') || 'none'})`);
    return m;
  }

  /** The map with keys and values as decoded objects (its BTF types); bytes are still accepted. */
  typedMap(name: string): TypedMap {
    const map = this.map(name);
    const ms = this.spec.maps.find((m) => m.name === name)!;
    return new TypedMap(map, this.spec.btf, ms.keyTypeId, ms.valueTypeId);
  }

  /** Unload the collection's programs and close its maps (pinned maps stay usable through their pins). */
  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) this.host.closeMap(m);
  }
}
