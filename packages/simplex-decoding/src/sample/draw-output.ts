import type { DataType } from '@tessera/tensor-core';

/**
 * What a last draw program writes: the (id, logprob) pair rows (`[B, 2]` float32, `sample`'s output), one of
 * the fused sampler's two outputs, the ids (int32 `[B]`) or the logprobs (float32 `[B]`), or both as int32 bits
 * (`'bits'`: `[B, 2]` = (id, the logprob's float32 bits), split by `DrawColumnProgram`). A tfjs program has one
 * output: the one-workgroup and blocked-CDF draws run twice, once for each output (the work repeated is one
 * group of 4096 tokens); the radix list draw, whose sorts of up to 512 candidates took ~45 µs a run at
 * 64 × 131072 on the H100, runs once into `'bits'` and two one-thread-a-row programs split it.
 */
export type DrawOutput = 'pair' | 'id' | 'logprob' | 'bits';

/** The dtype of output `output`. */
export function drawOutputDtype(output: DrawOutput): DataType {
  return output === 'id' || output === 'bits' ? 'int32' : 'float32';
}

/** The output shape of a draw program over `rows` rows. */
export function drawOutputShape(rows: number, output: DrawOutput): number[] {
  return output === 'pair' || output === 'bits' ? [rows, 2] : [rows];
}

/** `fn writeDraw(row, id, logprob)`: writes the row's draw, or the part of it that `output` names. */
export function writeDrawWgsl(output: DrawOutput): string {
  const body =
    output === 'pair'
      ? 'result[row * 2] = f32(id);\n    result[row * 2 + 1] = logprob;'
      : output === 'bits'
        ? 'result[row * 2] = id;\n    result[row * 2 + 1] = bitcast<i32>(logprob);'
        : `result[row] = ${output === 'id' ? 'id' : 'logprob'};`;
  return `
  fn writeDraw(row : i32, id : i32, logprob : f32) {
    ${body}
  }
`;
}
