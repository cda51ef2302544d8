// Hand-built BTFs for CO-RE tests: a small writer with named helpers, and a
// target for test/fixtures/objects/core/core_task.o whose layout differs from
// the kernel's (pid at byte 12, comm at 24, pkt_type at bit 37...).
import type { Btf } from '../../src/btf/btf.js';
import { parseBtf } from '../../src/btf/parse-btf.js';
import { BtfKind } from '../../src/btf/types.js';
import { BtfBuilder } from './build.js';

const INT_SIGNED = 1;

/** A small BTF writer over BtfBuilder with named helpers. */
export class Types {
  readonly b = new BtfBuilder();
  int(name: string, size: number, signed = false): number {
    return this.b.add(BtfKind.INT, name, 0, size, [((signed ? INT_SIGNED : 0) << 24) | (size * 8)]);
  }
  ptr(to: number): number {
    return this.b.add(BtfKind.PTR, '', 0, to);
  }
  array(elem: number, index: number, n: number): number {
    return this.b.add(BtfKind.ARRAY, '', 0, 0, [elem, index, n]);
  }
  /** Members as [name, type, bitOffset, bitSize?]; any bitSize makes it a kflag struct. */
  struct(name: string, size: number, members: [string, number, number, number?][], union = false): number {
    const kflag = members.some((m) => m[3] !== undefined);
    const extra = members.flatMap(([n, t, off, bits]) => [this.b.str(n), t, kflag ? ((bits ?? 0) << 24) | off : off]);
    return this.b.add(union ? BtfKind.UNION : BtfKind.STRUCT, name, members.length, size, extra, kflag);
  }
  enum(name: string, values: [string, number][], signed = false): number {
    return this.b.add(BtfKind.ENUM, name, values.length, 4, values.flatMap(([n, v]) => [this.b.str(n), v]), signed);
  }
  enum64(name: string, values: [string, bigint][]): number {
    return this.b.add(BtfKind.ENUM64, name, values.length, 8, values.flatMap(([n, v]) => [this.b.str(n), Number(v & 0xffffffffn), Number(v >> 32n)]));
  }
  btf(): Btf {
    return parseBtf(this.b.bytes());
  }
}

/** A target for core_task.o (test/fixtures/objects/core) with its own layout. */
export function taskTargetTypes(): Types {
  const t = new Types();
  const int = t.int('int', 4, true);
  const uint = t.int('unsigned int', 4);
  const ulong = t.int('unsigned long', 8);
  const ch = t.int('char', 1, true);
  const u8 = t.int('unsigned char', 1);
  const comm = t.array(ch, int, 16);
  const fwdTask = t.b.add(BtfKind.FWD, 'task_struct', 0, 0);
  t.struct('task_struct', 64, [['__state', uint, 0], ['flags', uint, 32], ['tgid', int, 64], ['pid', int, 96], ['real_parent', t.ptr(fwdTask), 128], ['comm', comm, 192]]);
  t.struct('sk_buff', 16, [['len', uint, 0], ['pkt_type', u8, 37, 3]]);
  t.struct('pt_regs', 16, [['si', ulong, 0], ['di', ulong, 64]]);
  const lh = t.b.add(BtfKind.FWD, 'list_head', 0, 0);
  t.struct('list_head', 16, [['next', t.ptr(lh), 0], ['prev', t.ptr(lh), 64]]);
  t.enum('pid_type', [['PIDTYPE_PID', 0], ['PIDTYPE_TGID', 1], ['PIDTYPE_SID', 9]]);
  return t;
}

export function taskTarget(): Btf {
  return taskTargetTypes().btf();
}

