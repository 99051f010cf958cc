import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { bench, type BenchResult, type BenchRow, compare, defineBench, kernelProfile } from '@tessera/tensor-core/bench';
import { type FastWeights, fastWeightApply, fastWeightUpdate } from '../src/lact/index.js';

/** One measured configuration: head dim D (= Dk = Dv), fast hidden size Dh, chunk length L, and what it stands for. */
interface Case {
  d: number;
  dh: number;
  l: number;
  what: string;
  /** Whether to time forward + backward too (autodiff keeps every intermediate: skipped at the longest chunk). */
  backward: boolean;
}

/**
 * The authors' sizes (tttLRM configs/dl3dv_*.yaml and LaCT lact_l24_d768_ttt4x / _ttt2x): one fast-weight head of
 * dim 768 (head_dim 768 = model dim), hidden 4·768 = 3072 (2·768 = 1536 in ttt2x); 8×8 patches, so a 536×960 view is
 * 67·120 = 8040 tokens and tttLRM's autoregressive chunk of 4 views is 32160 tokens; our 256² views are 1024 tokens.
 * Quick, and every cpu/wasm run (one update at the authors' sizes is ~1 TFLOP there): a head of 64 with hidden 256.
 */
function cases(size: 'full' | 'quick', backend: string): Case[] {
  return size === 'full' && backend === 'webgpu'
    ? [
        { d: 768, dh: 3072, l: 1024, what: 'one 256² view', backward: true },
        { d: 768, dh: 3072, l: 4096, what: 'four 256² views', backward: true },
        { d: 768, dh: 3072, l: 8040, what: 'one 536×960 view', backward: true },
        { d: 768, dh: 1536, l: 8040, what: 'one 536×960 view, ttt2x', backward: false },
        { d: 768, dh: 3072, l: 32160, what: 'tttLRM AR chunk (4 views at 536×960)', backward: false },
      ]
    : [
        { d: 64, dh: 256, l: 256, what: 'quick', backward: true },
        { d: 64, dh: 256, l: 1024, what: 'quick', backward: false },
      ];
}

/** FLOPs of the closed-form chunk gradient (authors' count: forward with k 4·D·Dh·L, backward 8·D·Dh·L). */
const gradientFlops = (c: Case): number => 12 * c.d * c.dh * c.l;

/** FLOPs of `steps` Newton–Schulz steps on the three D×Dh matrices (m = min side: X·Xᵀ, A·A, B·X per step). */
const newtonSchulzFlops = (c: Case, steps: number): number => {
  const [m, n] = [Math.min(c.d, c.dh), Math.max(c.d, c.dh)];
  return 3 * steps * (4 * m * m * n + 2 * m * m * m);
};

/** FLOPs of an apply on L queries: q·w0, q·w2 (2·2·D·Dh·L) and h·w1 (2·D·Dh·L). */
const applyFlops = (c: Case): number => 6 * c.d * c.dh * c.l;

function inputs(c: Case): { W: FastWeights; k: Tensor; v: Tensor; lr: Tensor; q: Tensor } {
  return tf.tidy(() => {
    const unit = (t: Tensor): Tensor => tf.div(t, tf.norm(t, 'euclidean', -1, true));
    const init = (rows: number, cols: number, seed: number): Tensor =>
      philoxUniform([1, 1, rows, cols], { seed, low: -Math.sqrt(6 / rows), high: Math.sqrt(6 / rows) });
    return {
      W: { w0: init(c.d, c.dh, 1), w1: init(c.dh, c.d, 2), w2: init(c.d, c.dh, 3) },
      k: unit(philoxUniform([1, 1, c.l, c.d], { seed: 4, low: -1, high: 1 })),
      v: philoxUniform([1, 1, c.l, c.d], { seed: 5, low: -1, high: 1 }),
      lr: philoxUniform([1, 1, c.l, 3], { seed: 6, low: 0.005, high: 0.02 }),
      q: unit(philoxUniform([1, 1, c.l, c.d], { seed: 7, low: -1, high: 1 })),
    };
  });
}

/** The six L-sized matmuls of the closed-form gradient alone (no elementwise work, no Newton–Schulz, no rescale). */
function gradientMatmuls(W: FastWeights, k: Tensor, v: Tensor): Tensor[] {
  return tf.tidy(() => {
    const g = tf.matMul(k, W.w0);
    const u = tf.matMul(k, W.w2);
    const dh = tf.matMul(v, W.w1, false, true);
    return [tf.matMul(k, g, true, false), tf.matMul(g, v, true, false), tf.matMul(k, tf.add(u, dh), true, false)];
  });
}

/** The three matmuls of an apply alone. */
function applyMatmuls(W: FastWeights, q: Tensor): Tensor {
  return tf.tidy(() => tf.matMul(tf.mul(tf.matMul(q, W.w0), tf.matMul(q, W.w2)), W.w1));
}

/** Timing for a call of tens to hundreds of ms: fixed rounds, one call each. */
const SLOW = { warmup: 1, warmupMs: 0, rounds: 5, iterations: 1 };

/**
 * LaCT's fast-weight ops as tfjs composites (no WGSL yet; the issue asks for kernels where a benchmark shows they pay
 * off, and this file is that benchmark): per chunk size, `fastWeightUpdate` (closed-form chunk gradient, 5
 * Newton–Schulz steps, column rescale) and `fastWeightApply` against their bare matmuls (the floor a fused kernel
 * could approach; ratio < 1 is the composite's overhead), the update without Newton–Schulz against with it (its
 * cost), and update + apply with a backward (training) against the forward. The log prints tokens/s of update +
 * apply. Full on WebGPU: the authors' head (768, hidden 3072) at 1024–32160 tokens; otherwise 64/256 at 256 and 1024.
 */
export default defineBench({
  name: 'lact',
  async run({ backend, size, log }) {
    const rows: BenchRow[] = [];
    for (const c of cases(size, backend)) {
      const shape = `D=${c.d} Dh=${c.dh} L=${c.l}`;
      log(`lact ${shape} (${c.what})`);
      const { W, k, v, lr, q } = inputs(c);
      const update = await bench('fastWeightUpdate', () => fastWeightUpdate(W, k, v, lr), SLOW);
      const floor = await bench('gradient matmuls', () => gradientMatmuls(W, k, v), SLOW);
      rows.push(
        compare('fastWeightUpdate (muonSteps 5)', shape, 'its 6 matmuls alone', floor, update, {
          flops: gradientFlops(c) + newtonSchulzFlops(c, 5),
        }),
      );
      // where the update's time goes, program by program (GPU time from timestamp queries on WebGPU), at four views
      if (c.l === 4096 && backend === 'webgpu') {
        rows.push(...(await kernelProfile('fastWeightUpdate', shape, () => fastWeightUpdate(W, k, v, lr), { by: 'program', top: 10 })));
      }
      const plain = await bench('fastWeightUpdate muonSteps 0', () => fastWeightUpdate(W, k, v, lr, { muonSteps: 0 }), SLOW);
      rows.push(compare('fastWeightUpdate (muonSteps 5)', shape, 'muonSteps 0', plain, update));
      const apply = await bench('fastWeightApply', () => fastWeightApply(W, q), SLOW);
      const applyFloor = await bench('apply matmuls', () => applyMatmuls(W, q), SLOW);
      rows.push(compare('fastWeightApply', shape, 'its 3 matmuls alone', applyFloor, apply, { flops: applyFlops(c) }));
      const both: BenchResult = await bench('update + apply', () => tf.tidy(() => fastWeightApply(fastWeightUpdate(W, k, v, lr), q)), SLOW);
      log(`  update + apply ${both.median.toFixed(2)} ms: ${Math.round((c.l / both.median) * 1000).toLocaleString('en')} tokens/s`);
      if (c.backward) {
        const r = philoxUniform([1, 1, c.l, c.d], { seed: 8, low: -1, high: 1 });
        const loss = (w0: Tensor, w1: Tensor, w2: Tensor, kk: Tensor, vv: Tensor, rates: Tensor, qq: Tensor): Tensor =>
          tf.sum(tf.mul(fastWeightApply(fastWeightUpdate({ w0, w1, w2 }, kk, vv, rates), qq), r));
        const grads = tf.grads(loss);
        const train = await bench('update + apply, forward + backward', () => grads([W.w0, W.w1, W.w2, k, v, lr, q]), SLOW);
        rows.push(compare('update + apply, forward + backward', shape, 'update + apply forward', both, train));
        r.dispose();
      }
      tf.dispose([W, k, v, lr, q]);
    }
    return rows;
  },
});
