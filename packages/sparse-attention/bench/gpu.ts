/**
 * Entry bundled by ../shared/gpu/pack.sh for the lent GPU: a correctness probe of the WGSL kernels on the
 * device (against the tfjs composite), then this package's suite on WebGPU at full size.
 *   bash .gpu/run.sh gpu --json $OUT/sparse-attention.json [--size quick]
 */
import { deviceZeros, initBackend, philoxUniform, type Tensor, type TensorInfo, tf } from '@tessera/tensor-core';
import { bench, runProgram } from '@tessera/tensor-core/bench';
import { parseArgs, runSuites } from '../../../tooling/bench/src/run-suites.js';
import { FlashBackwardDkvProgram } from '../src/flash/backward-dkv.program.js';
import { FlashBackwardDqProgram } from '../src/flash/backward-dq.program.js';
import { FlashDeltaProgram } from '../src/flash/delta.program.js';
import { FlashForwardProgram } from '../src/flash/forward.program.js';
import { backwardTile } from '../src/flash/tile.js';
import { keyWorkgroups } from '../src/flash/layout.js';
import { scalarUniforms } from '@tessera/tensor-core';
import { type FlashGeometry, flashUniforms, queryWorkgroups } from '../src/flash/layout.js';
import type { FlashTile } from '../src/flash/tile.js';
import { attention, BlockMask, blockSparseAttention } from '../src/index.js';
import { flashReference } from '../src/flash/index.js';
import { blockScoresOp, selectListsOp } from '../src/masks/op.js';
import suite from './attention.bench.js';

async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0] as number;
  d.dispose();
  return v;
}

async function probe(): Promise<void> {
  await initBackend('webgpu');
  const limits = (tf.backend() as unknown as { device: GPUDevice }).device.limits;
  console.log(
    `device limits: workgroup storage ${limits.maxComputeWorkgroupStorageSize} B, invocations ${limits.maxComputeInvocationsPerWorkgroup}, storage buffers/stage ${limits.maxStorageBuffersPerShaderStage}, binding ${limits.maxStorageBufferBindingSize} B`,
  );
  const [h, l, d] = [8, 2048, 64];
  const q = philoxUniform([1, h, l, d], { seed: 1, low: -1, high: 1 });
  const k = philoxUniform([1, h, l, d], { seed: 2, low: -1, high: 1 });
  const v = philoxUniform([1, h, l, d], { seed: 3, low: -1, high: 1 });
  const dense = tf.tidy(() => tf.greater(philoxUniform([1, h, l / 128, l / 64], { seed: 4 }), 0.8));
  const mask = BlockMask.fromDense(dense, { blockSize: [128, 64] });
  for (const causal of [false, true]) {
    const attrs = { causal, sparse: true, scale: 1 / 8, bq: 128, bk: 64 };
    const lists = { kvNum: mask.kvNumBlocks, kvIdx: mask.kvIndices, qNum: mask.qNumBlocks, qIdx: mask.qIndices };
    const [ref] = flashReference({ q, k, v, ...lists }, attrs) as [Tensor];
    const ours = blockSparseAttention(q, k, v, mask, { causal });
    const [refDense] = flashReference({ q, k, v, ...lists }, { ...attrs, sparse: false }) as [Tensor];
    const oursDense = attention(q, k, v, { causal });
    console.log(
      `probe causal=${causal}: max |sparse − ref| ${await maxDiff(ours, ref)}, max |dense − ref| ${await maxDiff(oursDense, refDense)}`,
    );
    tf.dispose([ref, ours, refDense, oursDense]);
  }
  // mask construction: the fused WGSL scores and lists against the tfjs composite (same scores in, for the lists)
  for (const causal of [false, true]) {
    const attrs = { bq: 128, bk: 64, causal, scale: 1 / 8 };
    const ours = blockScoresOp({ q, k }, attrs);
    const ref = blockScoresOp.reference({ q, k }, attrs);
    const rule = { k: 1, pBefore: 0.2, pThrough: -1 };
    const lists = selectListsOp({ scores: ref }, rule);
    const refLists = selectListsOp.reference({ scores: ref }, rule);
    const mismatches = await Promise.all(
      lists.map(async (t, i) => {
        const [a, b] = await Promise.all([t.data(), (refLists[i] as Tensor).data()]);
        return Array.from(a).filter((x, j) => x !== b[j]).length;
      }),
    );
    console.log(
      `probe mask causal=${causal}: max |blockScores − ref| ${(await maxDiff(ours, ref)).toExponential(2)}, hybrid lists entries ≠ ref (kvIdx, kvNum, qIdx, qNum) ${mismatches.join(', ')}`,
    );
    tf.dispose([ours, ref, ...lists, ...refLists]);
  }
  // gradients: the WGSL backward against autodiff of the tfjs composite, on 1024 positions
  const n = 1024;
  const [qs, ks, vs, w] = [q, k, v, q].map((t) => tf.slice(t, [0, 0, 0, 0], [1, h, n, d])) as [Tensor, Tensor, Tensor, Tensor];
  const small = tf.tidy(() => tf.greater(philoxUniform([1, h, n / 128, n / 64], { seed: 7 }), 0.6));
  const smallMask = BlockMask.fromDense(small, { blockSize: [128, 64] });
  const sl = { kvNum: smallMask.kvNumBlocks, kvIdx: smallMask.kvIndices, qNum: smallMask.qNumBlocks, qIdx: smallMask.qIndices };
  for (const causal of [false, true]) {
    for (const sparse of [false, true]) {
      const attrs = { causal, sparse, scale: 1 / 8, bq: 128, bk: 64 };
      const f = (a: Tensor, b: Tensor, c: Tensor) =>
        sparse ? blockSparseAttention(a, b, c, smallMask, { causal }) : attention(a, b, c, { causal });
      const ours = tf.grads(f)([qs, ks, vs], w);
      const ref = tf.grads((a: Tensor, b: Tensor, c: Tensor) => flashReference({ q: a, k: b, v: c, ...sl }, attrs)[0] as Tensor)(
        [qs, ks, vs],
        w,
      );
      const diffs = await Promise.all(ours.map((g, i) => maxDiff(g, ref[i] as Tensor)));
      console.log(
        `probe gradients ${sparse ? 'sparse' : 'dense'} causal=${causal}: max |dq, dk, dv − ref| ${diffs.map((x) => x.toExponential(2)).join(', ')}`,
      );
      tf.dispose([...ours, ...ref]);
    }
  }
  tf.dispose([q, k, v, dense, qs, ks, vs, w, small]);
  smallMask.dispose();
  mask.dispose();
}

const flat = (t: Tensor): TensorInfo => ({ dataId: t.dataId, shape: [t.size], dtype: t.dtype });

/** FLASH_PROBE=1: the forward program alone, per tile variant, dense and 95% sparse (ms and TFLOP/s). */
async function tiles(): Promise<void> {
  const [h, d] = [8, 64];
  const variants: FlashTile[] = [
    { tq: 64, tk: 32, dp: 64, splitKv: true },
    { tq: 64, tk: 16, dp: 64, splitKv: false },
  ];
  for (const l of [4096, 16384]) {
    const q = philoxUniform([1, h, l, d], { seed: 1, low: -1, high: 1 });
    const k = philoxUniform([1, h, l, d], { seed: 2, low: -1, high: 1 });
    const v = philoxUniform([1, h, l, d], { seed: 3, low: -1, high: 1 });
    const dense = tf.tidy(() => tf.greater(philoxUniform([1, h, l / 128, l / 64], { seed: 4 }), 0.95));
    const mask = BlockMask.fromDense(dense, { blockSize: [128, 64] });
    const kept = 1 - ((await mask.sparsity.data())[0] as number);
    const stand = deviceZeros([2], 'int32');
    for (const sparse of [false, true]) {
      const g: FlashGeometry = { heads: h, lq: l, lk: l, d, causal: false, sparse, bq: 128, bk: 64, scale: 0.125 };
      const lists = sparse ? [mask.kvNumBlocks, mask.kvIndices] : [stand, stand];
      for (const tile of variants) {
        const r = await bench('fwd', () =>
          runProgram(
            new FlashForwardProgram(h, l, d, tile, queryWorkgroups(g, tile.tq)),
            [q, k, v, ...lists].map(flat),
            flashUniforms(g, tile.tq, tile.tk),
          ),
        );
        const flops = 4 * h * l * l * d * (sparse ? kept : 1);
        console.log(
          `L ${l} ${sparse ? `sparse (kept ${kept.toFixed(3)})` : 'dense'} tile ${tile.tq}x${tile.tk}${tile.splitKv ? ' split' : ''}: ${r.median.toFixed(3)} ms, ${(flops / r.median / 1e9).toFixed(2)} TFLOP/s`,
        );
      }
    }
    const w = philoxUniform([1, h, l, d], { seed: 5, low: -1, high: 1 });
    // the backward programs one by one
    const bt = backwardTile(d);
    const lse = philoxUniform([1, h, l], { seed: 6, low: 5, high: 6 });
    for (const sparse of [false, true]) {
      const g: FlashGeometry = { heads: h, lq: l, lk: l, d, causal: false, sparse, bq: 128, bk: 64, scale: 0.125 };
      const u = flashUniforms(g, bt.tq, bt.tk);
      const stats = runProgram(new FlashDeltaProgram(h * l), [w, v, lse, lse].map(flat), scalarUniforms('int32', [h * l, d]));
      const fwdLists = sparse ? [mask.kvNumBlocks, mask.kvIndices] : [stand, stand];
      const bwdLists = sparse ? [mask.qNumBlocks, mask.qIndices] : [stand, stand];
      const delta = await bench('delta', () =>
        runProgram(new FlashDeltaProgram(h * l), [w, v, lse, lse].map(flat), scalarUniforms('int32', [h * l, d])),
      );
      const dq = await bench('dq', () =>
        runProgram(new FlashBackwardDqProgram(h, l, d, bt, queryWorkgroups(g, bt.tq)), [q, k, v, w, stats, ...fwdLists].map(flat), u),
      );
      const dkv = await bench('dkv', () =>
        runProgram(new FlashBackwardDkvProgram(h, l, d, bt, keyWorkgroups(g, bt.tk)), [q, k, v, w, stats, ...bwdLists].map(flat), u),
      );
      console.log(
        `L ${l} ${sparse ? 'sparse' : 'dense'} backward programs: delta ${delta.median.toFixed(3)} ms, dq ${dq.median.toFixed(3)} ms, dkv ${dkv.median.toFixed(3)} ms`,
      );
      stats.dispose();
    }
    lse.dispose();
    for (const sparse of [false, true]) {
      const f = (a: Tensor, b: Tensor, c: Tensor) => (sparse ? blockSparseAttention(a, b, c, mask) : attention(a, b, c));
      // an explicit cotangent: tf.sum's own gradient uploads a host-made tensor of ones as large as the output
      const r = await bench('fwd+bwd', () => tf.grads((a: Tensor, b: Tensor, c: Tensor) => f(a, b, c))([q, k, v], w), {
        warmup: 1,
        rounds: 3,
      });
      const flops = 3.5 * 4 * h * l * l * d * (sparse ? kept : 1);
      console.log(
        `L ${l} ${sparse ? 'sparse' : 'dense'} fwd+bwd: ${r.median.toFixed(3)} ms, ${(flops / r.median / 1e9).toFixed(2)} TFLOP/s`,
      );
    }
    tf.dispose([q, k, v, w, dense, stand]);
    mask.dispose();
  }
}

if (process.env.FLASH_PROBE === '1') {
  await probe();
  await tiles();
  process.exit(0);
}
const args = parseArgs(process.argv.slice(2));
await probe();
await runSuites([suite], { backend: 'webgpu', size: 'full', ...args });
