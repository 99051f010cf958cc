import { defineOp, scalarUniforms } from '@tessera/tensor-core';
import { sparsemaxBisectReference } from './reference.js';
import { sparsemaxBisectHost } from './sparsemax-bisect.host.js';
import { SparsemaxBisectProgram } from './sparsemax-bisect.program.js';

/**
 * Bisection steps on the threshold: the bracket [max − 1, max] has width 1, and after 40 halvings it
 * is below float32 resolution for any |max| ≥ 2⁻¹⁶, so later steps could not move it.
 */
export const SPARSEMAX_BISECT_ITERATIONS = 40;

export interface BisectAttrs {
  iterations: number;
}

/**
 * The sort-free sparsemax op, `z: [B, V]` → `q: [B, V]`: one WGSL dispatch on WebGPU (a workgroup per
 * row), a typed-array kernel on CPU, the tfjs reference elsewhere (WASM). `sparsemax` feeds it scores
 * shifted by the row max before the division by λ, so the bracket [max − 1, max] = [−1, 0] is resolved
 * to float32 precision whatever λ is.
 */
export const sparsemaxBisectOp = defineOp<'z', BisectAttrs>({
  kernelName: 'TesseraSparsemaxBisect',
  inputs: ['z'],
  reference: ({ z }, { iterations }) => sparsemaxBisectReference(z, iterations),
  host: ({ z }, { iterations }) => sparsemaxBisectHost(z, iterations),
  webgpu: ({ inputs: { z }, attrs: { iterations }, run }) => {
    const [rows, cols] = z.shape as [number, number];
    return run(new SparsemaxBisectProgram(rows, cols, iterations), [z], 'float32', scalarUniforms('int32', [cols]));
  },
});
