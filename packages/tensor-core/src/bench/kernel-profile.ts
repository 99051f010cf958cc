import type { TensorContainer } from '@tensorflow/tfjs-core';
import { checkFunction, checkRange } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';
import { sync } from './bench.js';
import type { BenchResult } from './bench.js';
import type { BenchRow } from './report.js';

const PROFILE_OPTIONS = ['top', 'by'] as const;

export interface KernelProfileOptions {
  /** Rows for the most expensive groups, at most this many (the rest are summed into one 'other' row). Default 12. */
  top?: number;
  /**
   * 'kernel': group by the tfjs kernel name (a Tessera op's programs count under its kernel); 'program': by the WGSL
   * program (its class name, as tfjs' WebGPU backend reports it), where the backend times programs. Default 'kernel'.
   */
  by?: 'kernel' | 'program';
}

interface ProfiledKernel {
  name: string;
  kernelTimeMs: number | { error: string } | Promise<number | { error: string }>;
  extraInfo?: string | Promise<string>;
}

/**
 * Where one call of `fn` spends its time, kernel by kernel: tfjs' profiler times every kernel (on WebGPU with
 * timestamp queries, so GPU time, where the adapter has `timestamp-query`; elsewhere wall time per kernel), and the
 * groups become rows `workload: '<label>: <group>'` whose baseline is the whole call's summed kernel time — the
 * speedup column then reads 1 / share. One untimed call first compiles the pipelines. Profiling adds a sync per
 * kernel, so the sum exceeds a plain `bench` of the call; read the shares, not the sum, and time the call with `bench`.
 */
export async function kernelProfile(
  label: string,
  shape: string,
  fn: () => TensorContainer,
  opts: KernelProfileOptions = {},
): Promise<BenchRow[]> {
  if (typeof label !== 'string') throw new ValueError(`label: expected a string, received ${describeValue(label)}`);
  if (typeof shape !== 'string') throw new ValueError(`shape: expected a string, received ${describeValue(shape)}`);
  checkFunction(fn, 'fn');
  checkOptions(opts, PROFILE_OPTIONS);
  if (opts.top !== undefined) checkRange(opts.top, { min: 1, max: 1000, integer: true }, 'opts.top');
  if (opts.by !== undefined && opts.by !== 'kernel' && opts.by !== 'program') {
    throw new ValueError(`opts.by: expected 'kernel' or 'program', received ${describeValue(opts.by)}`);
  }
  const top = opts.top ?? 12;
  const warm = fn();
  await sync(warm);
  tf.dispose(warm);
  const info = await tf.profile(() => {
    tf.dispose(fn());
  });
  const groups = new Map<string, { ms: number; count: number }>();
  const add = (name: string, ms: number): void => {
    const g = groups.get(name) ?? { ms: 0, count: 0 };
    g.ms += ms;
    g.count++;
    groups.set(name, g);
  };
  for (const k of info.kernels as unknown as ProfiledKernel[]) {
    const time = await k.kernelTimeMs;
    const ms = typeof time === 'number' ? time : 0;
    const extra = (await k.extraInfo) ?? '';
    // tfjs' WebGPU backend lists the timed programs as "Name: ms, Name: ms"
    const programs = opts.by === 'program' ? [...extra.matchAll(/([A-Za-z0-9_$]+): ([0-9.eE+-]+)/g)] : [];
    if (programs.length > 0) for (const [, name, t] of programs) add(name as string, Number(t));
    else add(k.name, ms);
  }
  const total = [...groups.values()].reduce((s, g) => s + g.ms, 0);
  if (!(total > 0)) return [];
  const result = (name: string, ms: number, count: number): BenchResult => ({
    name,
    median: ms,
    min: ms,
    max: ms,
    iterations: count,
    rounds: 1,
  });
  const whole = result(`${label} (sum of kernel times)`, total, info.kernels.length);
  const sorted = [...groups.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const rows: BenchRow[] = [];
  const row = (name: string, ms: number, count: number): void => {
    if (ms > 0) {
      rows.push({
        workload: `${label}: ${name}`,
        shape,
        baselineName: whole.name,
        ours: result(name, ms, count),
        baseline: whole,
        speedup: total / ms,
      });
    }
  };
  for (const [name, g] of sorted.slice(0, top)) row(`${name} ×${g.count}`, g.ms, g.count);
  const rest = sorted.slice(top);
  if (rest.length > 0) {
    row(
      `${rest.length} other kernels`,
      rest.reduce((s, [, g]) => s + g.ms, 0),
      rest.reduce((s, [, g]) => s + g.count, 0),
    );
  }
  return rows;
}
