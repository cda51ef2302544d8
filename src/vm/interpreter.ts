// The reference interpreter, public entry: the engine lives in interp/
// (engine.ts: the Interpreter class; exec.ts: the loop; access.ts,
// arith.ts, atomics.ts, frames.ts, packet.ts: what the loop calls).

export { Interpreter } from './interp/engine.js';
export type { PacketSource } from './interp/packet.js';
