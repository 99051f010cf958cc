import { PARAM, PARAMS } from './keys.wgsl.js';
import { ROW_UNIFORM_WGSL } from '../sample/row-uniform.wgsl.js';

/**
 * `keptOfList` (thread 0, the candidates sorted by rank in workgroup memory): top-p and min-p on the
 * list, returning the kept prefix's length. With `state.listMode` 0 the list starts with the top-k set
 * (its first k entries): the nucleus is taken over those k, at p · their mass; otherwise at
 * `search.goalMass`. Shared by `SelectProgram` and the radix sampler's draw (radix-draw.program.ts).
 * Expects `state` (zmax, listLen, listMode), `search` (goalMass), `candWeight` and the uniforms k, p, pMin.
 */
export const KEPT_OF_LIST_WGSL = `
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

`;

/**
 * The stages of `SelectProgram` (select.program.ts) after a search, run by thread 0: `writeParams` (the
 * row's result, keys.wgsl.ts: PARAM), `finishStage` (record the cut of a search that converged on an exact
 * key outside workgroup memory, or start the search over ids among the tokens tied at it, then start the
 * next stage) and `keptOfList` (`KEPT_OF_LIST_WGSL`). Expects the program's
 * structs and state, the pivot search and candidate-list snippets, and the constants `NONE` and `IDLE`.
 */
export const SELECT_STAGES_WGSL = `
  fn writeParams(row : i32, status : i32, id : i32, logprob : f32) {
    let pb = row * ${PARAMS};
    result[pb + ${PARAM.status}] = status;
    result[pb + ${PARAM.zmax}] = bitcast<i32>(state.zmax);
    result[pb + ${PARAM.cutKey}] = bitcast<i32>(state.cutKey);
    result[pb + ${PARAM.cutId}] = bitcast<i32>(state.cutId);
    result[pb + ${PARAM.id}] = id;
    result[pb + ${PARAM.logprob}] = bitcast<i32>(logprob);
    result[pb + ${PARAM.limit}] = i32(state.limit);
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

${KEPT_OF_LIST_WGSL}`;

/**
 * `drawFromList` (thread 0: the inverse CDF over the kept candidates in id order, written as the row's
 * result), apart from the stages because it draws the row's uniform (`rowUniform`, from the Philox stream),
 * which only the sampling flavour of `SelectProgram` has the uniforms for. Expects `state.zmax`,
 * `candWeight`, `candKey`, `candId`, the uniforms `ROW_UNIFORM_FIELDS` and
 * `writeParams(row, status, id, logprob)`: `SelectProgram`'s writes the row's params, the radix
 * sampler's draws (radix-draw.program.ts, candidates-draw.program.ts) both of theirs.
 */
export const SELECT_DRAW_WGSL = `
  ${ROW_UNIFORM_WGSL}
  // thread 0, kept candidates sorted by id: the inverse CDF over them
  fn drawFromList(row : i32, keep : u32) {
    let zmax = state.zmax;
    var total = 0.0;
    for (var i = 0u; i < keep; i++) {
      total += candWeight(i, zmax);
    }
    let goal = rowUniform(row) * total;
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

`;
