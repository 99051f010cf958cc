import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { KEYS_WGSL, PARAM, PARAMS } from '../fused/keys.wgsl.js';
import { RADIX_BINS, RADIX_COPIES, RADIX_HEADER_WORDS, RADIX_SPLIT_WORDS, RADIX_WORKGROUP } from './radix-layout.js';
import {
  type AdvanceLoads,
  advanceWgsl,
  FIRST_SCAN_WGSL,
  histogramWgsl,
  INIT_FILTERED_WGSL,
  RADIX_COMMON_WGSL,
  SPLIT_PROLOGUE_WGSL,
  type RadixFilter,
  type RadixKind,
  tieBreakWgsl,
  WRITE_HEADER_WGSL,
  Z_AT_WGSL,
} from './radix-select.wgsl.js';

const WG = RADIX_WORKGROUP;

/**
 * Uniforms of the radix programs (one scalar entry each: `scalarUniforms`). `digit`: the digit a pass
 * histograms (0…3), or the last digit the cut program fixes (0 after a single pass, for search 'none');
 * `search`: radix-select.wgsl.ts, `SEARCH_CODE`.
 */
export const RADIX_UNIFORMS =
  'cols : i32, splits : i32, slice : i32, k : i32, temperature : f32, p : f32, digit : i32, search : i32, filtered : i32,';

/**
 * The inputs of a radix program, by name: the logits (unless the program never reads them), the previous
 * pass's output (`prev`, from pass 1 on) and `cut` (radix-select.wgsl.ts: `RadixFilter`). A binding the
 * shader never reads is dropped from the pipeline's layout, and the bind group would not match: sparsemax's
 * cut program reads no logits, and only top-k/top-p have a `cut`.
 */
export function radixInputNames(kind: RadixKind, step: 'first' | 'next' | 'cut', filtered: boolean): string[] {
  const names = kind === 'sparse' && step === 'cut' ? [] : ['logits'];
  if (step !== 'first') names.push('prev');
  if (step === 'first' && filtered) names.push('cut');
  return names;
}

/**
 * One histogram pass of the multi-workgroup radix select, over `logits: [B, V]` with each row split into
 * `splits` contiguous slices, one workgroup each (grid B · splits). Writes int32 `[B, 8 + splits · 772]`:
 * per row the state header (radix-select.wgsl.ts), then per split its partial histogram over the 256
 * values of digit `uniforms.digit` of the keys (radix-layout.ts: `RADIX_SPLIT_WORDS`). Inputs: the
 * logits, the previous pass's output (`prev`; not in pass 0, a variant of its own: `first`) and, in
 * pass 0 when `filtered`, an earlier cut (`cut: [B, 8]`, the `RadixCutProgram` of a top-k before its
 * top-p), which the search stays inside and whose max and limit flag it takes instead of finding them;
 * pass 0 copies it into the row headers, where later passes find it (the `filtered` uniform says whether
 * there is one).
 *
 * Pass 0 reads its slice twice: once for the slice's max and its NaN and +∞ flags (into the split's
 * header), then for the histogram with weights relative to the slice max — so no pass of its own finds
 * the row max: the next pass rescales each split's sums to the row max. Passes 1…3 first redo, in every
 * workgroup of the row, the reduction of the previous pass's partial histograms over the splits and the
 * choice of the previous digit (`advance`; split 0 writes the resulting state into the row header for the
 * next pass), then histogram the tokens whose key matches the prefix fixed so far. That repeated
 * reduction (splits × 3 KiB a workgroup, from L2) replaces a reduction dispatch per pass.
 */
export class RadixPassProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;

  constructor(
    rows: number,
    splits: number,
    private readonly kind: RadixKind,
    private readonly first: boolean,
    private readonly filtered: boolean,
  ) {
    this.outputShape = [rows, RADIX_HEADER_WORDS + splits * RADIX_SPLIT_WORDS];
    const variant = first ? `first_${filtered ? 'cut' : 'all'}` : 'next';
    this.shaderKey = `tessera_radix_pass_${kind}_${variant}_${WG}_${RADIX_BINS}_${RADIX_COPIES}`;
    this.variableNames = radixInputNames(kind, first ? 'first' : 'next', filtered);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows * splits));
  }

  getUserCode(): string {
    const { kind, filtered, first } = this;
    let filter: RadixFilter = kind === 'truncated' ? 'uniform' : 'none';
    if (first) filter = filtered ? 'always' : 'none';
    let setup = `
    advance(row, digit - 1u);
    if (split == 0 && t == 0u) {
      writeHeader(row);
    }`;
    // inside an earlier cut: its params into the row state, and split 0 hands them on in the row header
    const intoHeader = `${INIT_FILTERED_WGSL}
    if (split == 0 && t == 0u) {
      writeHeader(row);
    }`;
    if (first) setup = filtered ? intoHeader : 'firstScan(base, start, end, out);';
    // an all −∞ slice: weights exp(−∞ − 0) = 0, not exp(NaN) (sparsemax keeps none of it: z > −∞ − 1)
    const origin = kind === 'sparse' ? 'st.zmax' : 'select(st.zmax, 0.0, isNegInf(st.zmax))';
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  ${RADIX_COMMON_WGSL}
  ${Z_AT_WGSL}
  ${first && !filtered ? FIRST_SCAN_WGSL : ''}
  ${first ? '' : advanceWgsl(kind, filter)}
  ${first && !filtered ? '' : WRITE_HEADER_WGSL}
  ${histogramWgsl(kind, filter)}
  fn main(index : i32) {
    ${SPLIT_PROLOGUE_WGSL}
    let digit = u32(uniforms.digit);
    ${setup}
    if (workgroupUniformLoad(&st.status) != 0u) {
      return;
    }
    histogram(base, start, end, digit, ${origin}, st.limit != 0u, out);
  }
`;
  }
}

/**
 * The last step of a radix select, one workgroup per row: fixes the last digit (`advance`), so the
 * threshold key x is exact, and writes the row's params. 'truncated': int32 `[B, 8]` in the format of the
 * fused sampler's 'cut' selection (keys.wgsl.ts: PARAM), which the write pass of `truncatedSoftmaxOp`
 * reads: status, max, the cut (x, and the last kept id when only some of the tokens tied at x are kept,
 * found by `tieBreak`), the limit flag and the kept mass. The number of tied tokens kept follows the
 * one-workgroup programs exactly: top-k keeps k − (tokens above x); top-p keeps ⌈(p·M − mass above x) /
 * w(x)⌉ of them, at least 1 (a token is kept iff the mass ranked strictly above it is < p·M). Search
 * 'none' writes the max and the mass M with no cut. 'sparse' writes status and (bits of) τ = max −
 * (Σ_{key > x} (max − z) + 1) / #{key > x} (= (Σ z − 1) / n): x is the largest key at or below τ, so the
 * support is the tokens above it.
 */
export class RadixCutProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = RADIX_UNIFORMS;

  constructor(
    rows: number,
    private readonly kind: RadixKind,
    private readonly loads: AdvanceLoads = 'eager',
  ) {
    this.outputShape = [rows, PARAMS];
    this.shaderKey = `tessera_radix_cut_${kind}_${WG}_${RADIX_BINS}_${loads}`;
    this.variableNames = radixInputNames(kind, 'cut', false);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, rows));
  }

  getUserCode(): string {
    const { kind } = this;
    const filter: RadixFilter = kind === 'truncated' ? 'uniform' : 'none';
    const finish =
      kind === 'sparse'
        ? `
    if (t == 0u) {
      result[pb] = 0;
      result[pb + 1] = bitcast<i32>(st.zmax - (st.mAbove + 1.0) / f32(st.cAbove));
    }`
        : `
    if (uniforms.search == SEARCH_NONE) {
      if (t == 0u) {
        writeParams(row, 0u, NONE, st.total);
      }
      return;
    }
    if (t == 0u) {
      let x = st.prefix;
      let ties = st.ties;
      let wv = exp(valueOf(x) - st.zmax);
      var need = min(max(u32(uniforms.k) - min(st.cAbove, u32(uniforms.k)), 1u), ties);
      if (uniforms.search != SEARCH_COUNT) {
        let kept = ceil((st.goal - st.mAbove) / wv);
        need = select(ties, u32(max(kept, 1.0)), kept < f32(ties));
      }
      st.need = need;
      st.total = st.mAbove + f32(need) * wv;
    }
    let x = workgroupUniformLoad(&st.prefix);
    let need = workgroupUniformLoad(&st.need);
    // all the tokens tied at x are kept: inside an earlier cut at the same key, that cut's last id (NONE
    // when unfiltered)
    var cutId = select(NONE, st.cutId, x == st.cutKey);
    if (need < workgroupUniformLoad(&st.ties)) {
      cutId = tieBreak(row, x, need);
    }
    if (t == 0u) {
      writeParams(row, x, cutId, st.total);
    }`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${KEYS_WGSL}
  ${RADIX_COMMON_WGSL}
  ${kind === 'truncated' ? `${Z_AT_WGSL}\n${tieBreakWgsl(filter)}` : ''}
  ${advanceWgsl(kind, filter, this.loads)}

  fn writeParams(row : i32, cutKey : u32, cutId : u32, mass : f32) {
    let pb = row * ${PARAMS};
    result[pb + ${PARAM.status}] = bitcast<i32>(st.status);
    result[pb + ${PARAM.zmax}] = bitcast<i32>(st.zmax);
    result[pb + ${PARAM.cutKey}] = bitcast<i32>(cutKey);
    result[pb + ${PARAM.cutId}] = bitcast<i32>(cutId);
    result[pb + ${PARAM.id}] = -1;
    result[pb + ${PARAM.logprob}] = 0;
    result[pb + ${PARAM.limit}] = bitcast<i32>(st.limit);
    result[pb + ${PARAM.mass}] = bitcast<i32>(mass);
  }

  fn main(index : i32) {
    let t = localIndex;
    let row = i32(linearWorkgroupIndex());
    let pb = row * ${PARAMS};
    advance(row, u32(uniforms.digit));
    if (workgroupUniformLoad(&st.status) != 0u) {
      if (t == 0u) {
        ${kind === 'sparse' ? 'result[pb] = 1;\n        result[pb + 1] = 0;' : 'writeParams(row, 0u, NONE, 0.0);'}
      }
      return;
    }
    ${finish}
  }
`;
  }
}

/** Threads per workgroup of the sparsemax write pass, one token each. */
const WRITE_WORKGROUP = 256;

/**
 * The write pass of the radix sparsemax: q = [z − τ]₊ from the row's τ (`RadixCutProgram` 'sparse',
 * `params: [B, 8]`), NaN on a row without a distribution. Split over the whole `[B, V]`.
 */
export class SparsemaxWriteProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_sparsemax_write_${WRITE_WORKGROUP}`;
  variableNames = ['z', 'params'];
  workgroupSize: [number, number, number] = [WRITE_WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'cols : i32,';
  size = true;

  constructor(rows: number, cols: number) {
    this.outputShape = [rows, cols];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      Math.ceil((rows * cols) / WRITE_WORKGROUP),
    ));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let flat = i32(linearWorkgroupIndex() * ${WRITE_WORKGROUP}u + localIndex);
    if (flat >= uniforms.size) {
      return;
    }
    let pb = (flat / uniforms.cols) * ${PARAMS};
    let tau = bitcast<f32>(params[pb + 1]);
    // WGSL's max(NaN, 0) may give 0: a row without a distribution is marked explicitly
    result[flat] = select(max(z[flat] - tau, 0.0), uniforms.NAN, params[pb] != 0);
  }
`;
  }
}
