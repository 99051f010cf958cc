import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { KEYS_WGSL, PARAM, PARAMS } from './keys.wgsl.js';

const WG = 256;
/** Thresholds per pass: slot 0 re-measures the bracket's low end, slots 1…7 split the bracket in 8. */
const SLOTS = 8;
/** Candidates that fit in workgroup memory (key + id each); with the mass slots ≈ 12 KiB in all. */
const CAP = 512;

/**
 * Sorting-free selection of the kept set of `sampleFromLogits`, one workgroup per row of `logits: [B, V]`.
 *
 * Thresholds are found by pivot search over order-preserving u32 keys of z = s/T (keys.wgsl.ts): each
 * pass over the row counts (and, for top-p, sums exp(z − max)) the tokens at or above 8 pivots that split
 * the current bracket [lo, hi] into 8, with per-thread counters reduced in workgroup memory, and keeps the
 * sub-bracket where the count reaches k (or the mass reaches p·M). As soon as every token at or above
 * `lo` fits in 512 slots, one more pass copies them to workgroup memory, where a bitonic sort of those
 * few candidates (never the vocabulary) finishes top-k, top-p and min-p exactly and draws the token (the
 * common case: after the first pass for top-k ≤ ~200, bracketed by the k-th largest of the 256 per-thread
 * maxima). Otherwise the search converges on the exact key and resolves ties by a pivot search over ids,
 * and writes the cut for the blocked inverse-CDF programs. Ranking is (z desc, id asc) throughout.
 * Writes int32 `[B, 8]` (keys.wgsl.ts: PARAM).
 */
export class SelectProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_fused_select_${WG}_${SLOTS}_${CAP}`;
  variableNames = ['logits', 'u'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, k : i32, temperature : f32, p : f32, pMin : f32,';

  constructor(rows: number) {
    this.outputShape = [rows, PARAMS];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  const WG = ${WG}u;
  const NS = ${SLOTS}u;
  const CAP = ${CAP}u;
  const NONE = 0xffffffffu;
  const IDLE = 3u;

  // one pivot search: bracket [lo, hi] with F(≥ lo) ≥ goal > F(≥ hi + 1); F counts tokens (modes 0, 2)
  // or sums their weights (mode 1); cAbove/mAbove are F(≥ hi + 1)
  struct Search {
    lo : u32,
    hi : u32,
    cLo : u32,
    cAbove : u32,
    mLo : f32,
    mAbove : f32,
    goalMass : f32,
    goalCount : u32,
    passes : u32,
    compact : u32,
    hasGoal : u32,
  }

  struct RowState {
    zmax : f32,
    bracket : u32,
    cutKey : u32,
    cutId : u32,
    tieKey : u32,
    tiesFor : u32,
    compacted : u32,
    listMode : u32,
    listLen : u32,
    mode : u32,
  }

  var<workgroup> search : Search;
  var<workgroup> state : RowState;
  var<workgroup> sMass : array<f32, ${SLOTS * WG}>;
  var<workgroup> sCnt : array<atomic<u32>, ${SLOTS}>;
  var<workgroup> candKey : array<u32, ${CAP}>;
  var<workgroup> candId : array<u32, ${CAP}>;
  var<workgroup> nCand : atomic<u32>;

  fn zAt(base : i32, i : i32) -> f32 {
    return tempered(logits[base + i]);
  }


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
    var piv : array<u32, ${SLOTS}>;
    var cnt : array<u32, ${SLOTS}>;
    var mass : array<f32, ${SLOTS}>;
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
    var cnt : array<u32, ${SLOTS}>;
    var mass : array<f32, ${SLOTS}>;
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

  fn writeParams(row : i32, status : i32, id : i32, logprob : f32) {
    let pb = row * ${PARAMS};
    result[pb + ${PARAM.status}] = status;
    result[pb + ${PARAM.zmax}] = bitcast<i32>(state.zmax);
    result[pb + ${PARAM.cutKey}] = bitcast<i32>(state.cutKey);
    result[pb + ${PARAM.cutId}] = bitcast<i32>(state.cutId);
    result[pb + ${PARAM.id}] = id;
    result[pb + ${PARAM.logprob}] = bitcast<i32>(logprob);
    result[pb + 6] = 0;
    result[pb + 7] = 0;
  }

  // thread 0, after a search converged on an exact key without fitting in workgroup memory: record the
  // cut, or start the id search among the tokens tied at that key; then start the next stage
  fn finishStage(mode : u32, st : Search) {
    let topP = uniforms.p < 1.0;
    let last = u32(uniforms.cols - 1);
    var next = IDLE;
    if (mode == 0u) {
      state.cutKey = st.lo;
      let need = u32(uniforms.k) - st.cAbove;
      if (need < st.cLo - st.cAbove) {
        state.tieKey = st.lo;
        state.tiesFor = 0u;
        startSearch(0u, last, need);
        next = 2u;
      }
    } else if (mode == 1u) {
      let wv = exp(valueOf(st.lo) - state.zmax);
      let ties = st.cLo - st.cAbove;
      let t = ceil((st.goalMass - st.mAbove) / wv);
      let need = select(ties, u32(max(t, 1.0)), t < f32(ties));
      if (need < ties) {
        // the id search filters by the top-k cut, so the top-p cut replaces it only afterwards
        state.tieKey = st.lo;
        state.tiesFor = 1u;
        startSearch(0u, last, need);
        next = 2u;
      } else {
        state.cutId = select(NONE, state.cutId, st.lo == state.cutKey);
        state.cutKey = st.lo;
      }
    } else {
      state.cutKey = state.tieKey;
      state.cutId = last - st.lo;
    }
    let topKDone = mode == 0u || (mode == 2u && state.tiesFor == 0u);
    if (next == IDLE && topKDone && topP) {
      startSearch(state.cutKey, keyOf(state.zmax), 0u);
      next = 1u;
    }
    state.mode = next;
  }

  // thread 0, candidates sorted by rank: top-p and min-p on the list; returns the kept prefix length
  fn keptOfList() -> u32 {
    let zmax = state.zmax;
    var keep = state.listLen;
    if (uniforms.p < 1.0) {
      var goal = search.goalMass;
      if (state.listMode == 0u) {
        // the list holds the top-k set first: the nucleus of its k tokens
        keep = u32(uniforms.k);
        var total = 0.0;
        for (var i = 0u; i < keep; i++) {
          total += candWeight(i, zmax);
        }
        goal = uniforms.p * total;
      }
      // walk down while the mass ranked above stays below p·M
      var acc = 0.0;
      var kept = 0u;
      while (kept < keep && acc < goal) {
        acc += candWeight(kept, zmax);
        kept++;
      }
      keep = kept;
    } else if (state.listMode == 0u) {
      keep = u32(uniforms.k);
    }
    // min-p cuts the rank-ordered list where the weight (probability / top probability) drops below pMin
    var kept = 0u;
    while (kept < keep && candWeight(kept, zmax) >= uniforms.pMin) {
      kept++;
    }
    return kept;
  }

  // thread 0, kept candidates sorted by id: the inverse CDF over them
  fn drawFromList(row : i32, keep : u32) {
    let zmax = state.zmax;
    var total = 0.0;
    for (var i = 0u; i < keep; i++) {
      total += candWeight(i, zmax);
    }
    let goal = u[row] * total;
    var acc = 0.0;
    var pick = -1;
    var last = -1;
    for (var i = 0u; i < keep; i++) {
      let w = candWeight(i, zmax);
      if (w > 0.0) {
        last = i32(i);
      }
      acc += w;
      if (acc > goal) {
        pick = i32(i);
        break;
      }
    }
    if (pick < 0) {
      pick = last;
    }
    if (!(total > 0.0) || pick < 0) {
      writeParams(row, 1, -1, uniforms.NAN);
    } else {
      writeParams(row, 1, i32(candId[pick]), (valueOf(candKey[pick]) - zmax) - log(total));
    }
  }

  fn main(index : i32) {
    let row = i32(linearWorkgroupIndex());
    let base = row * uniforms.cols;
    let k = uniforms.k;
    let topK = k > 0 && k < uniforms.cols;

    // pass 0: row max, and the k-th largest of the per-thread maxima as the top-k bracket's low end
    // (k distinct tokens are at least that large)
    var m = -uniforms.INFINITY;
    for (var i = i32(localIndex); i < uniforms.cols; i += i32(WG)) {
      m = max(m, zAt(base, i));
    }
    sMass[localIndex] = m;
    if (localIndex == 0u) {
      state = RowState(0.0, 0u, 0u, NONE, 0u, 0u, 0u, 0u, 0u, IDLE);
      atomicStore(&nCand, 0u);
      for (var j = 0u; j < NS; j++) {
        atomicStore(&sCnt[j], 0u);
      }
    }
    workgroupBarrier();
    if (topK && k <= i32(WG)) {
      var rank = 0;
      for (var j = 0u; j < WG; j++) {
        let other = sMass[j];
        if (other > m || (other == m && j < localIndex)) {
          rank++;
        }
      }
      if (rank == k - 1) {
        state.bracket = keyOf(m);
      }
    }
    workgroupBarrier();
    if (localIndex == 0u) {
      var top = -uniforms.INFINITY;
      for (var j = 0u; j < WG; j++) {
        top = max(top, sMass[j]);
      }
      state.zmax = top;
      if (topK) {
        startSearch(state.bracket, keyOf(top), u32(k));
        state.mode = 0u;
      } else if (uniforms.p < 1.0) {
        startSearch(0u, keyOf(top), 0u);
        state.mode = 1u;
      }
    }

    // stages, one pivot search each (top-k, its ties, top-p, its ties), written as one loop so that the
    // search and compaction code exists once in the shader (software Vulkan compiles it far faster)
    for (var stage = 0u; stage < 4u; stage++) {
      let mode = workgroupUniformLoad(&state.mode);
      if (mode == IDLE) {
        break;
      }
      runSearch(mode, row);
      let st = workgroupUniformLoad(&search);
      if (st.compact != 0u) {
        compactList(mode, row, st.lo);
        if (localIndex == 0u) {
          state.compacted = 1u;
          state.listMode = mode;
          state.mode = IDLE;
        }
      } else if (localIndex == 0u) {
        finishStage(mode, st);
      }
    }

    if (workgroupUniformLoad(&state.compacted) == 0u) {
      if (localIndex == 0u) {
        writeParams(row, 0, -1, 0.0);
      }
      return;
    }
    // sort 0 ranks the candidates (then top-p and min-p cut the list), sort 1 puts the kept ones in id
    // order for the inverse CDF
    for (var phase = 0u; phase < 2u; phase++) {
      let n = workgroupUniformLoad(&state.listLen);
      sortList(n, phase == 1u);
      if (localIndex == 0u) {
        if (phase == 0u) {
          state.listLen = keptOfList();
        } else {
          drawFromList(row, n);
        }
      }
    }
  }
`;
  }
}
