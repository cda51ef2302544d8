// What the Node test hands to the browser page and what the page hands back.
// Types only, so both sides (Node and the browser) can import it.

/** One bpf_conformance `.data` file, sent as text so the browser parses and assembles it. */
export interface PageCase {
  readonly name: string;
  readonly text: string;
}

/** A packet for the checksum program, as hex (JSON has no bytes). */
export interface PagePacket {
  readonly name: string;
  readonly hex: string;
}

export interface PageInput {
  readonly engines: readonly string[];
  readonly cases: readonly PageCase[];
  /** Conformance-dialect assembly: RFC 1071 checksum of r1[0..r2). */
  readonly checksumAsm: string;
  readonly packets: readonly PagePacket[];
  /** A long straight-line program (its Wasm is far over 4 KB), run on every engine and via compileAsync. */
  readonly largeAsm: string;
}

/** Results of one memory mode ('default' or 'unshared') on one engine. */
export interface EngineRun {
  /** Conformance file name -> r0 as 0x hex, or "Error: ..." when it threw. */
  readonly r0: Record<string, string>;
  /** Packet name -> checksum r0 as 0x hex, or "Error: ...". */
  readonly checksum: Record<string, string>;
  /** r0 of the large program as 0x hex, or "Error: ..." (sync compile on the main thread). */
  readonly large: string;
  /** Constructor name of the engine built for the checksum program ('Interpreter', 'JitEngine'). */
  readonly engineClass: string;
}

/** The JIT's asynchronous compile path (WebAssembly.compile), which browsers always allow. */
export interface AsyncJitRun {
  readonly engineClass: string;
  readonly large: string;
  readonly checksum: Record<string, string>;
}

export interface MemoryModeRun {
  /** RuntimeMemory.shared as the VM saw it. */
  readonly shared: boolean;
  readonly engines: Record<string, EngineRun>;
  readonly jitAsync: AsyncJitRun;
}

export interface PageResult {
  readonly userAgent: string;
  readonly crossOriginIsolated: boolean;
  readonly hasSharedArrayBuffer: boolean;
  /** Engines the VM registered in the browser (engineNames()). */
  readonly registered: readonly string[];
  readonly modes: Record<string, MemoryModeRun>;
}

/** What the page writes into #result: the result, or why it could not produce one. */
export type PageReport = { readonly ok: true; readonly result: PageResult } | { readonly ok: false; readonly error: string };
