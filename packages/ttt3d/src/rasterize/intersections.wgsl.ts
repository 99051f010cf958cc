/**
 * The binning buffers the WebGPU programs share.
 *
 * The depth order `order` (int32 `[3N + 1]`, ORDER_WGSL): the Gaussians sorted by (depth as float bits, index)
 * — a stable sort by depth — and the exclusive prefix sum of their tile counts in that order:
 *   order[r]             first list entry of the Gaussian of depth rank r (r ≤ N; order[N] is the total)
 *   order[N + 1 + r]     the Gaussian of depth rank r
 *   order[2N + 1 + g]    the depth rank of Gaussian g
 * Culled Gaussians (count 0, depth 0) rank first and own no entries.
 *
 * The intersection list (KEY_WORDS i32 words per entry: tile id, Gaussian id) is written in depth order, each
 * Gaussian's tiles in row-major order of its rectangle, then sorted stably by tile: each tile's entries end up in
 * depth order with ties by index — the order gsplat's sort of (tile | depth) keys over its per-Gaussian lists
 * leaves. At most `capacity` entries are stored; only the first min(total, capacity) are valid.
 */
export const KEY_WORDS = 2;

/** WGSL accessors of `order` (bound under that name; uniforms `n` and `capacity`). */
export const ORDER_WGSL = `
  const KEY_WORDS = ${KEY_WORDS};

  fn totalIntersections() -> i32 {
    return order[uniforms.n];
  }

  fn storedIntersections() -> i32 {
    return min(totalIntersections(), uniforms.capacity);
  }

  fn sortedGaussian(r : i32) -> i32 {
    return order[uniforms.n + 1 + r];
  }

  fn depthRank(g : i32) -> i32 {
    return order[2 * uniforms.n + 1 + g];
  }
`;
