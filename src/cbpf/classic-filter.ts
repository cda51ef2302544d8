// Running classic programs: translate once, then feed packets (or seccomp
// data) through the eBPF program on one of the VM's engines. The classic
// machine has no engine of its own.
//
// One filter owns a small VM: a read-only ctx region (struct __sk_buff or
// struct seccomp_data) and a read-only packet region that every packet is
// copied into. The per-packet path writes three ctx words and copies the
// bytes; it allocates nothing itself, so batching or a JIT engine slot in
// behind run() without changing callers.

import { UsageError } from '../internal/errors.js';
import { trustProgram } from '../vm/engines.js';
import type { Program } from '../isa/decode.js';
import { createVm, type Vm } from '../vm/vm.js';
import type { Region } from '../vm/memory.js';
import type { Engine, ExecOptions } from '../vm/types.js';
import { SECCOMP_DATA_SIZE } from './check.js';
import type { ClassicProgram } from './insn.js';
import { SKB, SKB_SIZE, translateClassic, type TranslateOptions, type Translation } from './translate.js';

export interface ClassicFilterOptions extends Omit<TranslateOptions, 'mode'> {
  /** Engine name ('interp' default, 'jit' when available). */
  engine?: string;
  /** Largest packet expected; bigger ones grow the packet region (default 262144, tcpdump's snaplen). */
  snaplen?: number;
  /** Instruction budget per packet (default: the engine's). A classic program runs at most its length anyway. */
  budget?: number;
  /** Use this VM instead of a private one. */
  vm?: Vm;
}

/** Optional per-packet metadata for ancillary loads (`ld #proto`, `ld #ifidx`...). */
export interface PacketMeta {
  /** EtherType in host order (SKF_AD_PROTOCOL); stored in network order as the kernel does. */
  protocol?: number;
  pktType?: number;
  ifindex?: number;
  mark?: number;
  queue?: number;
  hash?: number;
  vlanTci?: number;
  vlanPresent?: boolean;
  /** VLAN TPID in host order. */
  vlanProto?: number;
}

const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

/** Compile a classic program for the VM: checker, translation and decoding. */
export function compileClassic(prog: ClassicProgram, options: TranslateOptions = {}): Translation {
  return translateClassic(prog, options);
}

/** A classic socket filter over packets: run(packet) returns the accept length (0 = drop). */
export class ClassicFilter {
  readonly translation: Translation;
  readonly vm: Vm;
  readonly program: Program;
  private readonly engine: Engine;
  private readonly ctx: Region;
  private packet: Region;
  private readonly args: number[];
  private readonly exec: ExecOptions;
  /** Whether the ctx holds metadata from an earlier packet (cleared when the next packet has none). */
  private hasMeta = false;
  /** The VM was made here (not passed in), so dispose() releases it too. */
  private readonly ownVm: boolean;

  constructor(prog: ClassicProgram, options: ClassicFilterOptions = {}) {
    this.translation = translateClassic(prog, { ...options, mode: 'socket' });
    this.ownVm = options.vm === undefined;
    this.vm = options.vm ?? createVm();
    // Translations of checked classic programs are safe by construction (every
    // packet load is bounds-checked in the code; test/cbpf/verify.test.ts runs them
    // through the verifier), so the unchecked engine may run them.
    this.program = trustProgram(this.vm.load(this.translation.ebpf));
    this.engine = this.vm.engine(this.program, options.engine ?? 'interp');
    const mem = this.vm.mem;
    this.ctx = mem.alloc(SKB_SIZE, { name: 'cbpf ctx', kind: 'ctx', writable: false });
    this.packet = mem.alloc(options.snaplen ?? 262144, { name: 'cbpf packet', kind: 'packet', writable: false });
    this.args = [this.ctx.start];
    this.exec = options.budget !== undefined ? { budget: options.budget } : {};
  }

  /**
   * Run one packet. `packet` holds the captured bytes; `wireLen` is the
   * original length (`ld #pktlen`, default the captured length).
   * Returns the classic return value as an unsigned 32-bit number.
   */
  run(packet: Uint8Array, wireLen: number = packet.length, meta?: PacketMeta): number {
    const mem = this.vm.mem;
    if (packet.length > this.packet.size) this.growPacket(packet.length);
    const start = this.packet.start;
    mem.u8.set(packet, start);
    const dv = mem.dv;
    const c = this.ctx.start;
    dv.setUint32(c + SKB.len, wireLen >>> 0, true);
    dv.setUint32(c + SKB.data, start, true);
    dv.setUint32(c + SKB.data_end, start + packet.length, true);
    if (meta !== undefined) {
      this.writeMeta(meta);
      this.hasMeta = true;
    } else if (this.hasMeta) {
      this.writeMeta({});
      this.hasMeta = false;
    }
    return this.engine.run(this.args, this.exec).r0lo >>> 0;
  }

  /** Does the filter accept the packet (return value non-zero)? */
  matches(packet: Uint8Array, wireLen: number = packet.length, meta?: PacketMeta): boolean {
    return this.run(packet, wireLen, meta) !== 0;
  }

  /** Unmap this filter's regions (and its private VM's stack). */
  dispose(): void {
    this.vm.mem.free(this.ctx);
    this.vm.mem.free(this.packet);
    if (this.ownVm) this.vm.dispose();
  }

  private growPacket(size: number): void {
    const mem = this.vm.mem;
    mem.free(this.packet);
    this.packet = mem.alloc(size, { name: 'cbpf packet', kind: 'packet', writable: false });
  }

  private writeMeta(m: PacketMeta): void {
    const dv = this.vm.mem.dv;
    const c = this.ctx.start;
    const set = (off: number, v: number | undefined): void => dv.setUint32(c + off, (v ?? 0) >>> 0, true);
    set(SKB.protocol, swap16(m.protocol ?? 0));
    set(SKB.pkt_type, m.pktType);
    set(SKB.ifindex, m.ifindex);
    set(SKB.mark, m.mark);
    set(SKB.queue_mapping, m.queue);
    set(SKB.hash, m.hash);
    set(SKB.vlan_tci, m.vlanTci);
    set(SKB.vlan_present, m.vlanPresent ? 1 : 0);
    set(SKB.vlan_proto, swap16(m.vlanProto ?? 0));
  }
}

/** struct seccomp_data, with the 64-bit fields as BigInt (this is not a hot path). */
export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args?: readonly bigint[];
}

/** A classic seccomp filter: run(data) returns the SECCOMP_RET_* action value. */
export class SeccompFilter {
  readonly translation: Translation;
  readonly vm: Vm;
  private readonly engine: Engine;
  private readonly ctx: Region;
  private readonly exec: ExecOptions;

  constructor(prog: ClassicProgram, options: { engine?: string; vm?: Vm; budget?: number } = {}) {
    this.translation = translateClassic(prog, { mode: 'seccomp' });
    this.vm = options.vm ?? createVm();
    this.engine = this.vm.engine(trustProgram(this.vm.load(this.translation.ebpf)), options.engine ?? 'interp');
    this.ctx = this.vm.mem.alloc(SECCOMP_DATA_SIZE, { name: 'seccomp_data', kind: 'ctx', writable: false });
    this.exec = options.budget !== undefined ? { budget: options.budget } : {};
  }

  run(data: SeccompData): number {
    const args = data.args ?? [];
    if (args.length > 6) throw new UsageError(`seccomp_data has 6 arguments, got ${args.length}`);
    const dv = this.vm.mem.dv;
    const c = this.ctx.start;
    dv.setUint32(c, data.nr >>> 0, true);
    dv.setUint32(c + 4, data.arch >>> 0, true);
    dv.setBigUint64(c + 8, BigInt.asUintN(64, data.instructionPointer ?? 0n), true);
    for (let i = 0; i < 6; i++) dv.setBigUint64(c + 16 + 8 * i, BigInt.asUintN(64, args[i] ?? 0n), true);
    return this.engine.run([c], this.exec).r0lo >>> 0;
  }
}
