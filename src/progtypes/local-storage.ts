// bpf_get_local_storage (cgroup programs): the value of the program's
// cgroup storage map for the cgroup it runs in. In a test run that is the
// run's own zeroed storage (ProgRunContext.localStorage), as the kernel's
// BPF_PROG_TEST_RUN allocates it; a per-CPU map gives the running CPU's copy.
// The flags must be 0, which the verifier checks (the kernel ignores them at
// run time, and so does this).

import { arg, helper, retU32 } from '../helpers/define.js';
import type { HelperDef } from '../helpers/registry.js';
import { ProgramError } from '../internal/errors.js';
import { CgroupStorageMap } from '../maps/cgroup-storage.js';
import { ProgRunContext } from './run-context.js';

export const LOCAL_STORAGE_HELPERS: readonly HelperDef[] = [
  helper('get_local_storage', (env) => {
    const run = env.run;
    if (!(run instanceof ProgRunContext)) throw new ProgramError(env.pc, 'helper get_local_storage needs a program run by the runtime (a test run)');
    const map = run.maps.byDesc(arg(env, 1));
    if (!(map instanceof CgroupStorageMap)) throw new ProgramError(env.pc, 'helper get_local_storage: r1 is not a cgroup storage map');
    const copies = map.perCpu ? run.maps.cpus : 1;
    const region = run.localStorage(map.id, map.valueStride * copies);
    retU32(env, region.start + (map.perCpu ? run.cpu * map.valueStride : 0));
  }),
];
