/**
 * Entry bundled by ../shared/gpu/pack.sh for the lent GPU (tensor-core's initBackend installs Dawn's
 * navigator.gpu before it imports tfjs' WebGPU backend):
 *   bash ../shared/gpu/pack.sh apps/demo/gpu/train-sparse.ts
 *   bash .gpu/run.sh train-sparse --out $OUT/sparse --phase all --max-seconds 540   (or gpu/run-sparse.sh)
 * Times the attention dense vs sparse in the evaluation (--timing is on here).
 */
import { tf } from '@tessera/tensor-core';
import { trainMain } from '../src/sparse/train-cli.js';

process.exitCode = await trainMain(process.argv.slice(2), {
  backend: 'webgpu',
  out: 'sparse-dit',
  timing: true,
  afterInit(backend) {
    // tfjs splits K only for outputs of ≤ 8 workgroups of 32 × 32; the weight gradients (K = B·L ≥ 16384 rows,
    // outputs of 16–64 such tiles) then ran on a few SMs. Measured on the H100 (2026-12-06): a training step
    // at B = 8 went from 620 to 502 ms with 256; results agree to float rounding.
    if (backend === 'webgpu') tf.env().set('WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL', 256);
  },
});
