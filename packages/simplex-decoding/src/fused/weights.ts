import { scalarUniforms } from '@tessera/tensor-core';
import type { WeightSource } from '../sample/weight-source.js';
import { KEYS_WGSL, PARAM, PARAMS } from './keys.wgsl.js';

/**
 * Weights of the fused sampler's general path: exp(z − max z) on the kept set (inside the row's cut and
 * at or above pMin relative to the top token), 0 elsewhere and on rows the selection program already drew;
 * z is `limited` on rows holding +∞, as the selection program saw it. `params` come from the selection
 * program's 'draw' flavour or from the radix select's cut (`radixCut`), the same `[B, 8]` layout; a row
 * flagged there (status ≠ 0) is (id, logprob) as written, or (−1, NaN) for a row with no draw.
 */
export function keptLogitWeights(temperature: number, pMin: number): WeightSource {
  return {
    key: 'kept_logits',
    variableNames: ['logits', 'params'],
    uniforms: 'temperature : f32, pMin : f32,',
    uniformData: scalarUniforms('float32', [temperature, pMin]),
    wgsl: `
  ${KEYS_WGSL}
  fn weight(row : i32, i : i32) -> f32 {
    let pb = row * ${PARAMS};
    if (params[pb + ${PARAM.status}] != 0) {
      return 0.0;
    }
    let z = limited(tempered(logits[row * uniforms.cols + i]), params[pb + ${PARAM.limit}] != 0);
    if (!insideCut(keyOf(z), u32(i), bitcast<u32>(params[pb + ${PARAM.cutKey}]), bitcast<u32>(params[pb + ${PARAM.cutId}]))) {
      return 0.0;
    }
    let w = exp(z - bitcast<f32>(params[pb + ${PARAM.zmax}]));
    return select(0.0, w, w >= uniforms.pMin);
  }

  fn preset(row : i32) -> vec3<f32> {
    let pb = row * ${PARAMS};
    if (params[pb + ${PARAM.status}] == 0) {
      return vec3<f32>(0.0);
    }
    // a row with no draw (id −1: a NaN or no finite logit) has logprob NaN; the radix select's cut
    // (radix-select.program.ts) flags such rows without writing one
    let id = params[pb + ${PARAM.id}];
    return vec3<f32>(1.0, f32(id), select(bitcast<f32>(params[pb + ${PARAM.logprob}]), uniforms.NAN, id < 0));
  }
`,
  };
}
