// The worker side of the thread tests: one place for what every test worker
// does to join the parent's runtime (attach to its memory and maps, the JIT's
// map intrinsics, a VM and a helper context as CPU `cpu`) and to start at the
// same moment as the others. Not a test file itself.
import { RuntimeMemory, type MemoryShare } from '../src/vm/memory.js';
import { MapTable } from '../src/maps/table.js';
import type { MapHandle } from '../src/maps/base.js';
import { createVm, type Vm } from '../src/vm/vm.js';
import { standardHelpers, HelperContext } from '../src/helpers/index.js';
import { mapIntrinsics, setJitDefaults } from '../src/vm/jit/index.js';

export interface WorkerEnv {
  mem: RuntimeMemory;
  maps: MapTable;
  vm: Vm;
  ctx: HelperContext;
}

/** This thread's view of the parent's memory and maps, running as CPU `cpu` of `cpus`. */
export function attachWorker(share: MemoryShare, handles: readonly MapHandle[], cpus: number, cpu: number): WorkerEnv {
  const mem = RuntimeMemory.attach(share);
  const helpers = standardHelpers();
  const maps = MapTable.attach(mem, [...handles], { cpus });
  setJitDefaults(mem, mapIntrinsics(maps, helpers));
  const vm = createVm({ mem, helpers });
  return { mem, maps, vm, ctx: new HelperContext({ maps, cpu }) };
}

/** Count up the i32 at `addr` and wait until `workers` threads have, so their work really overlaps. */
export function startTogether(mem: RuntimeMemory, addr: number, workers: number): void {
  const i32 = new Int32Array(mem.u8.buffer);
  const i = addr >>> 2;
  Atomics.add(i32, i, 1);
  while (Atomics.load(i32, i) < workers) Atomics.wait(i32, i, Atomics.load(i32, i), 10);
}
