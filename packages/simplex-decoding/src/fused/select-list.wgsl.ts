/** Candidates that fit in workgroup memory (key + id each); with the mass slots ≈ 12 KiB in all. */
export const SELECT_CAP = 512;

/**
 * `compactList` of `SelectProgram` (select.program.ts): once every token at or above a key fits in
 * `SELECT_CAP` slots, it copies them (key, id) to workgroup memory. Expects the program's `state`,
 * `candKey`, `candId`, `nCand`, `zAt`, the constants `WG`, `CAP` and keys.wgsl.ts.
 */
export const COMPACT_LIST_WGSL = `
  // copies every token at or above key lo (inside the cut for mode 1) to workgroup memory
  fn compactList(mode : u32, row : i32, lo : u32) {
    let base = row * uniforms.cols;
    let cutKey = state.cutKey;
    let cutId = state.cutId;
    for (var i = i32(localIndex); i < uniforms.cols; i += i32(WG)) {
      let key = keyOf(zAt(base, i));
      if (key >= lo && (mode == 0u || insideCut(key, u32(i), cutKey, cutId))) {
        let slot = atomicAdd(&nCand, 1u);
        if (slot < CAP) {
          candKey[slot] = key;
          candId[slot] = u32(i);
        }
      }
    }
    workgroupBarrier();
    if (localIndex == 0u) {
      state.listLen = min(atomicLoad(&nCand), CAP);
    }
  }

`;

/**
 * The sort of a candidate list in workgroup memory: `sortList` sorts the first n (key, id) pairs by a
 * bitonic network — by rank (z desc, id asc) or by id (`before`) — and `candWeight` is a candidate's
 * exp(z − max). Shared by `SelectProgram` and the radix sampler's draw (radix-draw.program.ts), which
 * fill the list differently. Expects `candKey`, `candId` (at least `SELECT_CAP` each), the constants
 * `WG`, `NONE` and keys.wgsl.ts.
 */
export const SORT_LIST_WGSL = `
  fn before(a : u32, b : u32, byId : bool) -> bool {
    if (byId) {
      return candId[a] < candId[b];
    }
    return candKey[a] > candKey[b] || (candKey[a] == candKey[b] && candId[a] < candId[b]);
  }

  // bitonic sort of the first n candidates (rank order, or id order), padded to a power of two
  fn sortList(n : u32, byId : bool) {
    var size = 1u;
    while (size < n) {
      size = size << 1u;
    }
    for (var i = n + localIndex; i < size; i += WG) {
      candKey[i] = 0u;
      candId[i] = NONE;
    }
    workgroupBarrier();
    for (var k = 2u; k <= size; k = k << 1u) {
      for (var j = k >> 1u; j > 0u; j = j >> 1u) {
        for (var i = localIndex; i < size; i += WG) {
          let l = i ^ j;
          if (l > i && before(l, i, byId) == ((i & k) == 0u)) {
            let tk = candKey[i];
            let ti = candId[i];
            candKey[i] = candKey[l];
            candId[i] = candId[l];
            candKey[l] = tk;
            candId[l] = ti;
          }
        }
        workgroupBarrier();
      }
    }
  }

  fn candWeight(i : u32, zmax : f32) -> f32 {
    return exp(valueOf(candKey[i]) - zmax);
  }

`;

/**
 * The candidate list of `SelectProgram`: `COMPACT_LIST_WGSL` then `SORT_LIST_WGSL`.
 */
export const CANDIDATE_LIST_WGSL = `${COMPACT_LIST_WGSL}${SORT_LIST_WGSL}`;
