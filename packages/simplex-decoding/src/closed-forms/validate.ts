import { checkOptions, checkRange, describeValue, ValueError } from '@tessera/tensor-core';
import { checkTemperature, checkTopK, checkTopP } from '../validate.js';

/** Options of `greedy`: none (temperature does not move the argmax); any key is an error. */
export type GreedyOptions = Record<string, never>;

/** Options of `topK`. */
export interface TopKOptions {
  /** Number of kept tokens, an integer in [1, V]. */
  k: number;
  /** T > 0 (default 1). */
  temperature?: number;
}

/** Options of `topP`. */
export interface TopPOptions {
  /** Nucleus mass p ∈ (0, 1]. */
  p: number;
  /** T > 0 (default 1), applied before the nucleus is chosen (HF order). */
  temperature?: number;
}

/** Options of `minP`. */
export interface MinPOptions {
  /** Relative threshold pMin ∈ [0, 1]: keep tokens with probability ≥ pMin · (the row's max probability). */
  pMin: number;
  /** T > 0 (default 1), applied first (HF order). */
  temperature?: number;
}

/** Options of `typical`. */
export interface TypicalOptions {
  /** Kept mass ∈ (0, 1]. */
  mass: number;
  /** T > 0 (default 1), applied first (HF order). */
  temperature?: number;
}

/** Options of `epsilon`. */
export interface EpsilonOptions {
  /** Absolute cut eps ∈ [0, 1): drop tokens with probability < eps (the top token always stays). */
  eps: number;
  /** T > 0 (default 1), applied first (HF order). */
  temperature?: number;
}

/** Options of `sparsemax`. */
export interface SparsemaxOptions {
  /** λ > 0 (default 1); λ → 0 tends to greedy decoding. */
  lambda?: number;
  /**
   * 'sort' (threshold algorithm, default) or 'bisect' (sort-free, for large V; on WebGPU a radix select
   * of the threshold for rows of 4096 tokens and more, each row spread over many workgroups, and one
   * bisecting workgroup per row below). They agree to 1e-6 for |s/λ| ≤ 8, and to a few float32 ulps of
   * s/λ beyond.
   */
  method?: 'sort' | 'bisect';
}

/** Options of `entmax`. */
export interface EntmaxOptions {
  /** α > 1; α = 1 is softmax (use `softmax()`), α = 2 is sparsemax. */
  alpha: number;
  /** λ > 0 (default 1); λ → 0 tends to greedy decoding. */
  lambda?: number;
  /** Bisection steps (default 50, as the entmax package's `entmax_bisect`), an integer in [1, 200]. */
  iterations?: number;
}

/** The most bisection steps `entmax` accepts. */
export const ENTMAX_MAX_ITERATIONS = 200;

const LAMBDA_HINT = 'λ = 0 is greedy decoding: use greedy()';

export function checkGreedyOptions(opts: GreedyOptions | undefined): void {
  checkOptions(opts, []);
}

export function checkTopKOptions(opts: TopKOptions, vocab: number): { k: number; temperature: number } {
  const o = checkOptions(opts, ['k', 'temperature']);
  return { k: checkTopK(o.k, vocab), temperature: checkTemperature(o.temperature ?? 1) };
}

export function checkTopPOptions(opts: TopPOptions): { p: number; temperature: number } {
  const o = checkOptions(opts, ['p', 'temperature']);
  return { p: checkTopP(o.p), temperature: checkTemperature(o.temperature ?? 1) };
}

export function checkMinPOptions(opts: MinPOptions): { pMin: number; temperature: number } {
  const o = checkOptions(opts, ['pMin', 'temperature']);
  return { pMin: checkRange(o.pMin, { min: 0, max: 1 }, 'pMin'), temperature: checkTemperature(o.temperature ?? 1) };
}

export function checkTypicalOptions(opts: TypicalOptions): { mass: number; temperature: number } {
  const o = checkOptions(opts, ['mass', 'temperature']);
  return {
    mass: checkRange(o.mass, { min: 0, minExclusive: true, max: 1 }, 'mass'),
    temperature: checkTemperature(o.temperature ?? 1),
  };
}

export function checkEpsilonOptions(opts: EpsilonOptions): { eps: number; temperature: number } {
  const o = checkOptions(opts, ['eps', 'temperature']);
  return {
    eps: checkRange(o.eps, { min: 0, max: 1, maxExclusive: true }, 'eps'),
    temperature: checkTemperature(o.temperature ?? 1),
  };
}

export function checkSparsemaxOptions(opts: SparsemaxOptions | undefined): { lambda: number; method: 'sort' | 'bisect' } {
  const o = checkOptions(opts, ['lambda', 'method']);
  const lambda = checkRange(o.lambda ?? 1, { min: 0, minExclusive: true, hint: LAMBDA_HINT }, 'lambda');
  const method = o.method ?? 'sort';
  if (method !== 'sort' && method !== 'bisect') {
    throw new ValueError(`method: expected 'sort' or 'bisect', received ${describeValue(method)}`);
  }
  return { lambda, method };
}

export function checkEntmaxOptions(opts: EntmaxOptions): { alpha: number; lambda: number; iterations: number } {
  const o = checkOptions(opts, ['alpha', 'lambda', 'iterations']);
  return {
    alpha: checkRange(o.alpha, { min: 1, minExclusive: true, hint: 'α = 1 is softmax: use softmax()' }, 'alpha'),
    lambda: checkRange(o.lambda ?? 1, { min: 0, minExclusive: true, hint: LAMBDA_HINT }, 'lambda'),
    iterations: checkRange(o.iterations ?? 50, { min: 1, max: ENTMAX_MAX_ITERATIONS, integer: true }, 'iterations'),
  };
}
