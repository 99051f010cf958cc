import { checkRange } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import type { BenchResult } from './bench.js';

/** One line of a benchmark table: our implementation against a baseline on one workload. */
export interface BenchRow {
  /** What is measured, e.g. 'softmax'. */
  workload: string;
  /** The input shape, e.g. '64x131072'. */
  shape: string;
  /** What the baseline is, e.g. 'tf.softmax'. */
  baselineName: string;
  ours: BenchResult;
  baseline: BenchResult;
  /** baseline median / ours median: > 1 means ours is faster. */
  speedup: number;
  /** Bytes our implementation must move at least, for GB/s; optional. */
  bytes?: number;
  /** Floating-point operations of our implementation, for GFLOP/s; optional. */
  flops?: number;
}

export interface RowExtras {
  bytes?: number;
  flops?: number;
}

function checkResult(r: unknown, name: string): void {
  const median = (r as { median?: unknown } | null)?.median;
  if (typeof median !== 'number' || !(median > 0)) {
    throw new ValueError(`${name}: expected a bench() result with a positive median, received ${describeValue(r)}`);
  }
}

/** Pairs a baseline and our result into a row; `speedup` = baseline / ours, measured in the same run. */
export function compare(
  workload: string,
  shape: string,
  baselineName: string,
  baseline: BenchResult,
  ours: BenchResult,
  extras: RowExtras = {},
): BenchRow {
  for (const [value, name] of [
    [workload, 'workload'],
    [shape, 'shape'],
    [baselineName, 'baselineName'],
  ] as const) {
    if (typeof value !== 'string') throw new ValueError(`${name}: expected a string, received ${describeValue(value)}`);
  }
  checkResult(baseline, 'baseline');
  checkResult(ours, 'ours');
  checkOptions(extras, ['bytes', 'flops'], 'extras');
  if (extras.bytes !== undefined) checkRange(extras.bytes, { min: 0 }, 'extras.bytes');
  if (extras.flops !== undefined) checkRange(extras.flops, { min: 0 }, 'extras.flops');
  return { workload, shape, baselineName, ours, baseline, speedup: baseline.median / ours.median, ...extras };
}

export interface BenchReport {
  date: string;
  backend: string;
  adapter?: string;
  rows: BenchRow[];
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(4);
}

/** Achieved GB/s of our implementation, when the row knows its bytes. */
export function gigabytesPerSecond(row: BenchRow): number | undefined {
  checkResult(row?.ours, 'row.ours');
  return row.bytes === undefined ? undefined : row.bytes / (row.ours.median * 1e-3) / 1e9;
}

/** Achieved GFLOP/s of our implementation, when the row knows its FLOPs. */
export function gigaflopsPerSecond(row: BenchRow): number | undefined {
  checkResult(row?.ours, 'row.ours');
  return row.flops === undefined ? undefined : row.flops / (row.ours.median * 1e-3) / 1e9;
}

/** A markdown table: workload, shape, ours, baseline, speedup, GB/s, GFLOP/s. */
export function formatTable(rows: readonly BenchRow[]): string {
  if (!Array.isArray(rows)) throw new ValueError(`rows: expected an array of compare() rows, received ${describeValue(rows)}`);
  const head = '| workload | shape | ours (ms) | baseline | baseline (ms) | speedup | ours GB/s | ours GFLOP/s |';
  const sep = '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |';
  const rate = (x: number | undefined) => (x === undefined ? '' : x.toFixed(1));
  const lines = rows.map(
    (r) =>
      `| ${r.workload} | ${r.shape} | ${fmtMs(r.ours.median)} | ${r.baselineName} | ${fmtMs(r.baseline.median)} | ${r.speedup.toFixed(2)}× | ${rate(gigabytesPerSecond(r))} | ${rate(gigaflopsPerSecond(r))} |`,
  );
  return [head, sep, ...lines].join('\n');
}
