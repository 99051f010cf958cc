/**
 * The fixed summation order of the blocked inverse CDF, shared by the host and WGSL kernels so that both
 * round every float32 partial sum identically (float32 addition is correctly rounded on both):
 * a row is cut into segments of `SEGMENT` contiguous tokens summed left to right; `GROUP_SEGMENTS`
 * consecutive segments form a group, summed by a fixed pairwise tree (stride 128, 64, …, 1); the row total
 * is the left-to-right sum of its group sums.
 */
export const SEGMENT = 16;

/** Segments per group: one per thread of a 256-thread workgroup. */
export const GROUP_SEGMENTS = 256;

/** Tokens per group. */
export const GROUP_TOKENS = SEGMENT * GROUP_SEGMENTS;

/** Groups covering a row of `vocab` tokens. */
export function groupsFor(vocab: number): number {
  return Math.ceil(vocab / GROUP_TOKENS);
}

/**
 * Ids travel as float32 inside the kernels' `[B, 2]` (id, logprob) output, exact up to 2²⁴; larger
 * vocabularies are rejected at the API entry.
 */
export const MAX_VOCAB = 2 ** 24;
