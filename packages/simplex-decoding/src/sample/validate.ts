import { checkRange } from '@tessera/tensor-core';
import { checkOptions } from '../logits.js';

/** Philox stream position of a draw: row b uses the uniform at stream position `offset + b` under `seed`. */
export interface SampleOptions {
  /** Stream key: a non-negative safe integer. */
  seed: number;
  /** Stream position of row 0 (default 0); advance it by B per decoding step to continue the stream. */
  offset?: number;
}

/** Validates `{ seed, offset? }`; returns them with the default offset. */
export function checkSeed(opts: SampleOptions | undefined, expected: string): { seed: number; offset: number } {
  const o = checkOptions(opts, expected);
  const seed = checkRange(o.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'seed');
  const offset = checkRange(o.offset ?? 0, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }, 'offset');
  return { seed, offset };
}
