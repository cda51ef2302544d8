// Running BPF callbacks (bpf_loop, bpf_for_each_map_elem) on any engine.
//
// A callback is a subprogram of the calling program, named by its instruction
// index (what the runtime's rewrite of `lddw rX, func` (BPF_PSEUDO_FUNC)
// loads). attachCallbacks() gives the HelperContext an invoker that runs it
// as a program of its own: a two-instruction trampoline (`call local fn`,
// `exit`) in front of the caller's code, on a second stack, so the callback
// cannot overwrite the frames of the program that is waiting for it, while
// pointers into that program's stack (the usual callback_ctx) stay valid.

import { ProgramError } from '../internal/errors.js';
import { decodeProgram, type Program } from '../isa/decode.js';
import { Class, JmpOp, PseudoCall } from '../isa/fields.js';
import { createVm } from '../vm/vm.js';
import type { RuntimeMemory } from '../vm/memory.js';
import type { CallbackInvoker, HelperContext } from './context.js';
import type { HelperRegistry } from './registry.js';

export interface CallbackOptions {
  mem: RuntimeMemory;
  helpers: HelperRegistry;
  /** The calling program's instructions (8 bytes per slot), as the engine runs them. */
  code: Uint8Array;
  /** Engine name for the callbacks (default 'interp'). */
  engine?: string;
}

const TRAMPOLINE_SLOTS = 2;

/** `call local fn; exit` followed by `code`, so the call lands on code's slot `fn`. */
function trampoline(code: Uint8Array, fn: number): Uint8Array {
  const out = new Uint8Array(code.length + TRAMPOLINE_SLOTS * 8);
  const dv = new DataView(out.buffer);
  out[0] = Class.JMP | JmpOp.CALL;
  out[1] = PseudoCall.LOCAL << 4;
  dv.setInt32(4, fn + TRAMPOLINE_SLOTS - 1, true); // target = pc + 1 + imm
  out[8] = Class.JMP | JmpOp.EXIT;
  out.set(code, TRAMPOLINE_SLOTS * 8);
  return out;
}

/** Give `ctx` an invoker for the callbacks of the program whose code is `options.code`. */
export function attachCallbacks(ctx: HelperContext, options: CallbackOptions): CallbackInvoker {
  const vm = createVm({ mem: options.mem, helpers: options.helpers });
  const slots = options.code.length / 8;
  const cache = new Map<number, Program>();
  const args: (number | bigint)[] = [0, 0, 0, 0, 0];
  const invoke: CallbackInvoker = (fn, a) => {
    let prog = cache.get(fn);
    if (prog === undefined) {
      if (!Number.isInteger(fn) || fn < 0 || fn >= slots) throw new ProgramError(-1, `callback at instruction ${fn} is outside the program (${slots} instructions)`);
      prog = vm.load(decodeProgram(trampoline(options.code, fn)));
      cache.set(fn, prog);
    }
    for (let i = 0; i < 5; i++) {
      const lo = a[2 * i]! >>> 0;
      const hi = a[2 * i + 1]! >>> 0;
      args[i] = hi === 0 ? lo : (BigInt(hi) << 32n) | BigInt(lo);
    }
    return vm.run(prog, { args, run: ctx, engine: options.engine }).r0lo;
  };
  ctx.invoke = invoke;
  return invoke;
}
