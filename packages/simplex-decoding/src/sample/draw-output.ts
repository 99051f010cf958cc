import type { DataType } from '@tessera/tensor-core';

/**
 * What a last draw program writes: the (id, logprob) pair rows (`[B, 2]` float32, `sample`'s output) or one of
 * the fused sampler's two outputs, the ids (int32 `[B]`) or the logprobs (float32 `[B]`). A tfjs program has one
 * output, so the fused sampler runs its draw twice, once for each: one dispatch more, where a `[B, 2]` draw
 * needs three after it (two slices and a cast), and the work repeated is one workgroup per row over a list
 * already in hand, or over one group of 4096 tokens.
 */
export type DrawOutput = 'pair' | 'id' | 'logprob';

/** The dtype of output `output`. */
export function drawOutputDtype(output: DrawOutput): DataType {
  return output === 'id' ? 'int32' : 'float32';
}

/** The output shape of a draw program over `rows` rows. */
export function drawOutputShape(rows: number, output: DrawOutput): number[] {
  return output === 'pair' ? [rows, 2] : [rows];
}

/** `fn writeDraw(row, id, logprob)`: writes the row's draw, or the part of it that `output` names. */
export function writeDrawWgsl(output: DrawOutput): string {
  const body =
    output === 'pair'
      ? 'result[row * 2] = f32(id);\n    result[row * 2 + 1] = logprob;'
      : `result[row] = ${output === 'id' ? 'id' : 'logprob'};`;
  return `
  fn writeDraw(row : i32, id : i32, logprob : f32) {
    ${body}
  }
`;
}
