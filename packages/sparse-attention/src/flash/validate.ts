import { checkDtype, checkRange, checkShape, describeValue, type Dims, type Tensor, ValueError } from '@tessera/tensor-core';

/**
 * Elements per q, k or v tensor the kernels address with 32-bit indices (their packed outputs hold
 * B·H·L·(D + 1) floats): 2³⁰.
 */
export const MAX_ELEMENTS = 2 ** 30;

export interface QkvDims {
  batch: number;
  heads: number;
  lq: number;
  lk: number;
  d: number;
}

/**
 * q `[B, H, Lq, D]`, k and v `[B, H, Lk, D]` (one head dimension for keys and values; v may be absent), float32,
 * non-empty, within `MAX_ELEMENTS`; with `causal`, Lq = Lk (queries and keys are the same positions).
 */
export function checkQkv(q: Tensor, k: Tensor, v: Tensor | null, causal: boolean): QkvDims {
  const dims: Dims = {};
  checkShape(q, ['B', 'H', 'Lq', 'D'], 'q', dims);
  checkShape(k, ['B', 'H', 'Lk', 'D'], 'k', dims);
  const named: [string, Tensor][] = [
    ['q', q],
    ['k', k],
  ];
  if (v !== null) {
    checkShape(v, ['B', 'H', 'Lk', 'D'], 'v', dims);
    named.push(['v', v]);
  }
  for (const [name, t] of named) {
    checkDtype(t, 'float32', name);
    if (t.size === 0) throw new ValueError(`${name}: expected a non-empty tensor, received shape [${t.shape.join(', ')}]`);
    if (t.size > MAX_ELEMENTS) {
      throw new ValueError(`${name}: expected at most 2^30 elements, received shape [${t.shape.join(', ')}] (${t.size} elements)`);
    }
  }
  const out = { batch: dims.B as number, heads: dims.H as number, lq: dims.Lq as number, lk: dims.Lk as number, d: dims.D as number };
  if (causal && out.lq !== out.lk) {
    throw new ValueError(
      `opts.causal: expected queries and keys of one length (Lq = Lk) for causal attention, received Lq = ${out.lq}, Lk = ${out.lk}`,
    );
  }
  return out;
}

/** `causal`: a boolean, default false. */
export function checkCausal(causal: unknown): boolean {
  if (causal === undefined) return false;
  if (typeof causal !== 'boolean') throw new ValueError(`opts.causal: expected a boolean, received ${describeValue(causal)}`);
  return causal;
}

/** `scale`: a finite number, default D^−1/2. */
export function resolveScale(scale: number | undefined, d: number): number {
  return scale === undefined ? 1 / Math.sqrt(d) : checkRange(scale, {}, 'opts.scale');
}
