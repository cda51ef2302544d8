// `npm run bench [-- [--json] [--quick] [REGEX]]`: runs every suite, then prints
// a table per (program, packet) with each engine's ns/run and its ratio to the
// kernel's JIT and to native C measured in this same run. --json prints one
// JSON array of rows instead.
import type { Row } from './harness.js';
import { SUITES } from './suites.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const pattern = args.find((a) => !a.startsWith('--'));
  const filter = new RegExp(pattern ?? '.');
  const ctx = { filter, scale: quick ? 0.2 : 1, log: (m: string) => process.stderr.write(m + '\n') };
  const rows: Row[] = [];
  for (const s of SUITES) {
    ctx.log(`# ${s.name}`);
    rows.push(...(await s.run(ctx)));
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  process.stdout.write(formatTable(rows));
}

export function formatTable(rows: Row[]): string {
  const keys = [...new Set(rows.map((r) => `${r.program}\u0000${r.packet}`))];
  const lines: string[] = [];
  const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  lines.push(`${'program'.padEnd(14)} ${'packet'.padEnd(12)} ${'engine'.padEnd(10)} ${'ns/run'.padStart(12)} ${'x kernel'.padStart(9)} ${'x native'.padStart(9)} ${'ns/insn'.padStart(8)}  note`);
  for (const k of keys) {
    const [program, packet] = k.split('\u0000') as [string, string];
    const group = rows.filter((r) => r.program === program && r.packet === packet);
    const kernel = group.find((r) => r.engine === 'kernel')?.ns_per_run;
    const native = group.find((r) => r.engine === 'native')?.ns_per_run;
    for (const r of group) {
      const xk = kernel ? (r.ns_per_run / kernel).toFixed(2) : '-';
      const xn = native ? (r.ns_per_run / native).toFixed(2) : '-';
      const per = r.insns_per_run ? (r.ns_per_run / r.insns_per_run).toFixed(2) : '';
      lines.push(`${program.padEnd(14)} ${packet.padEnd(12)} ${r.engine.padEnd(10)} ${fmt(r.ns_per_run).padStart(12)} ${xk.padStart(9)} ${xn.padStart(9)} ${per.padStart(8)}  ${r.note ?? ''}`);
    }
  }
  // geometric means of engine/kernel over the cases where both exist
  const engines = [...new Set(rows.map((r) => r.engine))].filter((e) => e !== 'kernel');
  lines.push('');
  for (const e of engines) {
    const ratios: number[] = [];
    for (const r of rows.filter((x) => x.engine === e)) {
      const k = rows.find((x) => x.engine === 'kernel' && x.program === r.program && x.packet === r.packet && x.program !== 'nop');
      if (k) ratios.push(r.ns_per_run / k.ns_per_run);
    }
    if (ratios.length) {
      const gm = Math.exp(ratios.reduce((a, b) => a + Math.log(b), 0) / ratios.length);
      lines.push(`geomean ${e}/kernel over ${ratios.length} cases (nop excluded): ${gm.toFixed(2)}x`);
    }
  }
  return lines.join('\n') + '\n';
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
