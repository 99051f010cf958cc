/** Vector components by index, for generated code that must not index vectors dynamically. */
export const XYZW = ['x', 'y', 'z', 'w'] as const;

/**
 * `n` statements generated from `f(0…n−1)`, one per line. The flash programs keep their accumulators in
 * named variables and unroll every loop over them here: a per-thread array indexed in a loop may be placed
 * in local memory by the driver's compiler, which costs a memory round trip per access.
 */
export function unrolled(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join('\n        ');
}

/** `unrolled` over 4 rows × `n` column vectors. */
export function rowsTimes(n: number, f: (i: number, e: number) => string): string {
  return unrolled(4, (i) => unrolled(n, (e) => f(i, e)));
}

/** `f(0…n−1)` joined by commas: the arguments of a vector constructor. */
export function listed(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join(', ');
}
