import { writeFile, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { initBackend, tf, type BackendPreference } from '@tessera/tensor-core';
import {
  formatTable,
  gigabytesPerSecond,
  gigaflopsPerSecond,
  type BenchReport,
  type BenchRow,
  type BenchSuite,
} from '@tessera/tensor-core/bench';

export interface RunOptions {
  backend?: BackendPreference;
  /** 'full' = the issues' shapes; default 'full' on WebGPU, 'quick' elsewhere. */
  size?: 'full' | 'quick';
  /** Write the report here as JSON. */
  json?: string;
  /** Only suites whose name contains this (or one of these, comma-separated). */
  filter?: string;
  /** Where the progress lines and tables go; default `console.log` (stdout). */
  log?: (line: string) => void;
  /** Called before each suite that runs (after the filter): its name, its 0-based index and how many run. */
  onSuite?: (name: string, index: number, count: number) => void;
}

/**
 * How long the GPU is kept busy before the first suite. The first bench of a process on the H100 ran at up
 * to 5× its later time through the whole of its 200 ms warm-up and beyond (sampleFromLogits 1 × 131072:
 * median 0.353 ms, min 0.067, against 0.065 for the same kernel timed next; 2026-12-07), which reads as the
 * card's clocks rising from idle between processes.
 */
const WARM_UP_MS = 1500;

/** Matmuls back to back, synced every few calls, for `ms` milliseconds. */
async function warmUp(ms: number): Promise<void> {
  const a = tf.randomUniform([1024, 1024], -0.03, 0.03);
  const start = performance.now();
  while (performance.now() - start < ms) {
    const out = tf.tidy(() => {
      let x = a;
      for (let i = 0; i < 8; i++) x = tf.matMul(x, a);
      return x.sum();
    });
    await out.data();
    out.dispose();
  }
  a.dispose();
}

/** Runs bench suites on one backend, prints a markdown table, optionally writes the JSON report. */
export async function runSuites(suites: readonly BenchSuite[], opts: RunOptions = {}): Promise<BenchReport> {
  const log = opts.log ?? ((line: string) => console.log(line));
  tf.env().set('PROD', true);
  const choice = await initBackend(opts.backend ?? 'auto');
  const size = opts.size ?? (choice.name === 'webgpu' ? 'full' : 'quick');
  log(`backend: ${choice.name}${choice.adapter ? ` (${choice.adapter})` : ''} — ${choice.reason}; size: ${size}`);
  if (choice.name === 'webgpu' && size === 'full') await warmUp(WARM_UP_MS);
  const rows: BenchRow[] = [];
  const chosen = suites.filter((suite) => !opts.filter || opts.filter.split(',').some((f) => suite.name.includes(f)));
  for (const [index, suite] of chosen.entries()) {
    opts.onSuite?.(suite.name, index, chosen.length);
    log(`\n## ${suite.name}`);
    const suiteRows = await suite.run({ backend: choice.name, size, log: (m) => log(`  ${m}`) });
    log(formatTable(suiteRows));
    rows.push(...suiteRows);
  }
  const report: BenchReport = { date: new Date().toISOString(), backend: choice.name, rows };
  if (choice.adapter) report.adapter = choice.adapter;
  if (opts.json) {
    await mkdir(dirname(opts.json), { recursive: true });
    const tmp = `${opts.json}.tmp-${process.pid}`;
    const withRates = report.rows.map((r) => ({
      ...r,
      gigabytesPerSecond: gigabytesPerSecond(r),
      gigaflopsPerSecond: gigaflopsPerSecond(r),
    }));
    await writeFile(tmp, `${JSON.stringify({ ...report, size, rows: withRates }, null, 2)}\n`);
    await rename(tmp, opts.json);
    log(`\nwrote ${opts.json}`);
  }
  return report;
}

/**
 * Parses `--backend B --json FILE --size S --filter F` and positional directories. A bare `--` is
 * skipped: `pnpm bench -- --backend wasm` (npm's spelling for passing arguments to a script) hands it
 * on verbatim, and the options after it are still options.
 */
export function parseArgs(argv: readonly string[]): RunOptions & { dirs: string[]; help: boolean } {
  const out: RunOptions & { dirs: string[]; help: boolean } = { dirs: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: expected a value`);
      return v;
    };
    if (a === '--backend') out.backend = value() as BackendPreference;
    else if (a === '--json') out.json = value();
    else if (a === '--filter') out.filter = value();
    else if (a === '--size') {
      const s = value();
      if (s !== 'full' && s !== 'quick') throw new Error(`--size: expected full or quick, received ${s}`);
      out.size = s;
    } else if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--') continue;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else out.dirs.push(a);
  }
  return out;
}
