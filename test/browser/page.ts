// Runs inside headless Chromium as a native ES module loaded from dist/ over
// http: no bundler, no Node built-ins. It imports the engine path the way a
// browser embedder would (the asm and vm subpath entry points), parses and
// assembles the conformance files itself, and runs them on every engine in
// two memory modes: the default (shared WebAssembly.Memory when the page is
// cross-origin isolated) and an explicitly unshared memory. A long program
// also goes through the JIT's synchronous compile on the main thread and
// through compileAsync.

import { assemble, parseDataFile } from '../../src/asm/index.js';
import { createVm, engineNames, trustProgram, type Engine, type Vm } from '../../src/vm/index.js';
import { compileAsync } from '../../src/vm/jit/index.js';
import { conformanceHelpers } from '../../src/helpers/test-helpers.js';
import type { AsyncJitRun, EngineRun, MemoryModeRun, PageInput, PageResult } from './protocol.js';

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `thrown non-Error: ${String(e)}`;
}

/** The programs, assembled once per page (the assembler is under test too). */
interface Prepared {
  readonly cases: { name: string; code: Uint8Array | string; mem?: Uint8Array }[];
  readonly checksum: Uint8Array;
  readonly large: Uint8Array;
  readonly packets: { name: string; bytes: Uint8Array }[];
}

function prepare(input: PageInput): Prepared {
  const cases = input.cases.map((c) => {
    try {
      const df = parseDataFile(c.text, c.name);
      const code = df.raw ?? assemble(df.asm, { dialect: 'conformance', file: c.name, firstLine: df.asmLine });
      return df.mem === undefined ? { name: c.name, code } : { name: c.name, code, mem: df.mem };
    } catch (e) {
      // kept as a string so the per-file result says why, instead of losing the whole page
      return { name: c.name, code: describe(e) };
    }
  });
  const checksum = assemble(input.checksumAsm, { dialect: 'conformance', file: 'checksum.asm' });
  const large = assemble(input.largeAsm, { dialect: 'conformance', file: 'large.asm' });
  const packets = input.packets.map((p) => ({ name: p.name, bytes: hexToBytes(p.hex) }));
  return { cases, checksum, large, packets };
}

/** Run an engine directly with `bytes` as input (what vm.run does for engines it builds itself). */
function runWithInput(vm: Vm, e: Engine, bytes: Uint8Array): string {
  const input = vm.mem.alloc(bytes.length, { name: 'input', kind: 'input', writable: true, init: bytes });
  try {
    return `0x${e.run([input.start, bytes.length]).r0.toString(16)}`;
  } finally {
    vm.mem.free(input);
  }
}

function attempt(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return describe(e);
  }
}

function runEngine(vm: Vm, prep: Prepared, engine: string): EngineRun {
  const r0: Record<string, string> = {};
  for (const c of prep.cases) {
    if (typeof c.code === 'string') {
      r0[c.name] = c.code;
      continue;
    }
    try {
      // the unchecked engine runs only trusted programs: this test opts in
      const prog = trustProgram(vm.load(c.code));
      const r = vm.run(prog, c.mem === undefined ? { engine } : { engine, mem: c.mem });
      r0[c.name] = `0x${r.r0.toString(16)}`;
    } catch (e) {
      r0[c.name] = describe(e);
    }
  }
  const checksum: Record<string, string> = {};
  const prog = trustProgram(vm.load(prep.checksum));
  for (const p of prep.packets) {
    try {
      checksum[p.name] = `0x${vm.run(prog, { engine, mem: p.bytes }).r0.toString(16)}`;
    } catch (e) {
      checksum[p.name] = describe(e);
    }
  }
  const large = attempt(() => `0x${vm.run(trustProgram(vm.load(prep.large)), { engine }).r0.toString(16)}`);
  const engineClass = attempt(() => vm.engine(prog, engine).constructor.name);
  return { r0, checksum, large, engineClass };
}

async function runJitAsync(vm: Vm, prep: Prepared): Promise<AsyncJitRun> {
  const checksum: Record<string, string> = {};
  let engineClass: string;
  try {
    const e = await compileAsync(vm.load(prep.checksum), vm.config);
    engineClass = e.constructor.name;
    for (const p of prep.packets) checksum[p.name] = attempt(() => runWithInput(vm, e, p.bytes));
  } catch (e) {
    engineClass = describe(e);
  }
  let large: string;
  try {
    const e = await compileAsync(vm.load(prep.large), vm.config);
    large = `0x${e.run([]).r0.toString(16)}`;
  } catch (e) {
    large = describe(e);
  }
  return { engineClass, large, checksum };
}

async function runMode(prep: Prepared, engines: readonly string[], shared: boolean | undefined): Promise<MemoryModeRun> {
  const vm = createVm({ helpers: conformanceHelpers(), ...(shared === undefined ? {} : { memOptions: { shared } }) });
  const out: Record<string, EngineRun> = {};
  for (const engine of engines) out[engine] = runEngine(vm, prep, engine);
  return { shared: vm.mem.shared, engines: out, jitAsync: await runJitAsync(vm, prep) };
}

export async function runPage(input: PageInput): Promise<PageResult> {
  const prep = prepare(input);
  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hasSharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined',
    registered: engineNames(),
    modes: {
      default: await runMode(prep, input.engines, undefined),
      unshared: await runMode(prep, input.engines, false),
    },
  };
}
