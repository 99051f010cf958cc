import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUOutputsProgram, type WebGPUProgram } from '@tessera/tensor-core';
import { RADIX_BINS, RADIX_COPIES, RADIX_HEADER_WORDS, RADIX_SPLIT_WORDS, RADIX_WORKGROUP } from '../closed-forms/radix-layout.js';
import { RADIX_UNIFORMS } from '../closed-forms/radix-select.program.js';
import {
  advanceWgsl,
  histogramWgsl,
  radixCommonWgsl,
  SPLIT_PROLOGUE_WGSL,
  tieBreakWgsl,
  WRITE_HEADER_WGSL,
  Z_AT_WGSL,
} from '../closed-forms/radix-select.wgsl.js';
import { DRAW_OUTPUT_NAMES, DRAW_UNIFORM_FIELDS } from '../sample/draw-output.js';
import { KEY_ORDER_WGSL, KEYS_WGSL } from './keys.wgsl.js';
import { ROW_UNIFORM_FIELDS } from '../sample/row-uniform.wgsl.js';
import { SELECT_CAP } from './select-list.wgsl.js';
import { LIST_DRAW_TAIL_WGSL, LIST_DRAW_WGSL } from './list-draw.wgsl.js';

const WG = RADIX_WORKGROUP;
/** Candidates a row's list holds: the one-workgroup path's `SELECT_CAP`, sorted in workgroup memory by the same code. */
export const RADIX_LIST_CAP = SELECT_CAP;
/** Words of a split's candidate list: its length, then the keys and the ids of up to `RADIX_LIST_CAP` candidates. */
const LIST_WORDS = 1 + 2 * RADIX_LIST_CAP;
/** Offset of the list in a split's block, after the partial histogram of the closed forms' layout. */
const LIST = RADIX_SPLIT_WORDS;
/** Words of a split's block in the sampler's pass outputs: histogram (as the closed forms') and candidate list. */
export const SAMPLE_SPLIT_WORDS = RADIX_SPLIT_WORDS + LIST_WORDS;
/** Row status in the pass headers: 0 searching, 1 no distribution (a NaN, or no finite logit), 2 listed. */
const LISTED = 2;
/** The `digit` uniform of the last pass (`SampleRadixPassProgram` with `last`), which fixes digit 3 and lists every row still searching. */
export const SAMPLE_LAST_DIGIT = 4;

/**
 * Pass 0 of the sampler's radix select (`radixListDraw`), over `logits: [B, V]` split as the closed forms'
 * radix passes are (grid B · splits): one read of the slice for its max, NaN flag and +∞ count (the split's
 * header words) and the count of its keys per value of digit 0, without weights — top-k needs counts only,
 * so unlike the closed forms' first pass (`RadixPassProgram`, which weighs each token relative to the
 * slice max and so reads the slice twice) it reads the slice once. The mass words are written 0. Writes
 * int32 `[B, 10 + splits · SAMPLE_SPLIT_WORDS]` (the closed forms' layout, each split's block followed by
 * room for its candidate list); `advance` reads it as the first pass's output.
 */
export class SampleCountPassProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_sample_radix_first_${WG}_${RADIX_BINS}_${RADIX_COPIES}_${RADIX_LIST_CAP}`;
  variableNames = ['logits'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;

  constructor(rows: number, splits: number) {
    this.outputShape = [rows, RADIX_HEADER_WORDS + splits * SAMPLE_SPLIT_WORDS];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * splits));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  ${radixCommonWgsl(SAMPLE_SPLIT_WORDS)}
  var<workgroup> hCnt : array<atomic<u32>, ${RADIX_BINS * RADIX_COPIES}>;

  fn main(index : i32) {
    ${SPLIT_PROLOGUE_WGSL}
    let lane = t % COPIES;
    if (t == 0u) {
      atomicStore(&flagMax, NEG_INF_KEY);
    }
    workgroupBarrier();
    var mk = NEG_INF_KEY;
    var nan = 0u;
    var inf = 0u;
    for (var i = start + i32(t); i < end; i += i32(WG)) {
      let s = logits[base + i];
      let z = tempered(s);
      if (isnan(s)) {
        nan = 1u;
      } else if (isPositiveInfinity(z)) {
        inf += 1u;
      }
      // a NaN lands in some bin: its row is flagged, and its histogram never read
      let key = keyOf(z);
      mk = max(mk, key);
      atomicAdd(&hCnt[(key >> 24u) * COPIES + lane], 1u);
    }
    atomicMax(&flagMax, mk);
    if (nan != 0u) {
      atomicOr(&flagNan, 1u);
    }
    if (inf != 0u) {
      atomicAdd(&flagInf, inf);
    }
    workgroupBarrier();
    var n = 0u;
    for (var c = 0u; c < COPIES; c++) {
      n += atomicLoad(&hCnt[t * COPIES + c]);
    }
    result[out + i32(t)] = bitcast<i32>(n);
    result[out + BINS + i32(t)] = 0;
    result[out + 2 * BINS + i32(t)] = 0;
    if (t == 0u) {
      let h = out + 3 * BINS;
      result[h] = bitcast<i32>(valueOf(atomicLoad(&flagMax)));
      result[h + 1] = bitcast<i32>(atomicLoad(&flagNan));
      result[h + 2] = bitcast<i32>(atomicLoad(&flagInf));
    }
  }
`;
  }
}

/**
 * Passes 1…4 of the sampler's radix select (`radixListDraw`; the `digit` uniform, 1…4): every workgroup
 * (row, split) first redoes `advance` over the previous pass's partial histograms, fixing digit
 * `digit − 1` of the top-k threshold as the closed forms' passes do, which also gives the number of tokens
 * at or above the prefix fixed so far (those above its range, and those in it). As soon as they fit in
 * `RADIX_LIST_CAP` — they hold the top-k set — the workgroup copies its slice's share of them (key, id) to
 * its split's list and the row is *listed* (status 2): no more digits, the later passes only carry the
 * lists forward (a copy of at most 512 pairs a row). Otherwise passes 1…3 histogram digit `digit` as the
 * closed forms' pass does, counts only. The last pass (`last`, digit 4) fixes digit 3, so the threshold
 * key x is exact, and lists every row still searching: all tokens at or above x when they fit, else (more
 * tokens tied at x than fit) those above x and the first k − (tokens above x) tied at x by id, found by
 * the closed forms' `tieBreak`. The last pass is a shader of its own, as the closed forms' cut program
 * is: the histogram passes stay small, and software Vulkan compiles two small shaders no slower than one
 * holding both. Lists hold the row's candidates in no particular order (workgroup atomics); the draw
 * sorts them.
 *
 * On logits the lists usually form after digit 0, 1 or 2 (an 8-, 16- or 24-bit prefix): 2 or 3 reads of
 * the row in all with pass 0, where the closed forms' top-k reads it 5 times and writes no list. Output:
 * int32 `[B, 10 + splits · SAMPLE_SPLIT_WORDS]`; inputs: the logits and the previous pass's output (`prev`).
 */
export class SampleRadixPassProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['logits', 'prev'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;

  constructor(
    rows: number,
    splits: number,
    private readonly last = false,
  ) {
    this.outputShape = [rows, RADIX_HEADER_WORDS + splits * SAMPLE_SPLIT_WORDS];
    this.shaderKey = `tessera_sample_radix_${last ? 'last' : 'next'}_${WG}_${RADIX_BINS}_${RADIX_COPIES}_${RADIX_LIST_CAP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * splits));
  }

  getUserCode(): string {
    const { last } = this;
    // the last pass lists every row; the others list the rows whose candidates fit, and histogram the rest
    const finish = last
      ? `
    let x = workgroupUniformLoad(&st.prefix);
    var cutId = NONE;
    if (above + ties > CAP) {
      // more tokens tied at the exact threshold x than fit: the first need of them by id
      let k = u32(uniforms.k);
      let need = min(max(k - min(above, k), 1u), ties);
      if (need < ties) {
        cutId = tieBreak(row, x, need);
      }
    }
    listRow(row, base, start, end, x, cutId, out + LIST, head);`
      : `
    if (above + ties <= CAP) {
      // x is the prefix's lowest key: every token at or above it is listed
      listRow(row, base, start, end, workgroupUniformLoad(&st.prefix), NONE, out + LIST, head);
      return;
    }
    if (head) {
      writeHeader(row);
    }
    histogram(base, start, end, digit, st.zmax, st.limit != 0u, out);`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  ${radixCommonWgsl(SAMPLE_SPLIT_WORDS)}
  ${Z_AT_WGSL}
  ${advanceWgsl('truncated', 'none')}
  ${WRITE_HEADER_WGSL}
  ${last ? tieBreakWgsl('none') : histogramWgsl('truncated', 'none', false)}
  const CAP = ${RADIX_LIST_CAP}u;
  const LIST = ${LIST};
  const LISTED = ${LISTED}u;
  var<workgroup> listLen : atomic<u32>;

  // a row listed by an earlier pass: its split's list, from the previous output to this one
  fn copyList(at : i32) {
    let n = prev[at];
    for (var j = i32(localIndex); j < n; j += i32(WG)) {
      result[at + 1 + j] = prev[at + 1 + j];
      result[at + 1 + i32(CAP) + j] = prev[at + 1 + i32(CAP) + j];
    }
    if (localIndex == 0u) {
      result[at] = n;
    }
  }

  // the slice's tokens inside the cut (every key above x, and those at x up to id cutId) into the
  // split's list; the row is listed
  fn listRow(row : i32, base : i32, start : i32, end : i32, x : u32, cutId : u32, to : i32, head : bool) {
    let lim = st.limit != 0u;
    for (var i = start + i32(localIndex); i < end; i += i32(WG)) {
      let key = keyOf(zAt(base, i, lim));
      if (insideCut(key, u32(i), x, cutId)) {
        let slot = atomicAdd(&listLen, 1u);
        if (slot < CAP) {
          result[to + 1 + i32(slot)] = bitcast<i32>(key);
          result[to + 1 + i32(CAP + slot)] = i;
        }
      }
    }
    workgroupBarrier();
    if (localIndex == 0u) {
      result[to] = i32(min(atomicLoad(&listLen), CAP));
    }
    if (head) {
      writeHeader(row);
      result[row * rowStride()] = i32(LISTED);
    }
  }

  fn main(index : i32) {
    ${SPLIT_PROLOGUE_WGSL}
    let digit = u32(uniforms.digit);
    let head = split == 0 && t == 0u;
    advance(row, digit - 1u);
    let status = workgroupUniformLoad(&st.status);
    if (status == LISTED) {
      copyList(out + LIST);
    }
    if (status != 0u) {
      if (head) {
        writeHeader(row);
      }
      return;
    }
    let above = workgroupUniformLoad(&st.cAbove);
    let ties = workgroupUniformLoad(&st.ties);
    ${finish}
  }
`;
  }
}

/** The last pass (`SampleRadixPassProgram` with `last`), a class of its own so that profiles by program name it apart. */
export class SampleRadixLastPassProgram extends SampleRadixPassProgram {
  constructor(rows: number, splits: number) {
    super(rows, splits, true);
  }
}

/**
 * The draw of the sampler's radix select (`radixListDraw`), one workgroup per row, from the last pass's
 * output (`list`): the row's candidates gathered from its splits' lists into workgroup memory (a prefix over
 * the splits' list lengths names the split holding each), then exactly what `SelectProgram`'s 'draw'
 * flavour does with a candidate list that starts with the top-k set — the same WGSL: a bitonic sort by rank
 * (z desc, id asc), the top-k set as the first k, top-p over those k and min-p (`keptOfList`), a sort by id
 * and the inverse CDF with the row's uniform (`drawFromList`; `rowUniform`, drawn here from the Philox
 * stream). So a row draws the same token, with the same logprob, as on the one-workgroup path whenever
 * that path finished on its candidate list (k ≤ 512 and no more than 512 tokens at or above its bracket,
 * the common case). Writes both outputs of the draw in one dispatch (draw-output.ts): the ids, int32 `[B]`,
 * and the logprobs, float32 `[B]`; (−1, NaN) for a row holding a NaN or no finite logit. Uniforms:
 * `DRAW_UNIFORM_FIELDS`, then its own.
 */
export class RadixListDrawProgram implements WebGPUOutputsProgram {
  shaderKey = `tessera_sample_radix_draw_${WG}_${RADIX_LIST_CAP}`;
  outputNames = DRAW_OUTPUT_NAMES;
  variableNames = ['list'];
  workgroupSize = WG;
  workgroups: number;
  uniforms = `${DRAW_UNIFORM_FIELDS} splits : i32, k : i32, p : f32, pMin : f32, ${ROW_UNIFORM_FIELDS}`;

  constructor(rows: number) {
    this.workgroups = rows;
  }

  getUserCode(): string {
    return `
  ${KEY_ORDER_WGSL}
  const WG = ${WG}u;
  const CAP = ${RADIX_LIST_CAP}u;
  const NONE = 0xffffffffu;
  const HDR = ${RADIX_HEADER_WORDS};
  const SPLIT_WORDS = ${SAMPLE_SPLIT_WORDS};
  const LIST = ${LIST};
  const LISTED = ${LISTED}u;

  ${LIST_DRAW_WGSL}
  var<workgroup> rowStatus : u32;
  var<workgroup> upTo : array<u32, ${WG}>;
  var<workgroup> candKey : array<u32, ${RADIX_LIST_CAP}>;
  var<workgroup> candId : array<u32, ${RADIX_LIST_CAP}>;


  fn drawRow(row : i32) {
    let t = localIndex;
    let rb = row * (HDR + uniforms.splits * SPLIT_WORDS);
    // inclusive prefix of the splits' list lengths (thread t: split t), Hillis–Steele
    var n = 0u;
    if (i32(t) < uniforms.splits) {
      n = u32(list[rb + HDR + i32(t) * SPLIT_WORDS + LIST]);
    }
    upTo[t] = n;
    for (var off = 1u; off < WG; off = off << 1u) {
      workgroupBarrier();
      var v = upTo[t];
      if (t >= off) {
        v += upTo[t - off];
      }
      workgroupBarrier();
      upTo[t] = v;
    }
    workgroupBarrier();
    if (t == 0u) {
      state = ListState(bitcast<f32>(list[rb + 2]), min(upTo[WG - 1u], CAP), 0u);
      search = Goal(0.0);
      rowStatus = u32(list[rb]);
    }
    if (workgroupUniformLoad(&rowStatus) != LISTED) {
      if (t == 0u) {
        writeParams(row, 1, -1, uniforms.NAN);
      }
      return;
    }
    let len = workgroupUniformLoad(&state.listLen);
    let last = u32(uniforms.splits) - 1u;
    for (var j = t; j < len; j += WG) {
      // the split holding entry j: the first whose prefix exceeds j
      var lo = 0u;
      var hi = last;
      while (lo < hi) {
        let mid = (lo + hi) >> 1u;
        if (upTo[mid] > j) {
          hi = mid;
        } else {
          lo = mid + 1u;
        }
      }
      let before = select(0u, upTo[max(lo, 1u) - 1u], lo > 0u);
      let entry = rb + HDR + i32(lo) * SPLIT_WORDS + LIST + 1 + i32(j - before);
      candKey[j] = bitcast<u32>(list[entry]);
      candId[j] = u32(list[entry + i32(CAP)]);
    }
    // as SelectProgram's draw tail: rank order, the kept prefix, id order, the inverse CDF
    ${LIST_DRAW_TAIL_WGSL}
  }
`;
  }
}
