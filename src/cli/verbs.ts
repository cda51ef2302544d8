// The list of CLI verbs. Each verb's module is imported only when that verb
// runs, so `tsbpf filter` does not pay for loading the verifier, the JIT and
// the tracing code at start-up (start-up decides short runs). To add a verb:
// one entry here; its file exports a Command with the same name and summary
// (test/cli/verbs.test.ts checks they agree).
import type { Command } from './command.js';

export interface VerbEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

export const VERBS: readonly VerbEntry[] = [
  { name: 'asm', summary: 'assemble eBPF assembly (conformance or LLVM syntax) into instruction bytes', load: async () => (await import('./asm.js')).asm },
  { name: 'dis', summary: 'disassemble eBPF bytes, hex text or an object file into LLVM syntax', load: async () => (await import('./dis.js')).dis },
  { name: 'inspect', summary: 'list the programs, maps, global data and BTF of a BPF object file', load: async () => (await import('./inspect.js')).inspect },
  { name: 'check', summary: 'verify the programs of an object file (exit 0 when all are safe)', load: async () => (await import('./check.js')).check },
  { name: 'run', summary: 'run a program (object file, bytes, hex, assembly or .data file) over packets or memory: retval, verdicts, maps', load: async () => (await import('./run.js')).run },
  { name: 'conformance-plugin', summary: 'plugin process for the bpf_conformance runner (program hex on stdin, r0 on stdout)', load: async () => (await import('./conformance-plugin.js')).conformancePlugin },
  { name: 'cbpf', summary: 'classic BPF: disassemble, check, translate to eBPF, run on captures or seccomp data', load: async () => (await import('./cbpf.js')).cbpf },
  { name: 'filter', summary: 'compile tcpdump filter expressions; print them (-d, --ebpf) or filter captures (-r, -w)', load: async () => (await import('./filter.js')).filter },
  { name: 'prog', summary: 'list the programs loaded in a running Node process', load: async () => (await import('./prog.js')).prog },
  { name: 'map', summary: 'list, dump, look up and update the maps of a running Node process', load: async () => (await import('./map.js')).map },
  { name: 'link', summary: 'list the attachments in a running Node process', load: async () => (await import('./link.js')).link },
  { name: 'trace-pipe', summary: "stream a running Node process's trace_printk output", load: async () => (await import('./trace-pipe.js')).tracePipe },
];
