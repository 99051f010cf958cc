import { defineOp } from '../op/define-op.js';
import { scalarUniforms } from '../op/webgpu-program.js';
import { tf } from '../tf.js';
import { philoxUniformArray, splitWords } from './philox.js';
import { PhiloxUniformProgram } from './uniform.program.js';

interface PhiloxAttrs {
  n: number;
  seed: number;
  offset: number;
}

export const philoxUniformOp = defineOp<never, PhiloxAttrs>({
  kernelName: 'TesseraPhiloxUniform',
  inputs: [],
  // Philox needs 32×32→64-bit products, which tfjs ops cannot express: the oracle is the scalar JS.
  reference: (_inputs, { n, seed, offset }) => tf.tensor1d(philoxUniformArray(n, seed, offset), 'float32'),
  // the reference is this same scalar code plus a tensor copy, so WASM runs the host kernel too
  hostBackends: ['cpu', 'wasm'],
  host: (_inputs, { n, seed, offset }) => ({ shape: [n], dtype: 'float32', values: philoxUniformArray(n, seed, offset) }),
  webgpu: ({ attrs: { n, seed, offset }, run }) => {
    const [blockLo, blockHi] = splitWords(Math.floor(offset / 4));
    const [keyLo, keyHi] = splitWords(seed);
    const lane0 = offset % 4;
    return run(new PhiloxUniformProgram(n, lane0), [], 'float32', scalarUniforms('uint32', [n, lane0, blockLo, blockHi, keyLo, keyHi]));
  },
});
