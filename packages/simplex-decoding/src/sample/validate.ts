import { checkOptions, checkRange, ShapeError } from '@tessera/tensor-core';
import { MAX_VOCAB } from './layout.js';

/** Philox stream position of a draw: row b uses the uniform at stream position `offset + b` under `seed`. */
export interface SampleOptions {
  /** Stream key: a non-negative safe integer. */
  seed: number;
  /** Stream position of row 0 (default 0); advance it by B per decoding step to continue the stream. */
  offset?: number;
}

/** Checks a seed and an offset: non-negative safe integers. */
export function checkSeedAndOffset(seed: number, offset: number | undefined): { seed: number; offset: number } {
  return {
    seed: checkRange(seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed'),
    offset: checkRange(offset ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'offset'),
  };
}

/**
 * Rejects a stream whose positions offset … offset + rows − 1 pass `Number.MAX_SAFE_INTEGER` (`philoxUniform`'s
 * own check; the samplers draw their uniforms inside their kernels instead).
 */
export function checkStreamEnd(offset: number, rows: number): void {
  if (offset + rows > Number.MAX_SAFE_INTEGER) {
    throw new ShapeError(`offset: expected offset + size ≤ ${Number.MAX_SAFE_INTEGER}, received ${offset} + ${rows}`);
  }
}

/** Validates `sample`'s options; returns them with the default offset. */
export function checkSampleOptions(opts: SampleOptions): { seed: number; offset: number } {
  const o = checkOptions(opts, ['seed', 'offset']);
  return checkSeedAndOffset(o.seed, o.offset);
}

/** Rejects vocabularies whose ids a float32 cannot hold exactly (the kernels' output format). */
export function checkVocab(vocab: number, name: string): void {
  if (vocab > MAX_VOCAB) {
    throw new ShapeError(`${name}: expected V ≤ ${MAX_VOCAB} (2^24), received V = ${vocab}`);
  }
}
