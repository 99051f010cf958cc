import { philoxUniformArray } from '@tessera/tensor-core';

/**
 * One seeded Philox stream shared by everything random in a fit (initial points, view order, split
 * samples): each draw takes the next stream positions, so a fit is reproducible from its seed alone.
 */
export class PhiloxStream {
  #offset = 0;

  constructor(readonly seed: number) {}

  /** Reserves `n` stream positions and returns the first, for a device-side `philoxUniform` draw. */
  reserve(n: number): number {
    const first = this.#offset;
    this.#offset += n;
    return first;
  }

  /** `n` uniforms in [0, 1) drawn on the host. */
  uniform(n: number): Float32Array {
    return philoxUniformArray(n, this.seed, this.reserve(n));
  }

  /** `n` standard normals (Box–Muller on pairs of uniforms; 1 − u keeps the logarithm finite). */
  normal(n: number): Float32Array {
    const u = this.uniform(2 * n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const r = Math.sqrt(-2 * Math.log(1 - (u[2 * i] as number)));
      out[i] = r * Math.cos(2 * Math.PI * (u[2 * i + 1] as number));
    }
    return out;
  }

  /** A uniformly random permutation of 0 … n−1 (Fisher–Yates). */
  permutation(n: number): number[] {
    const u = this.uniform(n);
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor((u[i] as number) * (i + 1)));
      [p[i], p[j]] = [p[j] as number, p[i] as number];
    }
    return p;
  }
}
