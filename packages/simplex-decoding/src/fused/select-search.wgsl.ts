/** Threads per workgroup of the selection program (one workgroup per row). */
export const SELECT_WORKGROUP = 256;

/** Thresholds per pass: slot 0 re-measures the bracket's low end, slots 1…7 split the bracket in 8. */
export const SELECT_SLOTS = 8;

/**
 * The pivot search of `SelectProgram` (select.program.ts), as WGSL functions over its workgroup state:
 * `pivotAt` (the 8 pivots splitting a bracket of keys), `startSearch`, `searchPass` (one pass over the
 * row counting — or, for top-p, summing exp(z − max) of — the tokens at or above each pivot, per-thread
 * counters reduced in workgroup memory), `searchUpdate` (thread 0 keeps the sub-bracket where the goal is
 * met) and `runSearch` (passes until the bracket is one key, or its tokens fit the candidate list).
 * Expects the program's `Search`/`RowState` structs, `search`, `state`, `sMass`, `sCnt`, `zAt`, the
 * constants `WG`, `NS`, `CAP` and keys.wgsl.ts.
 */
export const PIVOT_SEARCH_WGSL = `
  fn pivotAt(lo : u32, hi : u32, j : u32) -> u32 {
    if (j == 0u) {
      return lo;
    }
    let step = max((hi - lo) / NS, 1u);
    return min(lo + j * step, hi);
  }

  fn startSearch(lo : u32, hi : u32, goalCount : u32) {
    search = Search(lo, hi, 0u, 0u, 0.0, 0.0, 0.0, goalCount, 0u, 0u, 0u);
  }

  // mode 0: tokens by key (top-k); 1: tokens inside the top-k cut by key, weighted (top-p);
  // 2: tokens tied at state.tieKey inside the cut, by V − 1 − id (lowest ids rank first)
  fn searchPass(mode : u32, row : i32, st : Search) {
    var piv : array<u32, ${SELECT_SLOTS}>;
    var cnt : array<u32, ${SELECT_SLOTS}>;
    var mass : array<f32, ${SELECT_SLOTS}>;
    for (var j = 0u; j < NS; j++) {
      piv[j] = pivotAt(st.lo, st.hi, j);
      cnt[j] = 0u;
      mass[j] = 0.0;
    }
    let base = row * uniforms.cols;
    let zmax = state.zmax;
    let cutKey = state.cutKey;
    let cutId = state.cutId;
    let tieKey = state.tieKey;
    for (var i = i32(localIndex); i < uniforms.cols; i += i32(WG)) {
      let z = zAt(base, i);
      let key = keyOf(z);
      var sk = key;
      var w = 1.0;
      if (mode == 1u) {
        if (!insideCut(key, u32(i), cutKey, cutId)) {
          continue;
        }
        w = exp(z - zmax);
      } else if (mode == 2u) {
        if (key != tieKey || !insideCut(key, u32(i), cutKey, cutId)) {
          continue;
        }
        sk = u32(uniforms.cols - 1 - i);
      }
      if (sk < st.lo) {
        continue;
      }
      for (var j = 0u; j < NS; j++) {
        if (sk >= piv[j]) {
          cnt[j] += 1u;
          mass[j] += w;
        }
      }
    }
    for (var j = 0u; j < NS; j++) {
      atomicAdd(&sCnt[j], cnt[j]);
      sMass[j * WG + localIndex] = mass[j];
    }
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride >> 1u) {
      if (localIndex < stride) {
        for (var j = 0u; j < NS; j++) {
          sMass[j * WG + localIndex] += sMass[j * WG + localIndex + stride];
        }
      }
      workgroupBarrier();
    }
  }

  // thread 0: keep the highest pivot whose F still reaches the goal
  fn searchUpdate(mode : u32) {
    var st = search;
    var cnt : array<u32, ${SELECT_SLOTS}>;
    var mass : array<f32, ${SELECT_SLOTS}>;
    for (var j = 0u; j < NS; j++) {
      cnt[j] = atomicLoad(&sCnt[j]);
      atomicStore(&sCnt[j], 0u);
      mass[j] = sMass[j * WG];
    }
    if (mode == 1u && st.hasGoal == 0u) {
      // slot 0 of the first pass is the mass M of the whole top-k set
      st.goalMass = uniforms.p * mass[0];
      st.hasGoal = 1u;
    }
    var a = 0u;
    for (var j = NS - 1u; j >= 1u; j--) {
      let meets = select(cnt[j] >= st.goalCount, mass[j] >= st.goalMass, mode == 1u);
      if (meets) {
        a = j;
        break;
      }
    }
    let lo = pivotAt(st.lo, st.hi, a);
    if (a + 1u < NS) {
      let next = pivotAt(st.lo, st.hi, a + 1u);
      if (next > lo) {
        st.hi = next - 1u;
        st.cAbove = cnt[a + 1u];
        st.mAbove = mass[a + 1u];
      }
    }
    st.lo = lo;
    st.cLo = cnt[a];
    st.mLo = mass[a];
    st.passes += 1u;
    st.compact = select(0u, 1u, mode != 2u && st.cLo <= CAP);
    search = st;
  }

  fn runSearch(mode : u32, row : i32) {
    loop {
      let st = workgroupUniformLoad(&search);
      if ((st.passes > 0u && st.lo >= st.hi) || st.compact != 0u || st.passes >= 64u) {
        break;
      }
      searchPass(mode, row, st);
      if (localIndex == 0u) {
        searchUpdate(mode);
      }
    }
  }

`;
