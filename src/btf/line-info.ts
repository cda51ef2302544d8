// Instruction index -> source position, from a program's line_info records.
// A record covers its instruction and every following one up to the next
// record, which is how llvm-objdump -S and the kernel's verifier log use it.

import type { LineInfo } from './parse-ext.js';

export class LineTable {
  /** Sorted by instruction index. */
  readonly records: readonly LineInfo[];
  private readonly insns: Int32Array;

  constructor(records: readonly LineInfo[]) {
    const sorted = [...records].sort((a, b) => a.insn - b.insn);
    this.records = sorted;
    this.insns = Int32Array.from(sorted, (r) => r.insn);
  }

  /** The record covering instruction `insn` (the last one at or before it), if any. */
  lineAt(insn: number): LineInfo | undefined {
    const a = this.insns;
    let lo = 0;
    let hi = a.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]! <= insn) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? undefined : this.records[found];
  }

  /** The record that starts exactly at `insn`, if one does (where a `; line` comment goes). */
  startsAt(insn: number): LineInfo | undefined {
    const r = this.lineAt(insn);
    return r !== undefined && r.insn === insn ? r : undefined;
  }
}
