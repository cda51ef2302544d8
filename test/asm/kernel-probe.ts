// Test support: how the running Linux kernel prints instructions in its
// verifier log (kernel/bpf/disasm.c). We build one program that uses every
// table row the kernel accepts (from the table, so new rows join in), turn
// it into an object with llvm-mc-19 (its text printed by our own LLVM
// printer, which the llvm tests pin down), load it with `bpftool -d prog load`
// (log level 7) and read the per-instruction lines of the log.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disassembleProgram } from '../../src/asm/disassemble.js';
import { decodeProgram } from '../../src/isa/decode.js';
import type { RawInsn } from '../../src/isa/fields.js';
import { INSNS, Shape, type InsnDef } from '../../src/isa/table.js';
import { LLVM_MC } from './llvm-objdump.js';

const BPFTOOL = 'bpftool';

/** Can we load programs into this kernel? (root, bpffs, bpftool, llvm-mc). */
export function kernelAvailable(): boolean {
  if (process.getuid?.() !== 0 || !existsSync('/sys/fs/bpf')) return false;
  const tools = [BPFTOOL, LLVM_MC].every((t) => spawnSync(t, ['--version'], { encoding: 'utf8' }).status === 0);
  if (!tools) return false;
  return spawnSync(BPFTOOL, ['prog', 'list'], { encoding: 'utf8', timeout: 10_000 }).status === 0;
}

function slot(def: InsnDef, f: Partial<RawInsn>): RawInsn {
  const s: RawInsn = { opcode: def.opcode, dst: f.dst ?? 0, src: f.src ?? 0, off: f.off ?? 0, imm: f.imm ?? 0 };
  if (def.discr !== undefined) s[def.discr.field] = def.discr.value;
  return s;
}

function row(pred: (d: InsnDef) => boolean): InsnDef {
  return INSNS.find(pred)!;
}

/**
 * The probe program (main function only; a local call targets the last
 * instruction). Registers: r6 = ctx, r7/r8/r9 scalars, r3 a non-zero scalar,
 * r2 the ALU victim, fp-8 and fp-16 initialised stack.
 */
export function probeSlots(): RawInsn[] {
  const mov = row((d) => d.shape === Shape.AluImm && d.llvm === '=' && d.width === 64);
  const movReg = row((d) => d.shape === Shape.AluReg && d.llvm === '=' && d.width === 64);
  const stxdw = row((d) => d.shape === Shape.StoreReg && d.width === 64);
  const out: RawInsn[] = [
    slot(movReg, { dst: 6, src: 1 }),
    ...[0, 1, 2, 3, 4, 5, 7, 8, 9].map((r) => slot(mov, { dst: r, imm: r + 3 })),
    slot(stxdw, { dst: 10, src: 1, off: -8 }),
    slot(stxdw, { dst: 10, src: 1, off: -16 }),
  ];
  const late: RawInsn[] = [];
  for (const def of INSNS) {
    for (const sign of [1, -1]) {
      const imm = 3 * sign;
      switch (def.shape) {
        case Shape.AluImm:
          // The kernel rejects negative shift counts.
          out.push(slot(def, { dst: 2, imm: /<<|>>/.test(def.llvm) ? 4 + sign : imm }));
          break;
        case Shape.JmpImm:
          out.push(slot(def, { dst: 2, imm, off: 0 }));
          break;
        case Shape.Store:
          out.push(slot(def, { dst: 10, off: -8, imm }));
          break;
        default:
          if (sign < 0) continue;
          switch (def.shape) {
            case Shape.AluReg:
            case Shape.MovSx:
              out.push(slot(def, { dst: 2, src: 3 }));
              if (def.shape === Shape.AluReg) out.push(slot(mov, { dst: 3, imm: 7 })); // keep the divisor non-zero
              break;
            case Shape.JmpReg:
              out.push(slot(def, { dst: 2, src: 3 }));
              break;
            case Shape.Neg:
            case Shape.Endian:
              out.push(slot(def, { dst: 2 }));
              break;
            case Shape.Load:
            case Shape.LoadSx:
              out.push(slot(def, { dst: 2, src: 10, off: -8 }));
              break;
            case Shape.StoreReg:
              out.push(slot(def, { dst: 10, src: 7, off: -16 }));
              break;
            case Shape.Atomic:
              out.push(slot(mov, { dst: 0, imm: 0 }), slot(def, { dst: 10, src: 7, off: def.width === 64 ? -8 : -16 }));
              break;
            case Shape.Lddw:
              if (def.discr?.value === 0) out.push(slot(def, { dst: 2, imm: -5 }), { opcode: 0, dst: 0, src: 0, off: 0, imm: 0x12345678 });
              break;
            case Shape.Ja:
              out.push(slot(def, { off: 0 }));
              break;
            case Shape.Ja32:
              out.push(slot(def, { imm: 0 }));
              break;
            // These clobber r1-r5, so they go last.
            case Shape.LdAbs:
              late.push(slot(def, { imm: 12 }));
              break;
            case Shape.LdInd:
              late.push(slot(def, { src: 8 })); // llvm-mc cannot write a non-zero imm here
              break;
            case Shape.Call:
              late.push(slot(def, { imm: 5 })); // bpf_ktime_get_ns
              break;
            case Shape.MayGoto:
              // The kernel wants a non-zero offset: skip one mov.
              out.push(slot(def, { off: 1 }), slot(mov, { dst: 2, imm: 1 }));
              break;
            default:
              // kfunc calls, callx, pseudo lddw and addr_space_cast need BTF, maps (an arena) or features the kernel lacks.
              break;
          }
      }
    }
  }
  // A positive memory offset through a derived stack pointer.
  const addImm = row((d) => d.shape === Shape.AluImm && d.llvm === '+=' && d.width === 64);
  out.push(slot(movReg, { dst: 9, src: 10 }), slot(addImm, { dst: 9, imm: -16 }), slot(stxdw, { dst: 9, src: 7, off: 8 }));
  const exit = row((d) => d.shape === Shape.Exit);
  const callLocal = row((d) => d.shape === Shape.CallLocal);
  out.push(...late, slot(mov, { dst: 0, imm: 0 }));
  // call pc+1 -> the tail `r0 = 0; exit`, then exit.
  out.push(slot(callLocal, { imm: 1 }), slot(exit, {}), slot(mov, { dst: 0, imm: 0 }), slot(exit, {}));
  return out;
}

export interface KernelLine {
  readonly slot: number;
  /** `(b7) r1 = 5`: the kernel's text for the instruction, opcode prefix included. */
  readonly text: string;
}

/** Load the bytes as a socket filter (local-call target split off into .text) and return the log's instruction lines. */
export function kernelLog(bytes: Uint8Array, subprogStart: number): KernelLine[] {
  const prog = decodeProgram(bytes);
  const lines = disassembleProgram(prog, { labels: true });
  // disassembleProgram's labels: the subprogram's label L<start> moves to .text.
  const cut = lines.indexOf(`L${subprogStart}:`);
  const main = lines.slice(0, cut);
  const sub = lines.slice(cut + 1);
  const text = [
    '\t.section\tsocket,"ax",@progbits',
    '\t.globl\tprog',
    '\t.type\tprog,@function',
    'prog:',
    ...main.map((l) => (l.endsWith(':') ? l : `\t${l}`)),
    '.Lprog_end:',
    '\t.size\tprog, .Lprog_end-prog',
    '\t.text',
    `\t.type\tL${subprogStart},@function`,
    `L${subprogStart}:`,
    ...sub.map((l) => `\t${l}`),
    '.Lsub_end:',
    `\t.size\tL${subprogStart}, .Lsub_end-L${subprogStart}`,
    '\t.section\tlicense,"aw",@progbits',
    '\t.globl\t_license',
    '_license:',
    '\t.asciz\t"GPL"',
    '',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-kernel-probe-'));
  const pin = `/sys/fs/bpf/tsbpf_asm_probe_${process.pid}`;
  try {
    const src = join(dir, 'probe.s');
    const obj = join(dir, 'probe.o');
    writeFileSync(src, text);
    const mc = spawnSync(LLVM_MC, ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', src, '-o', obj], { encoding: 'utf8' });
    if (mc.status !== 0) throw new Error(`${LLVM_MC} failed: ${mc.stderr}`);
    const r = spawnSync(BPFTOOL, ['-d', 'prog', 'load', obj, pin, 'type', 'socket'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 });
    const log = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`bpftool prog load failed:\n${log.split('\n').slice(-30).join('\n')}`);
    // The liveness listing prints each instruction once: `     12: .12....... (0f) r1 += r2`.
    const out: KernelLine[] = [];
    const seen = new Set<number>();
    for (const line of log.split('\n')) {
      const m = /^\s*([0-9]+): [.0-9]{10} (\([0-9a-f]{2}\) .*)$/.exec(line);
      if (m === null) continue;
      const n = Number(m[1]);
      if (!seen.has(n)) out.push({ slot: n, text: m[2]! });
      seen.add(n);
    }
    return out;
  } finally {
    rmSync(pin, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}
