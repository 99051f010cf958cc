import { defineOp, philoxUniform, philoxUniformArray, type Tensor, tf } from '@tessera/tensor-core';
import { splitDraws } from '../sample/draws.js';
import type { FusedIdsAttrs } from './attrs.js';
import { fusedHost } from './host.js';
import { fusedWebGPU } from './kernel.js';
import { fusedReference } from './reference.js';

/**
 * The fused sampler as one op: `logits: [B, V]` → `[ids int32 [B], logprobs float32 [B]]`, the row uniforms
 * drawn inside (the numbers of `philoxUniform` at seed, offset + row) on every backend. Reference:
 * `philoxUniform`, `fusedReference` (`[B, 2]` id, logprob), split.
 *
 * WebGPU (kernel.ts), by shape or `attrs.select`: the one-workgroup selection program (row flags for NaN
 * and +∞, pivot search, and the draw itself when the kept set fits in workgroup memory), the split
 * candidates for a top-k ≤ 128 (candidates-draw.ts: each split's top-k from registers, merged and drawn
 * as the radix list draw draws, the logits read once; 2 programs), or the radix
 * select over several workgroups a row (radix-draw.ts: a list of the top-k candidates drawn as the
 * one-workgroup path draws its own; or the radix cut), then for the rows not drawn yet the blocked inverse
 * CDF of `sample` over the kept weights; both outputs written by the last program (`runOutputs`), with no
 * Philox program, split or cast around it (6 programs a call on the radix list path, 3 on the one-workgroup
 * path, where a `[B, 2]` kernel made them 10 and 7).
 *
 * CPU and WASM: one host kernel. A `[B, 2]` op would add a Philox op, a split and a cast to every call,
 * about a sixth of `sampleFromLogits` at 4×8192 on WASM.
 *
 * Against the tfjs composite (tf.topk → softmax → tf.multinomial; other ids, so no route to it) on WASM,
 * loaded 2-core VM, 2026-12-07: k = 50 at 64×1024 1.8–1.9×, 256×1024 ~1.5× (short rows: the top-k selection,
 * selecting on the logits, is ~5.4 of ~9.5 µs a row, was ~6.6; both ratios were 1.7× and 1.3–1.4× in the same
 * runs), k = 1 2.2×, no top-k 2.1×, 4×8192 2.8×, 8×32768 3.0× (README, "On CPU and WASM"). With the row pass
 * in WebAssembly SIMD (collect.ts), 2026-12-07, min of 150–200 calls interleaved with the JS pass (load ~7.4):
 * k = 50 at 64×1024 2.4–2.8× (JS pass 2.0–2.3× in the same runs), 256×1024 2.2–2.7× (1.9–2.2×).
 * Part of a call is tensor-core's copy of the logits out of the WASM heap for the host kernel (`readSync`
 * allocates and copies the rows). On CPU that read is free: 7–25×.
 */
export const fusedSampleIdsOp = defineOp<'logits', FusedIdsAttrs, Tensor[]>({
  kernelName: 'TesseraSampleFromLogitsIds',
  inputs: ['logits'],
  outputs: 2,
  reference: ({ logits }, { seed, offset, ...attrs }) =>
    tf.tidy(() => {
      const u = philoxUniform([logits.shape[0] as number], { seed, offset });
      const { ids, logprobs } = splitDraws(fusedReference(logits, u, attrs));
      return [ids, logprobs];
    }),
  webgpu: fusedWebGPU,
  hostBackends: ['cpu', 'wasm'],
  host: ({ logits }, { seed, offset, ...attrs }) => {
    const rows = logits.shape[0] as number;
    const u = philoxUniformArray(rows, seed, offset);
    const draws = fusedHost(logits, { shape: [rows], dtype: 'float32', values: u }, attrs).values;
    const ids = new Int32Array(rows);
    const logprobs = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      ids[r] = draws[2 * r] as number;
      logprobs[r] = draws[2 * r + 1] as number;
    }
    return [
      { shape: [rows], dtype: 'int32', values: ids },
      { shape: [rows], dtype: 'float32', values: logprobs },
    ];
  },
});
