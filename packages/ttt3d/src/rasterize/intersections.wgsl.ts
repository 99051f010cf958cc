/**
 * WGSL for the intersection list: entry j of a list is three i32 words (tile id, depth as float bits,
 * Gaussian id). `offsets` is the exclusive scan of the per-Gaussian tile counts (length N + 1, the total
 * last); at most `capacity` entries are stored and only the first min(total, capacity) are valid.
 */
export const INTERSECTIONS_WGSL = `
  const KEY_WORDS = 3;

  fn totalIntersections() -> i32 {
    return offsets[uniforms.n];
  }

  fn storedIntersections() -> i32 {
    return min(totalIntersections(), uniforms.capacity);
  }
`;
