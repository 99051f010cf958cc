import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSuites, runSuites } from '@tessera/bench';
import { checkOptions, TesseraError, tf } from '@tessera/tensor-core';
import { type BenchRow, formatTable } from '@tessera/tensor-core/bench';
import { noProgress, type Progress } from '../progress.js';

/**
 * The suites the part runs by default, at the harness' quick size: one or two per package, about 20 s
 * together on 2 CPU cores (WASM). sparse-attention's quick suite alone takes about as long, so it runs only
 * when named.
 */
export const QUICK_SUITES = ['philox', 'softmax', 'sampling', 'mamba3', 'rasterize'] as const;

export interface BenchPartOptions {
  /** Suite names (`name` of a package's bench/*.bench.ts), or 'all'; default QUICK_SUITES. */
  suites?: readonly string[] | 'all';
  /** Directory for bench.json (the harness' report: every row with its timings and rates). */
  out?: string;
  progress?: Progress;
}

export interface BenchPartRow {
  suite: string;
  workload: string;
  shape: string;
  baseline: string;
  /** Median milliseconds per call. */
  oursMs: number;
  baselineMs: number;
  /** baseline / ours: > 1 means ours is faster. */
  speedup: number;
  /** Least bytes moved and FLOPs of ours, where the suite states them (for GB/s and GFLOP/s). */
  bytes?: number;
  flops?: number;
}

export interface BenchPartReport {
  backend: string;
  size: 'quick';
  suites: string[];
  rows: BenchPartRow[];
  seconds: number;
  files: string[];
  /** The part's check: every suite gave rows, and every ratio is a positive finite number. */
  ok: boolean;
}

/** An unknown suite name or an --out that cannot be written: the CLI prints one line and exits 2. */
export class BenchPartError extends TesseraError {}

/** Where the bench discovery starts looking for the workspace: this file's own checkout. */
const HERE = fileURLToPath(import.meta.url);

/**
 * The `bench` part: the packages' own benchmark suites (`packages/<pkg>/bench/*.bench.ts`, found and
 * run by tooling/bench's harness, as `pnpm bench` does) at the quick size on the active backend; ours
 * against each workload's baseline.
 */
export async function runBench(options?: BenchPartOptions): Promise<BenchPartReport> {
  const opts = checkOptions(options ?? {}, ['suites', 'out', 'progress']);
  const progress = opts.progress ?? noProgress;
  const start = performance.now();
  if (opts.out !== undefined) {
    try {
      await mkdir(opts.out, { recursive: true });
    } catch (e) {
      throw new BenchPartError(`bench: --out ${opts.out}: cannot create the directory: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  // The suites import their packages' sources, registering again the kernels that other parts loaded from
  // the packages' builds (the same code); tfjs warns about each one unless PROD is set, which the harness
  // sets for the run anyway.
  tf.env().set('PROD', true);
  const all = await loadSuites({ from: HERE });
  const names = opts.suites === 'all' ? all.map((s) => s.name) : [...new Set(opts.suites ?? QUICK_SUITES)];
  const known = new Set(all.map((s) => s.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new BenchPartError(
      `bench: --suites: expected names among ${[...known].join(', ')} (or all), received ${unknown.length > 0 ? `"${unknown.join('", "')}"` : 'none'}`,
    );
  }
  const suiteOf = new Map<BenchRow, string>();
  // the harness returns one list of rows: each suite tags its own as it returns them
  const chosen = names.map((n) => {
    const s = all.find((x) => x.name === n)!;
    return {
      name: s.name,
      run: async (ctx: Parameters<typeof s.run>[0]) => {
        const out = await s.run(ctx);
        for (const row of out) suiteOf.set(row, s.name);
        return out;
      },
    };
  });
  let suite = '';
  let index = 0;
  progress.start('[bench]', chosen.length, 'loading');
  try {
    const json = opts.out !== undefined ? join(opts.out, 'bench.json') : undefined;
    const report = await runSuites(chosen, {
      backend: tf.getBackend() as 'webgpu' | 'wasm' | 'cpu',
      size: 'quick',
      ...(json !== undefined ? { json } : {}),
      onSuite: (name, i) => {
        [suite, index] = [name, i];
        progress.update(i, name);
      },
      // the harness' indented lines are the suites' own progress: a workload and shape each
      log: (line) => {
        if (line.startsWith('  ')) progress.update(index, `${suite}: ${line.trim()}`);
      },
    });
    progress.update(chosen.length, 'done');
    progress.stop();
    const rows: BenchPartRow[] = report.rows.map((r) => ({
      suite: suiteOf.get(r) ?? '',
      workload: r.workload,
      shape: r.shape,
      baseline: r.baselineName,
      oursMs: r.ours.median,
      baselineMs: r.baseline.median,
      speedup: r.speedup,
      ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
      ...(r.flops !== undefined ? { flops: r.flops } : {}),
    }));
    return {
      backend: report.backend,
      size: 'quick',
      suites: names,
      rows,
      seconds: (performance.now() - start) / 1000,
      files: json !== undefined ? [json] : [],
      ok: rows.length > 0 && rows.every((r) => Number.isFinite(r.speedup) && r.speedup > 0),
    };
  } finally {
    progress.stop();
  }
}

/** The ratio table (the harness' markdown table: ours against the baseline per workload). */
export function formatBench(r: BenchPartReport): string {
  const table = formatTable(
    r.rows.map((x) => ({
      workload: x.workload,
      shape: x.shape,
      baselineName: x.baseline,
      ours: { name: 'ours', median: x.oursMs, min: x.oursMs, max: x.oursMs, iterations: 1, rounds: 1 },
      baseline: { name: x.baseline, median: x.baselineMs, min: x.baselineMs, max: x.baselineMs, iterations: 1, rounds: 1 },
      speedup: x.speedup,
      ...(x.bytes !== undefined ? { bytes: x.bytes } : {}),
      ...(x.flops !== undefined ? { flops: x.flops } : {}),
    })),
  );
  return [
    `suites ${r.suites.join(', ')} on ${r.backend} (quick size), ${r.seconds.toFixed(1)} s; speedup = baseline / ours (> 1: ours is faster)`,
    table,
    r.files.length > 0 ? `wrote ${r.files.join(', ')}` : 'pass --out DIR for bench.json (every timing, GB/s and GFLOP/s)',
  ].join('\n');
}
