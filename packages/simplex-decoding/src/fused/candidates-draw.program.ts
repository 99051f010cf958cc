import type { WebGPUOutputsProgram } from '@tessera/tensor-core';
import { DRAW_OUTPUT_NAMES, DRAW_UNIFORM_FIELDS } from '../sample/draw-output.js';
import { ROW_UNIFORM_FIELDS } from '../sample/row-uniform.wgsl.js';
import { KEY_ORDER_WGSL } from './keys.wgsl.js';
import { LIST_DRAW_TAIL_WGSL, LIST_DRAW_WGSL } from './list-draw.wgsl.js';
import { CANDIDATES_WORKGROUP } from './split-candidates.program.js';
import { PICK_DIGIT_WGSL, SELECT_TOP_WGSL } from './top-k-select.wgsl.js';

/** Largest top-k of the candidate path: its list, sorted in workgroup memory, is padded to a power of two. */
export const CANDIDATES_K_CAP = 128;

/**
 * The draw of the fused sampler's candidate path (candidates-draw.ts), one workgroup per row, from
 * `SplitCandidatesProgram`'s lists (`lists`): thread t holds the row's candidates t, t + 256, … (`perThread`
 * of them, compiled in); the row's flags come from them — NaN from the splits' flags, +∞ from the top key
 * (the largest non-NaN key, so in its split's list whenever the split holds one), the max z from the top
 * key too. As the radix path does, a NaN row or one with no finite logit draws (−1, NaN), and a row holding
 * +∞ is `limited` (z 0 on its +∞ tokens, −∞ on the rest; a limited row's −∞ tokens weigh exactly 0, so
 * which of them fill its top-k changes no draw). `selectTop` then picks the row's top-k from the
 * candidates — every top-k token is in its split's top-k — into workgroup memory, and the rest is
 * `RadixListDrawProgram`'s tail, the same WGSL on the same top-k set (listMode 0): a sort by rank,
 * top-p over the k and min-p (`keptOfList`), a sort by id and the inverse CDF with the row's Philox
 * uniform (`drawFromList`). So it draws the radix path's token with the same logprob, bit for bit.
 * Writes both outputs of the draw in one dispatch, as `RadixListDrawProgram` (draw-output.ts). Uniforms:
 * `DRAW_UNIFORM_FIELDS`, then its own.
 */
export class CandidatesDrawProgram implements WebGPUOutputsProgram {
  shaderKey: string;
  outputNames = DRAW_OUTPUT_NAMES;
  variableNames = ['lists'];
  workgroupSize = CANDIDATES_WORKGROUP;
  workgroups: number;
  uniforms = `${DRAW_UNIFORM_FIELDS} cols : i32, splits : i32, slice : i32, k : i32, p : f32, pMin : f32, ${ROW_UNIFORM_FIELDS}`;

  constructor(
    rows: number,
    private readonly perThread: number,
  ) {
    this.workgroups = rows;
    this.shaderKey = `tessera_sample_candidates_draw_${perThread}_${CANDIDATES_WORKGROUP}_${CANDIDATES_K_CAP}`;
  }

  getUserCode(): string {
    return `
  ${KEY_ORDER_WGSL}
  const WG = ${CANDIDATES_WORKGROUP}u;
  const PER = ${this.perThread}u;
  const NONE = 0xffffffffu;
  const INF_KEY = 0xff800000u;
  const NEG_INF_KEY = 0x007fffffu;
  ${PICK_DIGIT_WGSL}
  ${SELECT_TOP_WGSL}
  var<private> ids : array<u32, PER>;

  fn idOf(e : u32) -> u32 {
    return ids[e];
  }

  ${LIST_DRAW_WGSL}
  var<workgroup> nanSeen : atomic<u32>;
  var<workgroup> infSeen : atomic<u32>;
  var<workgroup> topKey : atomic<u32>;
  var<workgroup> listed : atomic<u32>;
  var<workgroup> rowStatus : u32;
  var<workgroup> rowLimited : u32;
  var<workgroup> candKey : array<u32, ${CANDIDATES_K_CAP}>;
  var<workgroup> candId : array<u32, ${CANDIDATES_K_CAP}>;


  fn drawRow(row : i32) {
    let t = localIndex;
    let k = u32(uniforms.k);
    let block = 1 + 2 * uniforms.k;
    let rb = row * uniforms.splits * block;
    // every split but the last lists k candidates (a split is longer than k)
    let lastStart = (uniforms.splits - 1) * uniforms.slice;
    let count = u32(uniforms.splits - 1) * k + min(k, u32(uniforms.cols - lastStart));
    if (i32(t) < uniforms.splits && lists[rb + i32(t) * block] != 0) {
      atomicOr(&nanSeen, 1u);
    }
    live = 0u;
    var top = NEG_INF_KEY;
    var inf = 0u;
    for (var e = 0u; e < PER; e++) {
      let n = e * WG + t;
      if (n < count) {
        let s = n / k;
        let at = rb + i32(s) * block + 1 + i32(n - s * k);
        keys[e] = bitcast<u32>(lists[at]);
        ids[e] = u32(lists[at + uniforms.k]);
        live = live | (1u << e);
        top = max(top, keys[e]);
        if (keys[e] == INF_KEY) {
          inf = 1u;
        }
      }
    }
    atomicMax(&topKey, top);
    if (inf != 0u) {
      atomicOr(&infSeen, 1u);
    }
    workgroupBarrier();
    if (t == 0u) {
      let limited = atomicLoad(&infSeen) != 0u;
      let topK = atomicLoad(&topKey);
      // a limited row: its max is 0 (the +∞ tokens), every other token −∞
      state = ListState(select(valueOf(topK), 0.0, limited), k, 0u);
      search = Goal(0.0);
      rowLimited = select(0u, 1u, limited);
      rowStatus = select(0u, 1u, atomicLoad(&nanSeen) != 0u || (!limited && topK == NEG_INF_KEY));
    }
    if (workgroupUniformLoad(&rowStatus) != 0u) {
      if (t == 0u) {
        writeParams(row, 1, -1, uniforms.NAN);
      }
      return;
    }
    if (rowLimited != 0u) {
      for (var e = 0u; e < PER; e++) {
        keys[e] = select(NEG_INF_KEY, keyOf(0.0), keys[e] == INF_KEY);
      }
    }
    let cut = selectTop(k);
    for (var e = 0u; e < PER; e++) {
      if (isTop(e, cut)) {
        let slot = atomicAdd(&listed, 1u);
        candKey[slot] = keys[e];
        candId[slot] = ids[e];
      }
    }
    // as RadixListDrawProgram's tail (the same WGSL): rank order, the kept prefix, id order, the inverse CDF
    ${LIST_DRAW_TAIL_WGSL}
  }
`;
  }
}
