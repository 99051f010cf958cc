import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { KEYS_WGSL } from './keys.wgsl.js';
import { PICK_DIGIT_WGSL, SELECT_TOP_WGSL } from './top-k-select.wgsl.js';

/** Threads of the candidate programs; `selectTop`'s digit scan gives one thread to each of the 256 bins. */
export const CANDIDATES_WORKGROUP = 256;
/** Tokens a thread of `SplitCandidatesProgram` holds per vec4 of its split: a split is `1024 · vec4s` tokens. */
export const SPLIT_UNIT = 4 * CANDIDATES_WORKGROUP;

/** Words of one split's block in `SplitCandidatesProgram`'s output: its NaN flag, then k keys, then k ids. */
export function candidateBlockWords(k: number): number {
  return 1 + 2 * k;
}

/**
 * The first program of the fused sampler's candidate path (candidates-draw.ts): workgroup (row, split)
 * reads its split of `logits: [B, V]` — `SPLIT_UNIT · vec4s` contiguous tokens, thread t holding tokens
 * (j · 256 + t) · 4 + c of it in registers, loaded as vec4s when V is a multiple of 4 (`aligned`: every
 * row and split then starts on a vec4), else one float at a time — and, without reading them again, finds
 * the split's exact top min(k, length) by the sampler's rank (tempered z descending, then id ascending;
 * keys.wgsl.ts) with `selectTop`. Its histograms would pile every token onto the few bins that logits'
 * sign and exponent share, so a bound comes first: the k-th largest of the 256 threads' maxima, below
 * which no top-k token lies (k thread maxima are at or above it), found by the same digits over one key
 * a thread; only the tokens at or above it are counted. A split holding a NaN flags it; its list is then
 * never read. Writes int32 `[B, splits · (1 + 2k)]` (`candidateBlockWords`): per split the NaN flag and its
 * candidates' keys and ids, in no particular order. The row max, +∞ (the top key) and ties across splits
 * are left to `CandidatesDrawProgram`.
 */
export class SplitCandidatesProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['logits'];
  variableComponents: number[];
  workgroupSize: [number, number, number] = [CANDIDATES_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32, splits : i32, k : i32, temperature : f32,';

  constructor(
    rows: number,
    splits: number,
    k: number,
    private readonly vec4s: number,
    private readonly aligned: boolean,
  ) {
    this.outputShape = [rows, splits * candidateBlockWords(k)];
    this.variableComponents = [aligned ? 4 : 1];
    this.shaderKey = `tessera_sample_split_candidates_${vec4s}_${aligned ? 'vec4' : 'scalar'}_${CANDIDATES_WORKGROUP}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * splits));
  }

  getUserCode(): string {
    const load = this.aligned
      ? `
      let v = logits[(base + start) / 4 + i32(j * WG + t)];
      for (var c = 0u; c < 4u; c++) {
        let o = at + c;
        if (o < len) {
          fill(j * 4u + c, v[c]);
        }
      }`
      : `
      for (var c = 0u; c < 4u; c++) {
        let o = at + c;
        if (o < len) {
          fill(j * 4u + c, logits[base + start + i32(o)]);
        }
      }`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  const WG = ${CANDIDATES_WORKGROUP}u;
  const VEC4S = ${this.vec4s}u;
  const PER = ${4 * this.vec4s}u;
  const SPLIT = ${SPLIT_UNIT * this.vec4s};
  ${PICK_DIGIT_WGSL}
  ${SELECT_TOP_WGSL}
  var<workgroup> nanSeen : atomic<u32>;
  var<workgroup> listed : atomic<u32>;
  var<workgroup> boundOn : u32;

  var<private> nan : u32;
  var<private> first : u32;

  // entry e = 4j + c of thread t: token (256j + t) · 4 + c of the split
  fn idOf(e : u32) -> u32 {
    return first + ((e >> 2u) * WG + localIndex) * 4u + (e & 3u);
  }

  fn fill(e : u32, s : f32) {
    keys[e] = keyOf(tempered(s));
    live = live | (1u << e);
    if (isnan(s)) {
      nan = 1u;
    }
  }

  fn main(index : i32) {
    let t = localIndex;
    let wg = i32(linearWorkgroupIndex());
    let row = wg / uniforms.splits;
    let split = wg - row * uniforms.splits;
    let start = split * SPLIT;
    let len = u32(min(SPLIT, uniforms.cols - start));
    let base = row * uniforms.cols;
    let k = u32(uniforms.k);
    let rank = min(k, len);
    live = 0u;
    nan = 0u;
    first = u32(start);
    for (var j = 0u; j < VEC4S; j++) {
      let at = (j * WG + t) * 4u;
      ${load}
    }
    if (nan != 0u) {
      atomicOr(&nanSeen, 1u);
    }
    // the bound: the rank-th largest thread maximum, when that many threads hold a token of the split
    var threadMax = 0u;
    for (var e = 0u; e < PER; e++) {
      if (isLive(e)) {
        threadMax = max(threadMax, keys[e]);
      }
    }
    var bound = 0u;
    if (t == 0u) {
      boundOn = select(0u, 1u, (len + 3u) / 4u >= rank);
    }
    if (workgroupUniformLoad(&boundOn) != 0u) {
      var r = rank;
      for (var d = 0u; d < 4u; d++) {
        let shift = 24u - 8u * d;
        let mask = ~(0xffffffffu >> (8u * d));
        if (t * 4u < len && (threadMax & mask) == bound) {
          atomicAdd(&hist[(threadMax >> shift) & 0xffu], 1u);
        }
        workgroupBarrier();
        pickDigit(r);
        bound = bound | (pick.digit << shift);
        r = pick.rank;
        if (workgroupUniformLoad(&pick.whole) != 0u) {
          break;
        }
      }
    }
    for (var e = 0u; e < PER; e++) {
      if (keys[e] < bound) {
        live = live & ~(1u << e);
      }
    }
    let cut = selectTop(rank);
    let out = row * uniforms.splits * (1 + 2 * uniforms.k) + split * (1 + 2 * uniforms.k);
    for (var e = 0u; e < PER; e++) {
      if (isTop(e, cut)) {
        let slot = i32(atomicAdd(&listed, 1u));
        result[out + 1 + slot] = bitcast<i32>(keys[e]);
        result[out + 1 + uniforms.k + slot] = i32(idOf(e));
      }
    }
    workgroupBarrier();
    if (t == 0u) {
      result[out] = i32(atomicLoad(&nanSeen));
    }
  }
`;
  }
}
