import { philoxUniform, scalarUniforms, softmax, type Tensor, tf } from '@tessera/tensor-core';
import { type BenchResult, type BenchRow, bench, compare, defineBench, runProgram } from '@tessera/tensor-core/bench';
import { sparsemax, topK, topP } from '../src/closed-forms/index.js';
import { SPARSEMAX_BISECT_ITERATIONS, sparsemaxBisectOp, truncatedSoftmaxOp } from '../src/closed-forms/op.js';
import { radixGrid } from '../src/closed-forms/radix-layout.js';
import { type RadixSearch, type RadixStep, radixInputs, radixSteps, SPARSEMAX_SEARCH } from '../src/closed-forms/radix-select.js';
import { RadixCutProgram } from '../src/closed-forms/radix-select.program.js';
import type { AdvanceLoads, RadixMode } from '../src/closed-forms/radix-select.wgsl.js';
import { shiftedScores } from '../src/closed-forms/support.js';
import { TruncatedSoftmaxProgram } from '../src/closed-forms/truncated.program.js';
import { SelectProgram } from '../src/fused/select.program.js';
import { keptLogitWeights } from '../src/fused/weights.js';

const TEMPERATURE = 0.8;
const P = 0.9;
const K = 50;

/** The textbook tfjs sparsemax: sort, prefix sums, support size, threshold — all plain tfjs ops. */
function sparsemaxComposite(s: Tensor): Tensor {
  return tf.tidy(() => {
    const vocab = s.shape[1] as number;
    const sorted = tf.topk(s, vocab).values;
    const inSupport = tf.cast(tf.greater(tf.add(tf.mul(tf.range(1, vocab + 1), sorted), 1), tf.cumsum(sorted, 1)), 'float32');
    const tau = tf.div(tf.sub(tf.sum(tf.mul(sorted, inSupport), 1, true), 1), tf.sum(inSupport, 1, true));
    return tf.relu(tf.sub(s, tau));
  });
}

/** The usual tfjs top-p: sort, softmax, cumsum, threshold at the last kept logit, masked softmax. */
function topPComposite(s: Tensor): Tensor {
  return tf.tidy(() => {
    const z = tf.div(s, TEMPERATURE);
    const sorted = tf.topk(z, z.shape[1] as number).values;
    const probs = tf.softmax(sorted);
    const kept = tf.less(tf.sub(tf.cumsum(probs, 1), probs), P);
    const cut = tf.min(tf.where(kept, sorted, tf.fill(sorted.shape, Number.POSITIVE_INFINITY)), 1, true);
    return tf.softmax(tf.where(tf.greaterEqual(z, cut), z, tf.fill(z.shape, Number.NEGATIVE_INFINITY)));
  });
}

/**
 * The two programs of the sort-free top-p kernel, each timed alone (WebGPU): the selection ('cut'
 * flavour of the fused sampler's SelectProgram, one workgroup per row) and the split write of q.
 */
async function topPPasses(s: Tensor, shape: string, whole: BenchResult): Promise<BenchRow[]> {
  const [b, v] = s.shape as [number, number];
  const selectUniforms = [...scalarUniforms('int32', [v, 0]), ...scalarUniforms('float32', [TEMPERATURE, P, 0])];
  // a fresh program per call: a reused one would be recompiled every time (see runProgram)
  const select = () => runProgram(new SelectProgram(b, 'cut'), [s], selectUniforms, 'int32');
  const params = select();
  const source = keptLogitWeights(TEMPERATURE, 0);
  const write = () =>
    runProgram(new TruncatedSoftmaxProgram(b, v, source), [s, params], [...scalarUniforms('int32', [v]), ...source.uniformData]);
  const rows = [
    compare('topP select pass', shape, 'whole topP', whole, await bench('topP select pass', select)),
    compare('topP write pass', shape, 'whole topP', whole, await bench('topP write pass', write), { bytes: 2 * 4 * b * v }),
  ];
  params.dispose();
  return rows;
}

/**
 * The programs of the radix select (radix-select.ts), each timed alone (WebGPU) against `whole`, the op
 * on the radix path: histogram passes 0…3 (grid B · splits; each reads the logits once, pass 0 twice, the
 * second time from cache) and the per-row cut program (B workgroups). The write pass is as in `topPPasses`.
 */
async function radixPasses(
  label: string,
  input: Tensor,
  shape: string,
  whole: BenchResult,
  search: RadixSearch,
  mode: RadixMode,
): Promise<BenchRow[]> {
  const [b, v] = input.shape as [number, number];
  const grid = radixGrid(b, v);
  // a fresh program per call: a reused one would be recompiled every time (see runProgram)
  const steps = () => radixSteps(b, v, grid, search, mode, false);
  const last = steps().length - 1;
  const outputs: Tensor[] = [];
  const step = (i: number) => {
    const { program, uniforms } = steps()[i] as RadixStep;
    return runProgram(program, radixInputs(i, last, mode, input, outputs[i - 1], undefined), uniforms, 'int32');
  };
  for (let i = 0; i <= last; i++) outputs.push(step(i));
  const rows: BenchRow[] = [];
  for (let i = 0; i <= last; i++) {
    const name = `${label} radix ${(steps()[i] as RadixStep).name} (${grid.splits} splits)`;
    const extras = i < last ? { bytes: 4 * b * v } : {};
    rows.push(compare(name, shape, `whole ${label}`, whole, await bench(name, () => step(i)), extras));
  }
  // the cut with advance's mass loads under the count test ('lazy') against the default ('eager'), same inputs
  const kind = mode === 'sparse' ? 'sparse' : 'truncated';
  const cutWith = (loads: AdvanceLoads) => () =>
    runProgram(
      new RadixCutProgram(b, kind, loads),
      radixInputs(last, last, mode, input, outputs[last - 1], undefined),
      (steps()[last] as RadixStep).uniforms,
      'int32',
    );
  const eager = await bench('cut, eager loads', cutWith('eager'));
  rows.push(
    compare(`${label} radix cut, lazy loads`, shape, 'eager loads (default)', eager, await bench('cut, lazy loads', cutWith('lazy'))),
  );
  tf.dispose(outputs);
  return rows;
}

/**
 * Closed-form decoders against their tfjs composites on decoding-sized logits: temperature softmax,
 * sparsemax (sort and sort-free bisection), top-p and top-k. top-p and top-k are also timed against their
 * previous path, the tfjs reference of `truncatedSoftmaxOp` (`tf.topk` over the row, what `topP` and
 * `topK` ran before the sort-free kernels), and on WebGPU per pass, for both selections: one workgroup
 * per row and the radix select (each path forced, whatever `useRadixSelect` picks for the shape). Bytes:
 * one read of the logits and one write of q (a radix pass: one read).
 */
export default defineBench({
  name: 'closed-forms',
  async run({ size, log }) {
    const shapes: [number, number][] =
      size === 'full'
        ? [
            [1, 131072],
            [64, 131072],
            [256, 131072],
          ]
        : [[4, 8192]];
    const rows: BenchRow[] = [];
    for (const [b, v] of shapes) {
      const s = philoxUniform([b, v], { seed: 7, low: -10, high: 10 });
      const shape = `${b}x${v}`;
      const bytes = 2 * 4 * b * v;

      log(`softmax ${shape}`);
      const baseSoftmax = await bench('tf.softmax(s/T)', () => tf.tidy(() => tf.softmax(tf.div(s, TEMPERATURE))));
      const oursSoftmax = await bench('softmax', () => softmax(s, { temperature: TEMPERATURE }));
      rows.push(compare('softmax', shape, 'tf.softmax(s/T)', baseSoftmax, oursSoftmax, { bytes }));

      log(`sparsemax ${shape}`);
      const baseSparse = await bench('tfjs sparsemax (topk + cumsum)', () => sparsemaxComposite(s));
      const sorted = await bench('sparsemax sort', () => sparsemax(s, { method: 'sort' }));
      const bisected = await bench('sparsemax bisect', () => sparsemax(s, { method: 'bisect' }));
      rows.push(compare('sparsemax (sort)', shape, 'tfjs topk + cumsum', baseSparse, sorted, { bytes }));
      rows.push(compare('sparsemax (bisect)', shape, 'tfjs topk + cumsum', baseSparse, bisected, { bytes }));
      if (tf.getBackend() === 'webgpu') {
        const z = tf.tidy(() => shiftedScores(s, 1));
        const sparseOp = (select: 'row' | 'split') => () => sparsemaxBisectOp({ z }, { iterations: SPARSEMAX_BISECT_ITERATIONS, select });
        const sparseRow = await bench('sparsemax op, one workgroup per row', sparseOp('row'));
        const sparseSplit = await bench('sparsemax op, radix select', sparseOp('split'));
        rows.push(
          compare('sparsemax op (radix select)', shape, 'sparsemax op (bisection, one workgroup per row)', sparseRow, sparseSplit, {
            bytes,
          }),
        );
        rows.push(...(await radixPasses('sparsemax', z, shape, sparseSplit, SPARSEMAX_SEARCH, 'sparse')));
        z.dispose();
      }

      log(`topP ${shape}`);
      const baseTopP = await bench('tfjs top-p (topk + softmax + cumsum)', () => topPComposite(s));
      const oursTopP = await bench('topP', () => topP(s, { p: P, temperature: TEMPERATURE }));
      const sortedTopP = await bench('topP, tf.topk reference', () =>
        truncatedSoftmaxOp.reference({ logits: s }, { temperature: TEMPERATURE, k: 0, p: P }),
      );
      rows.push(compare('topP', shape, 'tfjs topk + softmax + cumsum', baseTopP, oursTopP, { bytes }));
      rows.push(compare('topP', shape, 'previous topP (tf.topk reference)', sortedTopP, oursTopP, { bytes }));
      if (tf.getBackend() === 'webgpu') {
        rows.push(...(await topPPasses(s, shape, oursTopP)));
        const topPOp = (select: 'row' | 'split') => () =>
          truncatedSoftmaxOp({ logits: s }, { temperature: TEMPERATURE, k: 0, p: P, select });
        const topPRow = await bench('topP, one workgroup per row', topPOp('row'));
        const topPSplit = await bench('topP, radix select', topPOp('split'));
        rows.push(compare('topP (radix select)', shape, 'topP (one workgroup per row)', topPRow, topPSplit, { bytes }));
        rows.push(...(await radixPasses('topP', s, shape, topPSplit, { temperature: TEMPERATURE, k: 0, p: P }, 'mass')));
      }

      log(`topK ${shape}`);
      const oursTopK = await bench('topK', () => topK(s, { k: K, temperature: TEMPERATURE }));
      const sortedTopK = await bench('topK, tf.topk reference', () =>
        truncatedSoftmaxOp.reference({ logits: s }, { temperature: TEMPERATURE, k: K, p: 1 }),
      );
      rows.push(compare(`topK ${K}`, shape, 'previous topK (tf.topk reference)', sortedTopK, oursTopK, { bytes }));
      if (tf.getBackend() === 'webgpu') {
        const topKOp = (select: 'row' | 'split') => () =>
          truncatedSoftmaxOp({ logits: s }, { temperature: TEMPERATURE, k: K, p: 1, select });
        const topKRow = await bench('topK, one workgroup per row', topKOp('row'));
        const topKSplit = await bench('topK, radix select', topKOp('split'));
        rows.push(compare(`topK ${K} (radix select)`, shape, `topK ${K} (one workgroup per row)`, topKRow, topKSplit, { bytes }));
        rows.push(...(await radixPasses(`topK ${K}`, s, shape, topKSplit, { temperature: TEMPERATURE, k: K, p: 1 }, 'count')));
      }
      s.dispose();
    }
    return rows;
  },
});
