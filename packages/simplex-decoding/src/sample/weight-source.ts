import type { ProgramUniform } from '@tessera/tensor-core';

/**
 * Where the blocked inverse-CDF programs get a token's weight: `sample` reads q directly, the fused
 * sampler recomputes exp(s/T − max) on the kept set. `wgsl` defines
 * `fn weight(row : i32, i : i32) -> f32` (i < cols) and `fn preset(row : i32) -> vec3<f32>`, which
 * returns (1, id, logprob) for a row already drawn by an earlier program and (0, 0, 0) otherwise.
 */
export interface WeightSource {
  /** Distinguishes the generated code in the programs' shader keys. */
  key: string;
  /** Inputs `weight` and `preset` read, bound before the programs' own inputs. */
  variableNames: string[];
  /** Extra uniform fields (WGSL struct members with trailing commas), after `cols, groups`. */
  uniforms: string;
  /** Values of those fields, in order. */
  uniformData: ProgramUniform[];
  wgsl: string;
}

/** Weights are the entries of `q: [B, V]` themselves. */
export const PROBABILITY_WEIGHTS: WeightSource = {
  key: 'q',
  variableNames: ['q'],
  uniforms: '',
  uniformData: [],
  wgsl: `
  fn weight(row : i32, i : i32) -> f32 {
    return q[row * uniforms.cols + i];
  }
  fn preset(row : i32) -> vec3<f32> {
    return vec3<f32>(0.0);
  }
`,
};
