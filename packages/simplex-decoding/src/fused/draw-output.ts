import type { DataType } from '@tessera/tensor-core';
import { InverseCdfProgram } from '../sample/inverse-cdf.program.js';
import type { WeightSource } from '../sample/weight-source.js';
import { flatGrid } from '@tessera/tensor-core';
import { ROW_UNIFORM_FIELDS, ROW_UNIFORM_WGSL } from './row-uniform.wgsl.js';

/**
 * Which of the fused sampler's two outputs a last program writes: the ids (int32 `[B]`) or the logprobs
 * (float32 `[B]`). A tfjs program has one output, so the draw is run twice, once for each: one dispatch
 * more, where a `[B, 2]` draw needs three after it (two slices and a cast), and the work repeated is one
 * workgroup per row over a list already in hand, or over one group of 4096 tokens.
 */
export type DrawOutput = 'id' | 'logprob';

/** The dtype of output `output`. */
export function drawOutputDtype(output: DrawOutput): DataType {
  return output === 'id' ? 'int32' : 'float32';
}

/** `fn writeDraw(row, id, logprob)`: the row's draw, of which the program writes `output`. */
export function writeDrawWgsl(output: DrawOutput): string {
  return `
  fn writeDraw(row : i32, id : i32, logprob : f32) {
    result[row] = ${output === 'id' ? 'id' : 'logprob'};
  }
`;
}

/** The (id, logprob) pair writes of `InverseCdfProgram`: id as f32, then the logprob, to `result: [B, 2]`. */
const PAIR_WRITE = /result\[row \* 2\] = ([^;]+);\s*result\[row \* 2 \+ 1\] = ([^;]+);/g;

/**
 * `sample`'s last blocked inverse-CDF program (`InverseCdfProgram`) for the fused sampler: the row's uniform
 * drawn inside from the Philox stream (`rowUniform`, no `u` input) and one output of the draw (`DrawOutput`)
 * written, `[B]`. Everything else is the parent's WGSL, the same summation order, so the same token: its
 * `u[row]` and its three (id, logprob) pair writes are replaced, and the rewrite throws if it does not find
 * them (a change to the parent's code then fails every fused test at once instead of drawing other ids).
 */
export class FusedInverseCdfProgram extends InverseCdfProgram {
  constructor(
    rows: number,
    source: WeightSource,
    private readonly output: DrawOutput,
  ) {
    super(rows, source);
    this.outputShape = [rows];
    this.variableNames = [...source.variableNames, 'groupSums'];
    this.uniforms = `${this.uniforms} ${ROW_UNIFORM_FIELDS}`;
    this.shaderKey = `${this.shaderKey}_philox_${output}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  override getUserCode(): string {
    const code = super.getUserCode();
    const pairs = code.match(PAIR_WRITE)?.length ?? 0;
    const draws = code.split('u[row]').length - 1;
    if (pairs !== 3 || draws !== 1) {
      throw new Error(
        `FusedInverseCdfProgram: expected InverseCdfProgram to read u[row] once and write 3 (id, logprob) pairs, found ${draws} and ${pairs}`,
      );
    }
    return `
  ${ROW_UNIFORM_WGSL}
  ${writeDrawWgsl(this.output)}
  ${code.replace('u[row]', 'rowUniform(row)').replace(PAIR_WRITE, 'writeDraw(row, i32($1), $2);')}`;
  }
}
