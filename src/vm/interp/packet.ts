// The legacy packet loads (LD_ABS / LD_IND) in the interpreter: r0 = the
// big-endian bytes at a packet offset, through RuntimeMemory.packetLoad (the
// one rule the JIT shares).

import { INSNS, Shape, type Op } from '../../isa/table.js';
import type { RuntimeMemory } from '../memory.js';

/** The bytes the legacy packet loads (LD_ABS / LD_IND) read: `ExecOptions.run.packet`. */
export interface PacketSource {
  readonly packet?: { readonly start: number; readonly len: number };
}

export function isPacketSource(run: unknown): run is PacketSource {
  return typeof run === 'object' && run !== null && 'packet' in run;
}

/** Outcomes of packetStep. */
export const enum Pkt {
  /** r0 holds the bytes. */
  Ok = 0,
  /** Outside the packet: r0 = 0 and the program ends, as in the kernel. */
  Out = 1,
  /** No packet given and r6 points into no region. */
  None = 2,
}

/**
 * One LD_ABS / LD_IND. The packet is read from the run state each time: a
 * helper (change_head, adjust_room, vlan_pop...) may have moved it since the
 * run started; without one, the bytes from r6 to the end of its region.
 */
export function packetStep(mem: RuntimeMemory, run: unknown, pktStart: number, pktLen: number, regs: Int32Array, o: Op, s: number, imm: number): Pkt {
  let start = pktStart;
  let len = pktLen;
  if (isPacketSource(run) && run.packet !== undefined) {
    start = run.packet.start;
    len = run.packet.len;
  }
  if (start < 0) {
    const region = regs[13] === 0 ? mem.regionOf(regs[12]! >>> 0) : undefined;
    if (region === undefined) return Pkt.None;
    start = regs[12]! >>> 0;
    len = region.start + region.size - start;
  }
  const def = INSNS[o]!;
  const at = def.shape === Shape.LdInd ? (regs[s]! + imm) | 0 : imm;
  const v = mem.packetLoad(start, len, at, def.width >> 3);
  if (v < 0) {
    regs[0] = regs[1] = 0;
    return Pkt.Out;
  }
  regs[0] = v | 0;
  regs[1] = 0;
  return Pkt.Ok;
}
