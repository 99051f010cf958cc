import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, kernelProfile } from '@tessera/tensor-core/bench';
import { attention, BlockMask, blockScores, blockSparseAttention, hybridMask } from '../src/index.js';
import { flashOp } from '../src/flash/index.js';
import type { FlashAttrs } from '../src/flash/reference.js';
import { blockScoresOp } from '../src/masks/op.js';
import { ceilFraction, selectBlocks, toBlockMask } from '../src/masks/select.js';

/** The tfjs composite materialises B·H·L² floats; beyond this length one buffer exceeds what WebGPU binds. */
const MAX_COMPOSITE_L = 4096;
const SPARSITIES = [0, 0.5, 0.9, 0.95];

/** softmax(QKᵀ/√d) V as tfjs composes it. */
function composite(q: Tensor, k: Tensor, v: Tensor): Tensor {
  return tf.tidy(() => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(q.shape[3] as number))), v));
}

/** A random block mask keeping about 1 − sparsity of the blocks, and always the diagonal block (no empty rows). */
function randomMask(b: number, h: number, l: number, bq: number, bk: number, sparsity: number, seed: number): BlockMask {
  const nq = Math.ceil(l / bq);
  const nk = Math.ceil(l / bk);
  const dense = tf.tidy(() => {
    const keep = tf.less(philoxUniform([b, h, nq, nk], { seed }), 1 - sparsity);
    const diagonal = tf.equal(
      tf.reshape(tf.floorDiv(tf.mul(tf.range(0, nq, 1, 'int32'), bq), bk), [1, 1, nq, 1]),
      tf.reshape(tf.range(0, nk, 1, 'int32'), [1, 1, 1, nk]),
    );
    return tf.logicalOr(keep, diagonal);
  });
  const mask = BlockMask.fromDense(dense, { blockSize: [bq, bk] });
  dense.dispose();
  return mask;
}

/**
 * The BlockMask's tensors, for the bench to dispose: the lists the forward reads (the mask's whole cost to a
 * forward-only caller), or, with `all`, also the transpose and the sparsity that the mask makes on first
 * access (what a training step pays).
 */
function maskTensors(mask: BlockMask, all = false): Tensor[] {
  const forward = [mask.kvNumBlocks, mask.kvIndices];
  return all ? [...forward, mask.qNumBlocks, mask.qIndices, mask.sparsity] : forward;
}

/** 4·L²·D per head (QKᵀ and PV, a multiply-add counting 2), scaled by the kept fraction. */
function flops(h: number, l: number, d: number, density = 1): number {
  return 4 * h * l * l * d * density;
}

/** The host kernels' shapes on cpu and wasm, whatever the size: a small model's heads (B = 1, H = 4, D = 64). */
const HOST_HEADS = 4;
const HOST_D = 64;
const HOST_LENGTHS = [1024, 4096];
/** Beyond this length the composite's fwd+bwd (several B·H·L² buffers, autodiff) takes minutes per call on the host. */
const MAX_HOST_BACKWARD_L = 1024;

/**
 * cpu and wasm: `attention` and `blockSparseAttention` (90 %, blocks 128 × 64), forward and forward +
 * backward, which run the typed-array kernels, against the op's tfjs composite (`flashOp.reference`:
 * scores, mask bias, softmax, PV — what both ran there before), same attributes.
 */
async function hostRows(log: (message: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const [bq, bk] = [128, 64];
  for (const l of HOST_LENGTHS) {
    const shape = `1x${HOST_HEADS}x${l}x${HOST_D}`;
    const dims = [1, HOST_HEADS, l, HOST_D];
    const q = philoxUniform(dims, { seed: 1, low: -1, high: 1 });
    const k = philoxUniform(dims, { seed: 2, low: -1, high: 1 });
    const v = philoxUniform(dims, { seed: 3, low: -1, high: 1 });
    const w = philoxUniform(dims, { seed: 4, low: -1, high: 1 });
    const stand = tf.zeros([2], 'int32');
    const mask = randomMask(1, HOST_HEADS, l, bq, bk, 0.9, 30 + l);
    const density = 1 - ((await mask.sparsity.data())[0] as number);
    log(`mask ${shape}: achieved sparsity ${(1 - density).toFixed(3)} (the diagonal block is always kept)`);
    const scale = 1 / Math.sqrt(HOST_D);
    // one call is seconds here: no probe call, three rounds of one
    const slow = { warmup: 1, warmupMs: 0, rounds: 3, iterations: 1 };
    const cases: {
      name: string;
      ours: (a: Tensor, b: Tensor, c: Tensor) => Tensor;
      lists: Record<'kvNum' | 'kvIdx' | 'qNum' | 'qIdx', Tensor>;
      attrs: FlashAttrs;
      density: number;
    }[] = [
      {
        name: 'attention (dense)',
        ours: (a: Tensor, b: Tensor, c: Tensor) => attention(a, b, c),
        lists: { kvNum: stand, kvIdx: stand, qNum: stand, qIdx: stand },
        attrs: { causal: false, sparse: false, scale, bq: 1, bk: 1 },
        density: 1,
      },
      {
        name: 'blockSparseAttention (90%)',
        ours: (a: Tensor, b: Tensor, c: Tensor) => blockSparseAttention(a, b, c, mask),
        lists: { kvNum: mask.kvNumBlocks, kvIdx: mask.kvIndices, qNum: mask.qNumBlocks, qIdx: mask.qIndices },
        attrs: { causal: false, sparse: true, scale, bq, bk },
        density,
      },
    ];
    for (const c of cases) {
      const composite = (a: Tensor, b: Tensor, cc: Tensor) => flashOp.reference({ q: a, k: b, v: cc, ...c.lists }, c.attrs)[0] as Tensor;
      log(`${c.name} ${shape}`);
      const ours = await bench(c.name, () => c.ours(q, k, v), slow);
      const base = await bench('tfjs composite', () => composite(q, k, v), slow);
      rows.push(compare(c.name, shape, 'tfjs composite', base, ours, { flops: flops(HOST_HEADS, l, HOST_D, c.density) }));
      if (l > MAX_HOST_BACKWARD_L) continue;
      const grads = (f: (a: Tensor, b: Tensor, c: Tensor) => Tensor) => () => tf.grads(f)([q, k, v], w);
      log(`${c.name} fwd+bwd ${shape}`);
      const oursBwd = await bench(`${c.name} fwd+bwd`, grads(c.ours), slow);
      const baseBwd = await bench('tfjs composite fwd+bwd', grads(composite), slow);
      rows.push(
        compare(`${c.name} fwd+bwd`, shape, 'tfjs composite fwd+bwd', baseBwd, oursBwd, {
          flops: 3.5 * flops(HOST_HEADS, l, HOST_D, c.density),
        }),
      );
    }
    mask.dispose();
    tf.dispose([q, k, v, w, stand]);
  }
  return rows;
}

/**
 * Dense attention (our flash kernel against the tfjs composite), block-sparse attention at sparsity
 * 0/50/90/95% against our dense kernel, mask construction (blockScores + hybridMask) against the sparse
 * kernel it feeds and against the composite path (tfjs scores, dense selection, fromDense), and forward
 * + backward for dense and 95% sparse. B = 1, H = 8, D = 64,
 * L ∈ {4096, 16384, 65536} on the GPU (the shapes); H = 2, D = 32, L ∈ {256, 512} elsewhere.
 * On cpu and wasm, first the typed-array kernels against the composite at a small model's shapes (`hostRows`).
 */
export default defineBench({
  name: 'sparse-attention',
  async run({ backend, size, log }) {
    const rows: BenchRow[] = backend === 'cpu' || backend === 'wasm' ? await hostRows(log) : [];
    const [heads, d] = size === 'full' ? [8, 64] : [2, 32];
    const lengths = size === 'full' ? [4096, 16384, 65536] : [256, 512];
    const [bq, bk] = size === 'full' ? [128, 64] : [64, 32];
    for (const l of lengths) {
      const shape = `1x${heads}x${l}x${d}`;
      const q = philoxUniform([1, heads, l, d], { seed: 1, low: -1, high: 1 });
      const k = philoxUniform([1, heads, l, d], { seed: 2, low: -1, high: 1 });
      const v = philoxUniform([1, heads, l, d], { seed: 3, low: -1, high: 1 });
      const w = philoxUniform([1, heads, l, d], { seed: 4, low: -1, high: 1 });
      const slow = { warmup: 1, warmupMs: 0, rounds: l >= 65536 ? 3 : 5 };
      log(`dense ${shape}`);
      const dense = await bench('attention', () => attention(q, k, v), slow);
      if (l <= MAX_COMPOSITE_L) {
        const base = await bench('tfjs composite', () => composite(q, k, v), slow);
        rows.push(compare('attention (dense flash)', shape, 'tfjs composite', base, dense, { flops: flops(heads, l, d) }));
      }
      let sparse95 = dense;
      for (const s of SPARSITIES) {
        const mask = randomMask(1, heads, l, bq, bk, s, 10 + l);
        const density = 1 - ((await mask.sparsity.data())[0] as number);
        log(`block-sparse ${shape} sparsity ${s} (achieved ${(1 - density).toFixed(3)})`);
        const ours = await bench(`blockSparseAttention ${s}`, () => blockSparseAttention(q, k, v, mask), slow);
        rows.push(
          compare(`blockSparseAttention (${Math.round(s * 100)}%)`, shape, 'our dense flash', dense, ours, {
            flops: flops(heads, l, d, density),
          }),
        );
        if (s === 0.95) sparse95 = ours;
        mask.dispose();
      }
      log(`mask construction ${shape}`);
      const buildMask = () => {
        const scores = blockScores(q, k, { bq, bk });
        const mask = hybridMask(scores, { bq, bk });
        scores.dispose();
        return maskTensors(mask);
      };
      const masking = await bench('blockScores + hybridMask', buildMask, slow);
      rows.push(compare('mask (blockScores + hybridMask)', shape, 'blockSparseAttention 95%', sparse95, masking));
      const maskingAll = await bench(
        'blockScores + hybridMask + transpose + sparsity',
        () => {
          const scores = blockScores(q, k, { bq, bk });
          const mask = hybridMask(scores, { bq, bk });
          scores.dispose();
          return maskTensors(mask, true);
        },
        slow,
      );
      rows.push(compare('mask with transpose and sparsity', shape, 'blockSparseAttention 95%', sparse95, maskingAll));
      if (backend === 'webgpu' && l === 16384) {
        // GPU time per program (timestamp queries) against the wall time above: how much of the mask's time
        // (0.78 ms = 22% of the sparse kernel's in seven programs before the transpose and the sparsity were
        // made on first access; target ≤ 10%) is work and how much is the chain of dispatches
        rows.push(...(await kernelProfile('mask construction by program', shape, buildMask, { by: 'program', top: 10 })));
      }
      // the same mask (defaults k = 0.03, p = 0.2) the way it was built before the fused kernels
      const nk = Math.ceil(l / bk);
      const maskingComposite = await bench(
        'tfjs blockScores + dense select + fromDense',
        () => {
          const scores = blockScoresOp.reference({ q, k }, { bq, bk, causal: false, scale: 1 / Math.sqrt(d) });
          const mask = toBlockMask(selectBlocks(scores, { k: ceilFraction(0.03, nk), pBefore: 0.2, pThrough: -1 }), bq, bk);
          scores.dispose();
          return maskTensors(mask);
        },
        slow,
      );
      rows.push(
        compare('mask (blockScores + hybridMask)', shape, 'tfjs blockScores + dense select + fromDense', maskingComposite, masking),
      );

      log(`forward + backward ${shape}`);
      // the output's cotangent is given: tf.sum's own gradient would upload a host-made tensor of ones as
      // large as the output (tens of ms at L = 16384), which is tfjs' cost, not attention's
      const grads = (f: (a: Tensor, b: Tensor, c: Tensor) => Tensor) => () =>
        tf.grads((a: Tensor, b: Tensor, c: Tensor) => f(a, b, c))([q, k, v], w);
      const denseBwd = await bench(
        'attention fwd+bwd',
        grads((a, b, c) => attention(a, b, c)),
        slow,
      );
      if (l <= MAX_COMPOSITE_L) {
        const base = await bench('tfjs composite fwd+bwd', grads(composite), slow);
        rows.push(compare('attention fwd+bwd', shape, 'tfjs composite fwd+bwd', base, denseBwd, { flops: 3.5 * flops(heads, l, d) }));
      }
      const mask = randomMask(1, heads, l, bq, bk, 0.95, 20 + l);
      const density = 1 - ((await mask.sparsity.data())[0] as number);
      const sparseBwd = await bench(
        'blockSparseAttention 95% fwd+bwd',
        grads((a, b, c) => blockSparseAttention(a, b, c, mask)),
        slow,
      );
      rows.push(
        compare('blockSparseAttention (95%) fwd+bwd', shape, 'our dense fwd+bwd', denseBwd, sparseBwd, {
          flops: 3.5 * flops(heads, l, d, density),
        }),
      );
      mask.dispose();
      tf.dispose([q, k, v, w]);
    }
    return rows;
  },
});
