// The list of benchmark suites `npm run bench` runs, in order.
import type { Suite } from './harness.js';
import { nativeSuite } from './native.js';
import { kernelSuite } from './kernel.js';
import { programsSuite } from './vm/programs.bench.js';
import { interpSuite } from './vm/interp.bench.js';
import { mapsSuite } from './maps/maps.bench.js';
import { attachSuite } from './attach/attach.bench.js';
import { elfLoadSuite } from './elf/load.bench.js';
import { jitSuite } from './vm/jit.bench.js';
import { filterSuite } from './cbpf/filter.bench.js';
import { verifierSuite } from './verifier/verify.bench.js';

export const SUITES: Suite[] = [nativeSuite, kernelSuite, programsSuite, jitSuite, interpSuite, mapsSuite, attachSuite, elfLoadSuite, filterSuite, verifierSuite];
