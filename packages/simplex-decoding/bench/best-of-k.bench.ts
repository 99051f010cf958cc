import { philoxUniform, softmax } from '@tessera/tensor-core';
import { bench, compare, defineBench, type BenchRow } from '@tessera/tensor-core/bench';
import { bestOfK } from '../src/best-of-k/index.js';
import { logSpaceRows } from '../src/best-of-k/log-space.js';
import { bindBestOfK, resolveBestOfK } from '../src/best-of-k/validate.js';
import { bestOfKReference } from '../src/best-of-k/reference.js';

/**
 * Best-of-K with the paper's 5 mirror-ascent steps (medium preset, K = 8, top-2K weights) against one
 * Tessera softmax pass (the target: ≤ 3× its time), against the general log-space iteration that
 * 'prob' and user weights take (the top-r path before the fused kernels) and against Algorithm 1 composed
 * of plain tfjs ops. Traffic on WebGPU, in reads/writes of [B, V] float32: softmax 2 + 1 in 2 dispatches;
 * fused top-r 2 + 1 in 3 (chunk records 1 read, merge and solve only the small records, write 1 + 1);
 * log-space 3 + 6J + 1 passes in 3J + 4 dispatches.
 */
export default defineBench({
  name: 'best-of-k',
  async run({ size, log }) {
    const shapes: [number, number][] =
      size === 'full'
        ? [
            [1, 131072],
            [64, 131072],
            [256, 131072],
          ]
        : [
            [1, 32768],
            [16, 32768],
          ];
    const opts = { k: 8, preset: 'medium', steps: 5 } as const;
    const rows: BenchRow[] = [];
    for (const [b, v] of shapes) {
      const x = philoxUniform([b, v], { seed: 3, low: -10, high: 10 });
      const shape = `${b}x${v}`;
      // the least traffic any decoder needs: read the logits once, write q once
      const bytes = 2 * 4 * b * v;
      const settings = bindBestOfK(resolveBestOfK(opts), b, v);
      log(`best-of-k ${shape}`);
      const ours = await bench('bestOfK', () => bestOfK(x, opts));
      const pass = await bench('softmax', () => softmax(x));
      rows.push(compare('bestOfK (5 steps)', shape, 'softmax (one pass)', pass, ours, { bytes }));
      const general = await bench('log-space iteration', () => logSpaceRows(x, settings));
      rows.push(compare('bestOfK (5 steps)', shape, 'log-space iteration', general, ours, { bytes }));
      const composite = await bench('tfjs Algorithm 1', () => bestOfKReference(x, settings));
      rows.push(compare('bestOfK (5 steps)', shape, 'tfjs composite', composite, ours, { bytes }));
      x.dispose();
    }
    return rows;
  },
});
