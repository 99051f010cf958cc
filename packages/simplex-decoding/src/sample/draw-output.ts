import { type OutputSpec, type ProgramUniform, scalarUniforms } from '@tessera/tensor-core';

/**
 * What a last draw program writes, and how it runs: the sampler's two outputs, the ids (int32 `[B]`) and the
 * logprobs (float32 `[B]`), each a tensor of its own from one dispatch (tensor-core's `runOutputs`), where a tfjs
 * program (one output) ran the draw twice, or once into int32 bits `[B, 2]` that two more programs split.
 * The draws bind at most five storage buffers, under the eight every WebGPU device offers, so they need no
 * per-output fallback.
 */
export const DRAW_OUTPUT_NAMES = ['idsOut', 'logprobsOut'];

/** The `runOutputs` specs of a draw over `rows` rows: the ids, then the logprobs. */
export function drawOutputs(rows: number): OutputSpec[] {
  return [{ shape: [rows], dtype: 'int32' }, { shape: [rows] }];
}

/**
 * Uniform fields a draw program declares before its own: `NAN` and `INFINITY`, which tfjs' programs get from
 * the backend and the shared WGSL reads (WGSL constants cannot be NaN or ±∞), and the row count.
 */
export const DRAW_UNIFORM_FIELDS = 'NAN : f32, INFINITY : f32, rows : i32,';

/** Values of `DRAW_UNIFORM_FIELDS` for a draw over `rows` rows. */
export function drawUniformData(rows: number): ProgramUniform[] {
  // as tfjs passes them (scalarUniforms takes finite numbers only)
  const nonFinite: ProgramUniform[] = [
    { type: 'float32', data: [Number.NaN] },
    { type: 'float32', data: [Number.POSITIVE_INFINITY] },
  ];
  return [...nonFinite, ...scalarUniforms('int32', [rows])];
}

/**
 * `fn writeDraw(row, id, logprob)`, and the `main` of a draw program: one workgroup a row, each running the
 * program's `fn drawRow(row : i32)` with `localIndex` set as in tfjs' programs (the shared WGSL reads it). The
 * row guard is uniform across a workgroup, so `drawRow`'s barriers stay legal.
 */
export const DRAW_MAIN_WGSL = `
  var<private> localIndex : u32;

  fn writeDraw(row : i32, id : i32, logprob : f32) {
    idsOut[row] = id;
    logprobsOut[row] = logprob;
  }

  fn main(workgroup : i32, local : i32) {
    localIndex = u32(local);
    if (workgroup < uniforms.rows) {
      drawRow(workgroup);
    }
  }
`;
