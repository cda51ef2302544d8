// Calling helpers directly: a memory, a map table, a HelperContext with a
// pinned clock and seed, and `call(name, ...args)` returning r0.
import { RuntimeMemory } from '../../src/vm/memory.js';
import { MapTable } from '../../src/maps/table.js';
import { HelperContext } from '../../src/helpers/context.js';
import { standardHelpers } from '../../src/helpers/index.js';
import { BPF_FUNC } from '../../src/internal/uapi.gen.js';
import type { HelperEnv } from '../../src/helpers/registry.js';

export function setup(cpus = 1) {
  const mem = new RuntimeMemory({ maxBytes: 16 * 1024 * 1024 });
  const maps = new MapTable(mem, { cpus });
  let now = 5_123_456_789n;
  const ctx = new HelperContext({ maps, clock: () => now, seed: 42, identity: { pid: 1234, tgid: 1200, uid: 1000, gid: 100, comm: 'tsbpf-test-comm-long' } });
  const reg = standardHelpers();
  const regs = new Int32Array(12);
  const call = (name: string, ...args: (number | bigint)[]): bigint => {
    const def = reg.get(BPF_FUNC[name]!);
    if (!def) throw new Error(`no helper ${name}`);
    regs.fill(0x5a5a5a5a);
    args.forEach((a, i) => {
      const v = BigInt.asUintN(64, BigInt(a));
      regs[2 * (i + 1)] = Number(v & 0xffffffffn) | 0;
      regs[2 * (i + 1) + 1] = Number(v >> 32n) | 0;
    });
    const env: HelperEnv = { mem, regs, pc: 7, run: ctx };
    def.fn(env);
    return (BigInt(regs[1]!) << 32n) | BigInt(regs[0]! >>> 0);
  };
  /** A writable scratch buffer with these bytes. */
  const buf = (bytes: number[] | Uint8Array | number, writable = true): number =>
    mem.alloc(typeof bytes === 'number' ? bytes : bytes.length, { name: 'buf', init: typeof bytes === 'number' ? undefined : Uint8Array.from(bytes), writable }).start;
  const cstr = (s: string): number => buf([...new TextEncoder().encode(s), 0]);
  const setClock = (ns: bigint): void => {
    now = ns;
  };
  return { mem, maps, ctx, reg, call, buf, cstr, setClock };
}

export const bytesAt = (mem: RuntimeMemory, addr: number, n: number): number[] => [...mem.u8.subarray(addr, addr + n)];
