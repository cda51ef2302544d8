// What the primitive generators share: the protocol layers (whose offsets
// encapsulations move), the netmask for `ip broadcast`, and a way to fail
// with tcpdump's message at the current primitive.

import type { DirQual } from './ast.js';
import { and, or, type Cond } from './cond.js';
import type { Layers } from './protocols.js';

export interface GenContext {
  readonly layers: Layers;
  /** IPv4 netmask for `ip broadcast`; undefined when unknown. */
  readonly netmask?: number;
  fail(reason: string): never;
  /** A scratch word M[i] for code that keeps a value across statements (libpcap's alloc_reg order). */
  allocReg(): number;
  /** Set by primitives whose code libpcap leaves unoptimised for the whole expression (protochain's loop). */
  noOptimize: boolean;
  freeReg(reg: number): void;
}

export type Side = 'src' | 'dst';

/** Apply a direction qualifier: one side, both (`src and dst`), or either (the default). */
export function byDir(dir: DirQual, f: (side: Side) => Cond): Cond {
  switch (dir) {
    case 'src': return f('src');
    case 'dst': return f('dst');
    case 'src-and-dst': return and(f('src'), f('dst'));
    default: return or(f('src'), f('dst'));
  }
}
