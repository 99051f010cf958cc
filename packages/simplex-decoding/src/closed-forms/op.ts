import { defineOp, scalarUniforms, tf } from '@tessera/tensor-core';
import { SelectProgram } from '../fused/select.program.js';
import { keptLogitWeights } from '../fused/weights.js';
import { sparsemaxBisectReference, sparsemaxSort, type TruncatedAttrs, truncatedSoftmaxReference } from './reference.js';
import { sparsemaxBisectHost } from './sparsemax-bisect.host.js';
import { SparsemaxBisectProgram } from './sparsemax-bisect.program.js';
import { sparsemaxSortHost } from './sparsemax-sort.host.js';
import { RADIX_MIN_COLS_SPARSEMAX, type SelectPath, useRadixSelect } from './radix-layout.js';
import { radixCut, radixSparsemax } from './radix-select.js';
import { truncatedSoftmaxHost } from './truncated.host.js';
import { TruncatedSoftmaxProgram } from './truncated.program.js';

/**
 * Bisection steps on the threshold: the bracket [max − 1, max] has width 1, and after 40 halvings it
 * is below float32 resolution for any |max| ≥ 2⁻¹⁶, so later steps could not move it.
 */
export const SPARSEMAX_BISECT_ITERATIONS = 40;

export interface BisectAttrs {
  iterations: number;
  /** WebGPU only: bisection in one workgroup per row ('row'), the radix select ('split'), or by shape ('auto', default). */
  select?: SelectPath;
  /** WebGPU radix select only: splits per row instead of `radixGrid`'s choice (tests: many splits on short rows). */
  splits?: number;
}

/**
 * The sort-free sparsemax op, `z: [B, V]` → `q: [B, V]`, a typed-array kernel on CPU and WASM (on WASM the
 * reference's 40 steps of tfjs ops took 14 ms at 4×8192, the kernel 0.1 ms). On WebGPU, rows shorter
 * than `RADIX_MIN_COLS_SPARSEMAX` take one dispatch, a workgroup per row bisecting τ; longer rows the
 * radix select (radix-select.ts: `radixSparsemax`, each row spread over many workgroups), which finds
 * the support {z > x} (x the largest key at or below τ) and τ from its count and sum: the bisection's
 * exact finish, on a support the 40 halvings can miss only by tokens within 2⁻⁴⁰ of τ (q ≈ 0 either
 * way). `sparsemax` feeds it scores shifted by the row max before the division by λ, so the bracket
 * [max − 1, max] = [−1, 0] is resolved to float32 precision whatever λ is.
 */
export const sparsemaxBisectOp = defineOp<'z', BisectAttrs>({
  kernelName: 'TesseraSparsemaxBisect',
  inputs: ['z'],
  reference: ({ z }, { iterations }) => sparsemaxBisectReference(z, iterations),
  hostBackends: ['cpu', 'wasm'],
  host: ({ z }, { iterations }) => sparsemaxBisectHost(z, iterations),
  webgpu: ({ inputs: { z }, attrs: { iterations, select, splits }, run, dispose }) => {
    const [rows, cols] = z.shape as [number, number];
    if (useRadixSelect(select, rows, cols, { minCols: RADIX_MIN_COLS_SPARSEMAX })) return radixSparsemax({ run, dispose }, z, splits);
    return run(new SparsemaxBisectProgram(rows, cols, iterations), [z], 'float32', scalarUniforms('int32', [cols]));
  },
});

/**
 * The sorting sparsemax op (Martins & Astudillo's threshold algorithm, `sparsemaxSort`), `z: [B, V]` →
 * `q: [B, V]`: the tfjs reference on WebGPU, a typed-array kernel on CPU and WASM — the same float32
 * steps, with a typed-array sort in place of `tf.topk` and no tfjs op per step (on WASM 3.3 ms for the
 * reference at 4×8192, which the screens around it made slower than the bare tfjs composite).
 */
export const sparsemaxSortOp = defineOp<'z', Record<string, never>>({
  kernelName: 'TesseraSparsemaxSort',
  inputs: ['z'],
  reference: ({ z }) => tf.tidy(() => sparsemaxSort(z)),
  hostBackends: ['cpu', 'wasm'],
  host: ({ z }) => sparsemaxSortHost(z),
});

/**
 * softmax(s / T) renormalised over the top-k set and then its nucleus, `logits: [B, V]` → `q: [B, V]`
 * (`topK` with p = 1, `topP` with k = 0), with the closed forms' non-finite rules. The reference sorts
 * (`tf.topk` over the row); the kernels never do. WebGPU: a selection writes each row's cut and kept
 * mass, then one split pass writes q. The selection is, by shape (`useRadixSelect`, or `attrs.select`),
 * the fused sampler's 'cut' flavour (one workgroup per row: pivot search over order-preserving keys, the
 * candidates finished in workgroup memory once they fit) or the radix select (radix-select.ts: each row
 * spread over many workgroups, 4 passes of 8 bits over the same keys, counts and masses per bin); both
 * find the same cut. CPU and WASM: the sampler's weighted quickselect on typed arrays.
 */
export const truncatedSoftmaxOp = defineOp<'logits', TruncatedAttrs>({
  kernelName: 'TesseraTruncatedSoftmax',
  inputs: ['logits'],
  reference: ({ logits }, attrs) => truncatedSoftmaxReference(logits, attrs),
  hostBackends: ['cpu', 'wasm'],
  host: ({ logits }, attrs) => truncatedSoftmaxHost(logits, attrs),
  webgpu: ({ inputs: { logits }, attrs: { temperature, k, p, select, splits }, run, dispose }) => {
    const [rows, vocab] = logits.shape as [number, number];
    const params = useRadixSelect(select, rows, vocab, { k, p })
      ? radixCut({ run, dispose }, logits, { temperature, k, p, splits })
      : run(new SelectProgram(rows, 'cut'), [logits], 'int32', [
          ...scalarUniforms('int32', [vocab, k === vocab ? 0 : k]),
          ...scalarUniforms('float32', [temperature, p, 0]),
        ]);
    const source = keptLogitWeights(temperature, 0);
    const uniforms = [...scalarUniforms('int32', [vocab]), ...source.uniformData];
    const out = run(new TruncatedSoftmaxProgram(rows, vocab, source), [logits, params], 'float32', uniforms);
    dispose(params);
    return out;
  },
});
