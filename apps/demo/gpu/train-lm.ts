/**
 * Entry bundled by ../shared/gpu/pack.sh for the lent GPU (tensor-core's initBackend installs Dawn's navigator.gpu
 * before it imports tfjs' WebGPU backend):
 *   bash ../shared/gpu/pack.sh apps/demo/gpu/train-lm.ts
 *   bash .gpu/run.sh train-lm --mix hybrid --out $OUT/lm/hybrid --max-seconds 540 --resume
 * (apps/demo/README.md, section lm, has the whole sequence of device commands.)
 */
import { tf } from '@tessera/tensor-core';
import { trainLmMain } from '../src/lm/train-cli.js';

process.exitCode = await trainLmMain(process.argv.slice(2), {
  backend: 'webgpu',
  out: 'lm',
  afterInit(backend) {
    // as in gpu/train-sparse.ts: tfjs splits K only for small matmul outputs; the weight gradients (K = B·L rows)
    // need it. The flag exists only once the WebGPU backend is registered, hence after initBackend.
    if (backend === 'webgpu') tf.env().set('WEBGPU_THRESHOLD_TO_INCREASE_WORKGROUPS_FOR_MATMUL', 256);
  },
});
