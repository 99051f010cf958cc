import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { NON_FINITE_FLAGS_WGSL } from '../non-finite.wgsl.js';
import { KEYS_WGSL, PARAM, PARAMS } from './keys.wgsl.js';
import { LIST_DRAW_TAIL_WGSL } from './list-draw.wgsl.js';
import { CANDIDATE_LIST_WGSL, SELECT_CAP } from './select-list.wgsl.js';
import { ROW_UNIFORM_FIELDS } from '../sample/row-uniform.wgsl.js';
import { PIVOT_SEARCH_WGSL, SELECT_SLOTS, SELECT_WORKGROUP } from './select-search.wgsl.js';
import { SELECT_DRAW_WGSL, SELECT_STAGES_WGSL } from './select-stages.wgsl.js';

const WG = SELECT_WORKGROUP;
const SLOTS = SELECT_SLOTS;
const CAP = SELECT_CAP;

/**
 * What `SelectProgram` writes: 'draw' (the fused sampler) draws the rows whose kept set fits in workgroup
 * memory and leaves the cut of the others; 'cut' (the closed forms `topK` and `topP`) writes every row's
 * cut and kept mass (keys.wgsl.ts: PARAM.mass), drawing nothing.
 */
export type SelectFlavour = 'draw' | 'cut';

/** The end of `main` in the 'draw' flavour: rows on the candidate list are ranked, cut and drawn. */
const DRAW_TAIL_WGSL = `
    if (workgroupUniformLoad(&state.compacted) == 0u) {
      if (localIndex == 0u) {
        if (state.nan != 0u) {
          writeParams(row, 1, -1, uniforms.NAN);
        } else {
          writeParams(row, 0, -1, 0.0);
        }
      }
      return;
    }
    // sort 0 ranks the candidates (then top-p and min-p cut the list), sort 1 puts the kept ones in id
    // order for the inverse CDF: the list draws' tail, on this program's list
    {
      let t = localIndex;
      ${LIST_DRAW_TAIL_WGSL}
    }
`;

/**
 * Thread 0 of the 'cut' flavour: writes the row's cut (from `state`) and its kept mass; status 1 marks a
 * row without a distribution (a NaN, or no finite logit).
 */
const CUT_WGSL = `
  fn writeCut(row : i32, mass : f32) {
    writeParams(row, i32(state.nan), -1, 0.0);
    result[row * ${PARAMS} + ${PARAM.mass}] = bitcast<i32>(mass);
  }

  // Σ exp(z − max) over the tokens inside the cut, reduced over the workgroup
  fn keptMass(row : i32) -> f32 {
    let base = row * uniforms.cols;
    let zmax = state.zmax;
    let cutKey = state.cutKey;
    let cutId = state.cutId;
    var acc = 0.0;
    for (var i = i32(localIndex); i < uniforms.cols; i += i32(WG)) {
      let z = zAt(base, i);
      if (insideCut(keyOf(z), u32(i), cutKey, cutId)) {
        acc += exp(z - zmax);
      }
    }
    sMass[localIndex] = acc;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride = stride >> 1u) {
      if (localIndex < stride) {
        sMass[localIndex] += sMass[localIndex + stride];
      }
      workgroupBarrier();
    }
    return sMass[0];
  }
`;

/** The end of `main` in the 'cut' flavour (`CUT_WGSL`). */
const CUT_TAIL_WGSL = `
    if (workgroupUniformLoad(&state.nan) != 0u) {
      if (localIndex == 0u) {
        writeCut(row, 0.0);
      }
      return;
    }
    if (workgroupUniformLoad(&state.compacted) != 0u) {
      // the kept set is a prefix of the rank-sorted list: its last token is the cut
      sortList(workgroupUniformLoad(&state.listLen), false);
      if (localIndex == 0u) {
        let kept = max(keptOfList(), 1u);
        var mass = 0.0;
        for (var i = 0u; i < kept; i++) {
          mass += candWeight(i, state.zmax);
        }
        state.cutKey = candKey[kept - 1u];
        state.cutId = candId[kept - 1u];
        writeCut(row, mass);
      }
      return;
    }
    // the search converged on the cut (or there was none: p = 1 and no top-k keep every token)
    let mass = keptMass(row);
    if (localIndex == 0u) {
      writeCut(row, mass);
    }
`;

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
 * The first pass also flags a row holding a NaN, drawn at once as (−1, NaN), and one holding +∞, whose
 * scores are `limited` from then on (0 on the +∞ tokens, −∞ elsewhere): `sampleFromLogits`' rules.
 * Writes int32 `[B, 8]` (keys.wgsl.ts: PARAM). The WGSL is assembled from named snippets:
 * select-search.wgsl.ts (pivot search), select-list.wgsl.ts (candidates in workgroup memory) and
 * select-stages.wgsl.ts (the stages after a search, the draw).
 *
 * The 'cut' flavour (`SelectFlavour`) is the same selection with the draw replaced by a last step that
 * records the cut and the kept mass: on the candidate list, the last kept candidate in rank order and
 * the sum of the kept weights; otherwise one more pass over the row sums exp(z − max) inside the cut. A
 * row with no finite logit is flagged there too (status 1) instead of searched.
 */
export class SelectProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms: string;

  constructor(
    rows: number,
    private readonly flavour: SelectFlavour = 'draw',
  ) {
    this.outputShape = [rows, PARAMS];
    this.shaderKey = `tessera_fused_select_${flavour}_${WG}_${SLOTS}_${CAP}`;
    this.variableNames = ['logits'];
    // the draw flavour draws each row's uniform from the Philox stream (seed and offset words)
    this.uniforms = `cols : i32, k : i32, temperature : f32, p : f32, pMin : f32,${flavour === 'draw' ? ` ${ROW_UNIFORM_FIELDS}` : ''}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    const cut = this.flavour === 'cut';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  ${NON_FINITE_FLAGS_WGSL}
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
    limit : u32,
    nan : u32,
  }

  var<workgroup> search : Search;
  var<workgroup> state : RowState;
  var<workgroup> sMass : array<f32, ${SLOTS * WG}>;
  var<workgroup> sCnt : array<atomic<u32>, ${SLOTS}>;
  var<workgroup> candKey : array<u32, ${CAP}>;
  var<workgroup> candId : array<u32, ${CAP}>;
  var<workgroup> nCand : atomic<u32>;

  // z of token i, limited on a row holding +∞ (state.limit, set after pass 0)
  fn zAt(base : i32, i : i32) -> f32 {
    return limited(tempered(logits[base + i]), state.limit != 0u);
  }

  ${PIVOT_SEARCH_WGSL}
  ${CANDIDATE_LIST_WGSL}
  ${SELECT_STAGES_WGSL}
  ${cut ? CUT_WGSL : SELECT_DRAW_WGSL}
  fn main(index : i32) {
    let row = i32(linearWorkgroupIndex());
    let base = row * uniforms.cols;
    let k = uniforms.k;
    let topK = k > 0 && k < uniforms.cols;

    // pass 0: row max, and the k-th largest of the per-thread maxima as the top-k bracket's low end
    // (k distinct tokens are at least that large); flags for NaN and +∞
    clearNonFinite();
    var m = -uniforms.INFINITY;
    var nan = 0u;
    var inf = 0u;
    for (var i = i32(localIndex); i < uniforms.cols; i += i32(WG)) {
      let s = logits[base + i];
      let z = tempered(s);
      if (isnan(s)) {
        nan = 1u;
      } else if (isPositiveInfinity(z)) {
        inf = 1u;
      }
      m = max(m, z);
    }
    addNonFinite(nan, inf);
    workgroupBarrier();
    let flags = nonFinite();
    if (flags.y != 0u) {
      // the limit's per-thread maximum: 0 where this thread saw a +∞ token, −∞ elsewhere
      m = select(-uniforms.INFINITY, 0.0, inf != 0u);
    }
    sMass[localIndex] = m;
    if (localIndex == 0u) {
      state = RowState(0.0, 0u, 0u, NONE, 0u, 0u, 0u, 0u, 0u, IDLE, select(0u, 1u, flags.y != 0u), flags.x);
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
      ${cut ? 'state.nan = select(state.nan, 1u, bitcast<u32>(top) == 0xff800000u);' : ''}
      if (state.nan != 0u) {
        // no search: the row is written (−1, NaN) below
      } else if (topK) {
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

    ${cut ? CUT_TAIL_WGSL : DRAW_TAIL_WGSL}
  }
`;
  }
}
