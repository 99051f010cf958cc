/**
 * WGSL `fn keepBlock(j : i32, n : i32) -> bool`: the selection rule (SelectAttrs) for block j of a row of
 * n block probabilities held in workgroup memory, read through `read(i)` (a WGSL expression of `i`).
 * rankⱼ = #{i : sᵢ > sⱼ or (sᵢ = sⱼ and i < j)} and the mass ranked before j, Mⱼ = Σ of those sᵢ, summed
 * in index order (both select programs must round alike); keep when sⱼ > 0 and
 *   rankⱼ < k                 (top-k: the k highest)
 *   or Mⱼ < pBefore           (top-p: the smallest prefix whose mass reaches p, SpargeAttention2)
 *   or Mⱼ + sⱼ ≤ pThrough      (CDF threshold: the prefix whose mass stays ≤ p, SpargeAttn's searchsorted)
 * O(n) per block, with no sort. Needs uniforms `k : i32, pBefore : f32, pThrough : f32`.
 */
export function selectRuleWgsl(read: (i: string) => string): string {
  return `
  fn keepBlock(j : i32, n : i32) -> bool {
    let s = ${read('j')};
    var rank = 0;
    var before = 0.0;
    for (var i = 0; i < n; i++) {
      let x = ${read('i')};
      if (x > s || (x == s && i < j)) {
        rank++;
        before += x;
      }
    }
    return s > 0.0 && (rank < uniforms.k || before < uniforms.pBefore || before + s <= uniforms.pThrough);
  }
`;
}
