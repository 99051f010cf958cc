import { PARAM, PARAMS } from '../fused/keys.wgsl.js';
import { RADIX_BINS, RADIX_COPIES, RADIX_HEADER_WORDS, RADIX_SPLIT_WORDS, RADIX_WORKGROUP } from './radix-layout.js';

/**
 * What a radix select searches for: 'none' (no cut: the row max and mass only), 'count' (the k-th largest
 * key: top-k), 'mass' (the key where the mass ranked above reaches p·M: top-p) or 'sparse' (sparsemax's
 * threshold τ, Σ [z − τ]₊ = 1).
 */
export type RadixMode = 'none' | 'count' | 'mass' | 'sparse';

/**
 * The compiled variants: 'truncated' runs 'none', 'count' and 'mass' (the uniform `search` picks, so
 * that one shader serves all three: software Vulkan compiles each shader for seconds), 'sparse' its own
 * weights and criterion.
 */
export type RadixKind = 'truncated' | 'sparse';

/**
 * Whether a program searches inside an earlier cut (the top-k before a top-p): 'none', 'always' (the
 * first pass of such a search, which binds the cut's params `cut: [B, 8]` and copies the cut into its row
 * headers), or 'uniform' (later passes and the cut program of top-k/top-p: the `filtered` uniform says,
 * and the cut comes with the row state in `prev`'s header — one shader for both, with the same
 * bindings, so software Vulkan compiles it once).
 */
export type RadixFilter = 'none' | 'always' | 'uniform';

/** The WGSL condition for `filter`. */
function filteredWgsl(filter: RadixFilter): string {
  if (filter === 'uniform') return '(uniforms.filtered != 0)';
  return filter === 'always' ? 'true' : 'false';
}

/** The value of the `search` uniform per mode. */
export const SEARCH_CODE: Record<RadixMode, number> = { none: 0, count: 1, mass: 2, sparse: 3 };

/**
 * Declarations shared by the radix programs: constants, the row state (`RowState`, in workgroup memory),
 * the scan buffers, the fixed-point decoding and `suffixScan`. Expects keys.wgsl.ts.
 *
 * Header words of a row in the pass outputs (HDR, ahead of its splits' partial histograms): status,
 * limit, bits of max z, the key prefix fixed so far, the count and (bits of) the value ranked above the
 * prefix's range — mass Σ exp(z − max), or for sparsemax Σ (max − z) —, (bits of) the top-p goal p·M,
 * (bits of) sparsemax's offset c, and the earlier cut searched inside (key, last id; 0 and NONE: none).
 *
 * `splitWords`: the stride of a split's block in a row (default `RADIX_SPLIT_WORDS`, the partial
 * histogram and its header); the fused sampler's radix passes append each split's candidate list to
 * its block (fused/radix-draw.program.ts), and every row and split offset below follows.
 */
export function radixCommonWgsl(splitWords: number = RADIX_SPLIT_WORDS): string {
  return `
  const WG = ${RADIX_WORKGROUP}u;
  const BINS = ${RADIX_BINS};
  const COPIES = ${RADIX_COPIES}u;
  const SPLIT_WORDS = ${splitWords};
  const HDR = ${RADIX_HEADER_WORDS};
  const NONE = 0xffffffffu;
  const NEG_INF_KEY = 0x007fffffu;
  const SEARCH_NONE = ${SEARCH_CODE.none};
  const SEARCH_COUNT = ${SEARCH_CODE.count};

  struct RowState {
    status : u32,
    limit : u32,
    zmax : f32,
    prefix : u32,
    cAbove : u32,
    mAbove : f32,
    goal : f32,
    c : f32,
    cutKey : u32,
    cutId : u32,
    ties : u32,
    total : f32,
    need : u32,
    tieSplit : u32,
    tieRank : u32,
    tieId : u32,
  }

  var<workgroup> st : RowState;
  var<workgroup> sCnt : array<u32, ${RADIX_BINS}>;
  var<workgroup> sVal : array<f32, ${RADIX_BINS}>;
  var<workgroup> pick : atomic<u32>;
  var<workgroup> lowest : atomic<u32>;
  var<workgroup> flagMax : atomic<u32>;
  var<workgroup> flagNan : atomic<u32>;
  var<workgroup> flagInf : atomic<u32>;

  fn rowStride() -> i32 {
    return HDR + uniforms.splits * SPLIT_WORDS;
  }

  fn isNegInf(v : f32) -> bool {
    return bitcast<u32>(v) == 0xff800000u;
  }

  // a bin's Σ weight from its 64-bit fixed point (hi: bits 32…63, lo: bits 0…31; value · 2⁴⁰)
  fn fixedValue(lo : u32, hi : u32) -> f32 {
    return ldexp(f32(hi), -8) + ldexp(f32(lo), -40);
  }

  // sparsemax's lower bound on τ for a row (or slice) whose max is m: τ ≥ m − 1, less a margin that covers
  // the rounding of m − 1, so that no token of the support is ever left out
  fn sparseOffset(m : f32) -> f32 {
    return m - 1.0 - max(abs(m), 1.0) * 9.5367431640625e-7;
  }

  // inclusive suffix sums of sCnt and sVal (sCnt[b] = Σ_{b' ≥ b}), Hillis–Steele: a fixed order, so every
  // workgroup of a row gets the same sums
  fn suffixScan() {
    let t = localIndex;
    workgroupBarrier();
    for (var off = 1u; off < u32(BINS); off = off << 1u) {
      var c = sCnt[t];
      var v = sVal[t];
      if (t + off < u32(BINS)) {
        c += sCnt[t + off];
        v += sVal[t + off];
      }
      workgroupBarrier();
      sCnt[t] = c;
      sVal[t] = v;
      workgroupBarrier();
    }
  }
`;
}

/**
 * The opening of a split program's main (grid B · splits, one workgroup per (row, split)): thread `t`, the row and
 * split, the split's block in the output (`out`), its slice [start, end) of the row and the row's offset in the logits.
 */
export const SPLIT_PROLOGUE_WGSL = `
    let t = localIndex;
    let wg = i32(linearWorkgroupIndex());
    let row = wg / uniforms.splits;
    let split = wg - row * uniforms.splits;
    let out = row * rowStride() + HDR + split * SPLIT_WORDS;
    let start = split * uniforms.slice;
    let end = min(start + uniforms.slice, uniforms.cols);
    let base = row * uniforms.cols;`;

/**
 * Tokens a thread loads before it uses any in the slice loops (`sliceLoopWgsl`). One load at a time left
 * the passes latency-bound: at 64 × 131072 (8 splits, 64 tokens a thread) a pass took ~4× the time of
 * one read of the logits on an H100 (2026-12-07), each thread waiting out the latency of each of its
 * loads in turn. Eight independent loads a thread keep ~8× the bytes in flight.
 */
export const RADIX_LOADS = 8;

/**
 * A loop over the workgroup's slice [start, end) of row `base` of `logits`, calling `visit(i, s)` on each
 * token i with its raw logit s, thread t on tokens start + t + 256j as one load a token would: each turn
 * a thread first loads `RADIX_LOADS` tokens 256 apart (coalesced across the workgroup; a token past the
 * end loads the last one, and is not visited), then visits them in order. Which thread visits which token
 * is as before, and the visits only add into workgroup atomics (integers, exact in any order) or take
 * maxima and flags, so the results are the same bits. Expects `t`, `base`, `start` and `end` in scope.
 */
export function sliceLoopWgsl(visit: string): string {
  const loads: string[] = [];
  const visits: string[] = [];
  for (let j = 0; j < RADIX_LOADS; j++) {
    const at = j === 0 ? 'a' : `a + ${j * RADIX_WORKGROUP}`;
    loads.push(`let s${j} = logits[base + min(${at}, last)];`);
    visits.push(j === 0 ? `${visit}(a, s0);` : `if (${at} < end) {\n        ${visit}(${at}, s${j});\n      }`);
  }
  return `
    let last = end - 1;
    for (var a = start + i32(t); a < end; a += ${RADIX_LOADS * RADIX_WORKGROUP}) {
      ${loads.join('\n      ')}
      ${visits.join('\n      ')}
    }`;
}

/** `radixCommonWgsl` with the closed forms' layout. */
export const RADIX_COMMON_WGSL = radixCommonWgsl();

/** z of token i of a row (`logits`), limited on a row holding +∞; only for programs that bind the logits. */
export const Z_AT_WGSL = `
  fn zAt(base : i32, i : i32, lim : bool) -> f32 {
    return limited(tempered(logits[base + i]), lim);
  }
`;

/** The row state before digit 0 of an unfiltered search, from the splits' headers of the first pass. */
function initFirstWgsl(kind: RadixKind): string {
  return `
      if (t == 0u) {
        atomicStore(&flagMax, NEG_INF_KEY);
        atomicStore(&flagNan, 0u);
        atomicStore(&flagInf, 0u);
      }
      workgroupBarrier();
      if (i32(t) < uniforms.splits) {
        let h = prevRow + HDR + i32(t) * SPLIT_WORDS + 3 * BINS;
        atomicMax(&flagMax, keyOf(bitcast<f32>(prev[h])));
        atomicOr(&flagNan, bitcast<u32>(prev[h + 1]));
        atomicAdd(&flagInf, bitcast<u32>(prev[h + 2]));
      }
      workgroupBarrier();
      if (t == 0u) {
        let inf = atomicLoad(&flagInf);
        // a row holding +∞ is limited: its max is 0 (the +∞ tokens), every other token −∞
        let top = select(valueOf(atomicLoad(&flagMax)), 0.0, inf != 0u);
        var status = select(0u, 1u, atomicLoad(&flagNan) != 0u || isNegInf(top));
        ${kind === 'sparse' ? 'status = select(status, 1u, inf != 0u);' : ''}
        st = RowState(status, select(0u, 1u, inf != 0u), top, 0u, 0u, 0.0, 0.0, sparseOffset(top), 0u, NONE, inf, 0.0, 0u, 0u, 0u, NONE);
      }`;
}

/** WGSL setting `st` from the `cut` params of row `row` (thread 0): a search inside a top-k before its top-p. */
export const INIT_FILTERED_WGSL = `
      if (t == 0u) {
        let pb = row * ${PARAMS};
        st = RowState(select(0u, 1u, cut[pb + ${PARAM.status}] != 0), select(0u, 1u, cut[pb + ${PARAM.limit}] != 0),
          bitcast<f32>(cut[pb + ${PARAM.zmax}]), 0u, 0u, 0.0, 0.0, 0.0, bitcast<u32>(cut[pb + ${PARAM.cutKey}]),
          bitcast<u32>(cut[pb + ${PARAM.cutId}]), 0u, 0.0, 0u, 0u, 0u, NONE);
      }`;

/** The row state written by the previous pass (its split 0) in the row's header, with the earlier cut if any. */
const LOAD_HEADER_WGSL = `
      if (t == 0u) {
        st = RowState(bitcast<u32>(prev[prevRow]), bitcast<u32>(prev[prevRow + 1]), bitcast<f32>(prev[prevRow + 2]),
          bitcast<u32>(prev[prevRow + 3]), bitcast<u32>(prev[prevRow + 4]), bitcast<f32>(prev[prevRow + 5]),
          bitcast<f32>(prev[prevRow + 6]), bitcast<f32>(prev[prevRow + 7]), bitcast<u32>(prev[prevRow + 8]),
          bitcast<u32>(prev[prevRow + 9]), 0u, 0.0, 0u, 0u, 0u, NONE);
      }`;

/** WGSL writing the row state into the header of row `row` of `result` (thread 0 of split 0). */
export const WRITE_HEADER_WGSL = `
  fn writeHeader(row : i32) {
    let h = row * rowStride();
    result[h] = bitcast<i32>(st.status);
    result[h + 1] = bitcast<i32>(st.limit);
    result[h + 2] = bitcast<i32>(st.zmax);
    result[h + 3] = bitcast<i32>(st.prefix);
    result[h + 4] = bitcast<i32>(st.cAbove);
    result[h + 5] = bitcast<i32>(st.mAbove);
    result[h + 6] = bitcast<i32>(st.goal);
    result[h + 7] = bitcast<i32>(st.c);
    result[h + 8] = bitcast<i32>(st.cutKey);
    result[h + 9] = bitcast<i32>(st.cutId);
  }
`;

/** Whether bin t qualifies as the one holding the threshold: the highest qualifying bin is chosen. */
function qualifiesWgsl(kind: RadixKind): string {
  if (kind === 'sparse') {
    // f(v) = Σ_{z ≥ v} (z − v) at the bin's lowest value v is ≥ 1 (f falls to 1 at τ), or v is at or
    // below c, where f ≥ 1 always; sVal holds Σ (max − z), so f(v) = N·(max − v) − Σ (max − z)
    return `
      let low = prefix | (t << shift);
      let ok = low <= keyOf(st.c) || f32(aboveC + sCnt[t]) * (zmax - valueOf(low)) - (aboveV + sVal[t]) >= 1.0;`;
  }
  // top-k: at least k tokens at or above the bin's lowest key; top-p: the mass there reaches p·M (so the
  // token crossing p·M lies in the bin)
  return `
      var ok = false;
      if (uniforms.search == SEARCH_COUNT) {
        ok = cnt > 0u && aboveC + sCnt[t] >= u32(uniforms.k);
      } else {
        ok = cnt > 0u && aboveV + sVal[t] >= goal;
      }`;
}

/**
 * When `advance` loads a split's mass words: 'eager' with its count, before testing it (the loads travel together, 3
 * words per split and bin), 'lazy' only for non-empty bins (a third of the words where the histograms are sparse, as
 * in the later digits, but each mass load waits for its count). The radix passes and the cut run 'eager'; 'lazy'
 * stays for the closed-forms bench, which times the cut both ways in one run (the cut took 0.028 ms before the
 * eager loads and 0.071 after, across two H100 calls).
 */
export type AdvanceLoads = 'eager' | 'lazy';

/**
 * `advance(row, d)`: the row state after digit d of the threshold key (0: the top byte; whole workgroup,
 * d uniform). Reduces the previous pass's partial histograms (`prev`) over the row's splits — thread t
 * owns bin t — in a fixed order, scans the bins from the top, and fixes the digit: the highest bin that
 * qualifies (`qualifiesWgsl`); the prefix, the count and value ranked above it and the ties in it go to
 * `st`. Digit 0 first sets up the row: from the splits' headers (max, NaN, +∞), rescaling each split's
 * sums from its own max to the row's, or, inside an earlier cut, from the row header; a limited row (+∞)
 * gets its histogram from the counts alone (its +∞ tokens at z = 0, the rest at −∞). Search 'none' stops
 * after the sums (`st.total` is the row's mass M). Returns early (status ≠ 0) on a row without a
 * distribution.
 */
export function advanceWgsl(kind: RadixKind, filter: RadixFilter, loads: AdvanceLoads = 'eager'): string {
  const unfiltered = `!${filteredWgsl(filter)}`;
  const rescale = `if (d == 0u && ${unfiltered}) {
            let m = bitcast<f32>(prev[sb + 3 * BINS]);
            ${kind === 'sparse' ? 'v += f32(n) * (zmax - m);' : 'v *= exp(m - zmax);'}
          }`;
  // digit 0 inside an earlier cut: the first pass wrote the cut, max and flags into the row header
  let init = initFirstWgsl(kind);
  if (filter === 'always') init = LOAD_HEADER_WGSL;
  if (filter === 'uniform')
    init = `if (uniforms.filtered != 0) {${LOAD_HEADER_WGSL}
      } else {${init}
      }`;
  const synthetic =
    kind === 'truncated'
      ? `if (d == 0u && ${unfiltered} && st.limit != 0u) {
      // st.ties holds the row's +∞ count here
      let inf = st.ties;
      let zeroBin = keyOf(0.0) >> 24u;
      cnt = select(select(0u, u32(uniforms.cols) - inf, t == 0u), inf, t == zeroBin);
      val = select(0.0, f32(inf), t == zeroBin);
    } else `
      : '';
  return `
  fn advance(row : i32, d : u32) {
    let t = localIndex;
    let prevRow = row * rowStride();
    if (d == 0u) {
      ${init}
    } else {
      ${LOAD_HEADER_WGSL}
    }
    if (t == 0u) {
      atomicStore(&pick, 0u);
      atomicStore(&lowest, u32(BINS));
    }
    if (workgroupUniformLoad(&st.status) != 0u) {
      return;
    }
    let zmax = st.zmax;
    var cnt = 0u;
    var val = 0.0;
    ${synthetic}{
      for (var s = 0; s < uniforms.splits; s++) {
        let sb = prevRow + HDR + s * SPLIT_WORDS;
        let n = bitcast<u32>(prev[sb + i32(t)]);
        ${
          loads === 'eager'
            ? `// the words loaded together, before the test on n: a load under the test would wait for n's
        let lo = bitcast<u32>(prev[sb + BINS + i32(t)]);
        let hi = bitcast<u32>(prev[sb + 2 * BINS + i32(t)]);
        if (n != 0u) {`
            : `if (n != 0u) {
          let lo = bitcast<u32>(prev[sb + BINS + i32(t)]);
          let hi = bitcast<u32>(prev[sb + 2 * BINS + i32(t)]);`
        }
          var v = fixedValue(lo, hi);
          ${rescale}
          cnt += n;
          val += v;
        }
      }
    }
    sCnt[t] = cnt;
    sVal[t] = val;
    suffixScan();
    // p·M: M the mass of the row (of the earlier cut, when filtered), set with digit 0
    var goal = 0.0;
    if (d == 0u) {
      goal = uniforms.p * sVal[0];
      if (t == 0u) {
        st.total = sVal[0];
        st.goal = goal;
      }
    } else {
      goal = st.goal;
    }
    if (${kind === 'sparse' ? 'false' : 'uniforms.search == SEARCH_NONE'}) {
      workgroupBarrier();
      return;
    }
    let shift = 24u - 8u * d;
    let aboveC = st.cAbove;
    let aboveV = st.mAbove;
    let prefix = st.prefix;
    ${qualifiesWgsl(kind)}
    if (ok) {
      atomicMax(&pick, t + 1u);
    }
    if (cnt > 0u) {
      atomicMin(&lowest, t);
    }
    workgroupBarrier();
    if (t == 0u) {
      let picked = atomicLoad(&pick);
      let least = atomicLoad(&lowest);
      // no bin qualifies only through round-off (the sums above differ from the parent bin's in order):
      // sparsemax refines the parent's lowest sub-bin, top-k and top-p the lowest non-empty bin
      var b = ${kind === 'sparse' ? '0u' : 'select(0u, least, least < u32(BINS))'};
      if (picked > 0u) {
        b = picked - 1u;
      }
      let next = min(b + 1u, u32(BINS) - 1u);
      let upC = select(0u, sCnt[next], b + 1u < u32(BINS));
      let upV = select(0.0, sVal[next], b + 1u < u32(BINS));
      st.ties = sCnt[b] - upC;
      st.prefix = prefix | (b << shift);
      st.cAbove = aboveC + upC;
      st.mAbove = aboveV + upV;
    }
    workgroupBarrier();
  }
`;
}

/**
 * `firstScan(base, start, end, out)` (whole workgroup): the slice's max key, NaN flag and +∞ count, into
 * the split's header words and `st` (zmax: the slice max; status: the slice holds a NaN or +∞, where the
 * histogram is skipped — the next pass replaces a limited row's histogram by its counts).
 */
export const FIRST_SCAN_WGSL = `
  var<private> scanMax : u32;
  var<private> scanNan : u32;
  var<private> scanInf : u32;

  fn scanToken(i : i32, s : f32) {
    let z = tempered(s);
    if (isnan(s)) {
      scanNan = 1u;
    } else if (isPositiveInfinity(z)) {
      scanInf += 1u;
    }
    scanMax = max(scanMax, keyOf(z));
  }

  fn firstScan(base : i32, start : i32, end : i32, out : i32) {
    let t = localIndex;
    if (t == 0u) {
      atomicStore(&flagMax, NEG_INF_KEY);
    }
    workgroupBarrier();
    scanMax = NEG_INF_KEY;
    scanNan = 0u;
    scanInf = 0u;
    ${sliceLoopWgsl('scanToken')}
    atomicMax(&flagMax, scanMax);
    if (scanNan != 0u) {
      atomicOr(&flagNan, 1u);
    }
    if (scanInf != 0u) {
      atomicAdd(&flagInf, scanInf);
    }
    workgroupBarrier();
    if (t == 0u) {
      let m = valueOf(atomicLoad(&flagMax));
      let h = out + 3 * BINS;
      result[h] = bitcast<i32>(m);
      result[h + 1] = bitcast<i32>(atomicLoad(&flagNan));
      result[h + 2] = bitcast<i32>(atomicLoad(&flagInf));
      st.status = select(0u, 1u, atomicLoad(&flagNan) != 0u || atomicLoad(&flagInf) != 0u);
      st.zmax = m;
    }
    workgroupBarrier();
  }
`;

/**
 * `histogram(base, start, end, digit, origin, lim, out)`, one pass over the workgroup's slice
 * (`sliceLoopWgsl`, each token visited by `histToken`): tokens
 * whose key matches the prefix fixed so far (and lie inside the `cut`, when filtered) add 1 and their
 * weight to the bin of digit `digit` — exp(z − origin) (origin: the row max, or the slice's own in the
 * first pass), for sparsemax origin − z on the tokens above c = `sparseOffset(origin)` (≥ 0 and ≤ ~1, and
 * exact where the max is 0, as `sparsemax` feeds it; the rest can never be in the support). Counts go
 * through workgroup u32 atomics, weights as 64-bit fixed point (u32 atomics, the carry taken from the low
 * word's old value: exact and in no particular order, so every run gives the same bits), into 4
 * interleaved copies. Then thread t sums bin t's copies and writes the slice's partial histogram.
 * `weighted` false (the fused sampler's top-k, which needs counts only): no weights, the mass words 0.
 */
export function histogramWgsl(kind: RadixKind, filter: RadixFilter, weighted = true): string {
  const inside =
    filter === 'none' ? '' : `if (${filteredWgsl(filter)} && !insideCut(key, u32(i), hCutKey, hCutId)) {\n      return;\n    }`;
  let weight = kind === 'sparse' ? 'if (!(z > hLow)) {\n      return;\n    }\n    let w = hOrigin - z;' : 'let w = exp(z - hOrigin);';
  if (!weighted) weight = '';
  return `
  var<workgroup> hCnt : array<atomic<u32>, ${RADIX_BINS * RADIX_COPIES}>;
  var<workgroup> hLo : array<atomic<u32>, ${RADIX_BINS * RADIX_COPIES}>;
  var<workgroup> hHi : array<atomic<u32>, ${RADIX_BINS * RADIX_COPIES}>;

  // the pass's constants for histToken, set by histogram
  var<private> hLane : u32;
  var<private> hPrefix : u32;
  var<private> hMask : u32;
  var<private> hShift : u32;
  var<private> hCutKey : u32;
  var<private> hCutId : u32;
  var<private> hOrigin : f32;
  var<private> hLow : f32;
  var<private> hLim : bool;

  fn addWeight(slot : u32, w : f32) {
    let scaled = w * 256.0;
    let whole = floor(scaled);
    var hi = u32(whole);
    let lo = u32((scaled - whole) * 4294967296.0);
    if (lo != 0u) {
      let old = atomicAdd(&hLo[slot], lo);
      if (old > 0xffffffffu - lo) {
        hi += 1u;
      }
    }
    if (hi != 0u) {
      atomicAdd(&hHi[slot], hi);
    }
  }

  // token i, raw logit s: into its bin when its key matches the prefix
  fn histToken(i : i32, s : f32) {
    let z = limited(tempered(s), hLim);
    let key = keyOf(z);
    if ((key & hMask) != hPrefix) {
      return;
    }
    ${inside}
    ${weight}
    let slot = ((key >> hShift) & 0xffu) * COPIES + hLane;
    atomicAdd(&hCnt[slot], 1u);
    ${weighted ? 'addWeight(slot, w);' : ''}
  }

  fn histogram(base : i32, start : i32, end : i32, digit : u32, origin : f32, lim : bool, out : i32) {
    let t = localIndex;
    hLane = t % COPIES;
    hPrefix = st.prefix;
    hCutKey = st.cutKey;
    hCutId = st.cutId;
    // the digits above this one (none for digit 0)
    hMask = ~(0xffffffffu >> (8u * digit));
    hShift = 24u - 8u * digit;
    hOrigin = origin;
    hLow = ${kind === 'sparse' ? 'sparseOffset(origin)' : '0.0'};
    hLim = lim;
    ${sliceLoopWgsl('histToken')}
    workgroupBarrier();
    var n = 0u;
    var lo = 0u;
    var hi = 0u;
    for (var c = 0u; c < COPIES; c++) {
      let slot = t * COPIES + c;
      n += atomicLoad(&hCnt[slot]);
      let l = atomicLoad(&hLo[slot]);
      lo += l;
      if (lo < l) {
        hi += 1u;
      }
      hi += atomicLoad(&hHi[slot]);
    }
    result[out + i32(t)] = bitcast<i32>(n);
    result[out + BINS + i32(t)] = bitcast<i32>(lo);
    result[out + 2 * BINS + i32(t)] = bitcast<i32>(hi);
  }
`;
}

/**
 * `tieBreak(row, x, need)` (whole workgroup): the id of the need-th token (1-based, in id order) among
 * those with key x (inside the `cut`, when filtered). The last pass's partial histograms hold each
 * split's count of them (splits are contiguous id ranges), so a prefix over splits names the split and the
 * rank in it. The slice is then cut into 256 chunks: one coalesced read counts the tied tokens per chunk
 * (workgroup atomics), a prefix over chunks names the chunk, and the workgroup reads that chunk 256
 * tokens at a time, a prefix over them naming the token.
 */
export function tieBreakWgsl(filter: RadixFilter): string {
  return `
  var<workgroup> chunkTies : array<atomic<u32>, ${RADIX_BINS}>;

  fn tiedAt(base : i32, i : i32, x : u32, lim : bool, cutKey : u32, cutId : u32) -> bool {
    let key = keyOf(zAt(base, i, lim));
    return key == x${filter === 'none' ? '' : ` && (!${filteredWgsl(filter)} || insideCut(key, u32(i), cutKey, cutId))`};
  }

  // thread t's inclusive prefix (in thread order) of the counts n the threads hold: the suffix scan over
  // the threads in reverse; sCnt[0] then holds the total (read it with workgroupUniformLoad to branch on it)
  fn prefixOver(n : u32) -> u32 {
    let r = u32(BINS) - 1u - localIndex;
    sCnt[r] = n;
    sVal[r] = 0.0;
    suffixScan();
    return sCnt[r];
  }

  fn tieBreak(row : i32, x : u32, need : u32) -> u32 {
    let t = localIndex;
    // the split holding the need-th tied token, and its rank there (0-based)
    var n = 0u;
    if (i32(t) < uniforms.splits) {
      n = bitcast<u32>(prev[row * rowStride() + HDR + i32(t) * SPLIT_WORDS + i32(x & 0xffu)]);
    }
    let upTo = prefixOver(n);
    if (i32(t) < uniforms.splits && upTo >= need && upTo - n < need) {
      st.tieSplit = t;
      st.tieRank = need - 1u - (upTo - n);
    }
    let split = i32(workgroupUniformLoad(&st.tieSplit));
    let start = split * uniforms.slice;
    let end = min(start + uniforms.slice, uniforms.cols);
    let chunk = (end - start + i32(WG) - 1) / i32(WG);
    let base = row * uniforms.cols;
    let lim = st.limit != 0u;
    let cutKey = st.cutKey;
    let cutId = st.cutId;
    // tied tokens per chunk, then the chunk holding the one of that rank
    for (var i = start + i32(t); i < end; i += i32(WG)) {
      if (tiedAt(base, i, x, lim, cutKey, cutId)) {
        atomicAdd(&chunkTies[(i - start) / chunk], 1u);
      }
    }
    workgroupBarrier();
    let m = atomicLoad(&chunkTies[t]);
    let rank = st.tieRank;
    let inChunks = prefixOver(m);
    if (inChunks > rank && inChunks - m <= rank) {
      st.tieSplit = t;
      st.tieRank = rank - (inChunks - m);
    }
    let first = start + i32(workgroupUniformLoad(&st.tieSplit)) * chunk;
    let last = min(first + chunk, end);
    // the chunk, 256 tokens at a time
    for (var a = first; a < last; a += i32(WG)) {
      let i = a + i32(t);
      let tied = i < last && tiedAt(base, i, x, lim, cutKey, cutId);
      let seen = prefixOver(select(0u, 1u, tied));
      let total = workgroupUniformLoad(&sCnt[0]);
      let left = workgroupUniformLoad(&st.tieRank);
      if (tied && seen == left + 1u) {
        st.tieId = u32(i);
      }
      if (total > left) {
        break;
      }
      if (t == 0u) {
        st.tieRank = left - total;
      }
    }
    return workgroupUniformLoad(&st.tieId);
  }
`;
}
