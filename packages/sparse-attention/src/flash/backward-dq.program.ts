import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { FLASH_UNIFORMS } from './layout.js';
import { segmentsWgsl, UNIFORM_WORKGROUP_INDEX } from './segments.wgsl.js';
import { type FlashTile, kvFloats, transposedFloats } from './tile.js';
import { listed, rowsTimes, unrolled, XYZW } from './registers.wgsl.js';
import { loadRows, loadTransposed } from './tile-loads.wgsl.js';

/**
 * FlashAttention-2's backward for dQ (Dao 2023, Alg. 2 split as in its Triton kernel `_bwd_kernel_dq`),
 * dense or block-sparse. Workgroup (b·H + h, query block, tile) owns `tq` queries and walks the same key
 * blocks as the forward (`kvIdx`), recomputing P = exp(S − LSE) from the saved log-sum-exp, then
 * dP = dO Vᵀ, dS = P ⊙ (dP − Δ), dQ += dS K; the mask is a constant for the gradient. Qᵀ and dOᵀ stay
 * in workgroup memory; the key tile passes through as Kᵀ, Vᵀ and K in turn. Each thread owns a 4×4 block
 * of S/dS and 4 rows × dp/(tk/4) columns of dQ.
 *
 * Inputs (flat): q, dO `[B·H·Lq·D]`, k, v `[B·H·Lk·D]`, stats `[B·H·Lq, 2]` (LSE, Δ pairs from FlashDeltaProgram), kvNum, kvIdx (int32).
 * Output: dQ `[B, H, Lq, D]` (flat).
 */
export class FlashBackwardDqProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['q', 'k', 'v', 'dO', 'stats', 'kvNum', 'kvIdx'];
  workgroupSize: [number, number, number];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = FLASH_UNIFORMS;
  private readonly d: number;
  private readonly tile: FlashTile;

  constructor(heads: number, lq: number, d: number, tile: FlashTile, workgroups: number) {
    this.d = d;
    this.tile = tile;
    this.outputShape = [heads * lq * d];
    this.workgroupSize = [(tile.tq / 4) * (tile.tk / 4), 1, 1];
    this.shaderKey = `tessera_flash_dq_${d}_${tile.tq}_${tile.tk}_${tile.dp}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, workgroups));
  }

  getUserCode(): string {
    const dims = { d: this.d, dp: this.tile.dp, threads: this.workgroupSize[0], unroll: false };
    const { tq, tk, dp } = this.tile;
    const d = this.d;
    const cg = tk / 4;
    const oc4 = dp / 4 / cg;
    const acc = (i: number, e: number) => `dq${i}_${e}`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_WORKGROUP_INDEX}
  ${segmentsWgsl('kvNum', 'kvIdx')}
  const TQ = ${tq};
  const TK = ${tk};
  const HD = ${d};
  const DP4 = ${dp / 4};
  const RG = ${tq / 4};
  const CG = ${cg};
  const NT = ${(tq / 4) * cg};
  const OC4 = ${oc4};
  const QS = ${tq / 4 + 1};
  const KS = ${cg + 1};
  const NEG = -1.0e30;
  const MASKED = -1.0e29;
  const LOG2E = 1.4426950408889634;
  var<workgroup> sQ : array<vec4<f32>, ${transposedFloats(d, tq) / 4}>;
  var<workgroup> sDO : array<vec4<f32>, ${transposedFloats(d, tq) / 4}>;
  var<workgroup> sKV : array<vec4<f32>, ${kvFloats(d, this.tile) / 4}>;
  var<workgroup> sDS : array<vec4<f32>, ${(tk * tq) / 4}>;

  fn main(index : i32) {
    let tid = i32(localIndex);
    // row groups vary fastest: the dSᵀ stores of a store phase then hit consecutive vec4s
    let rg = tid % RG;
    let cg = tid / RG;
    let wg = uniformWorkgroupIndex();
    let lq = uniforms.lq;
    let lk = uniforms.lk;
    let perHead = uniforms.nq * uniforms.qTiles;
    let bh = wg / perHead;
    let qb = (wg / uniforms.qTiles) % uniforms.nq;
    let q0 = qb * uniforms.bq + (wg % uniforms.qTiles) * TQ;
    let qEnd = min(min(q0 + TQ, qb * uniforms.bq + uniforms.bq), lq);
    let qn = max(qEnd - q0, 0);
    let qBase = (bh * lq + q0) * HD;
    let kBase = bh * lk * HD;
    // scores in log₂ units: P = exp2(S·scale·log₂e − LSE·log₂e)
    ${loadTransposed(dims, 'sQ', 'q', 'qBase', tq, 'qn', 'QS', ' * (uniforms.scale * LOG2E)')}
    ${loadTransposed(dims, 'sDO', 'dO', 'qBase', tq, 'qn', 'QS')}
    let lanes = vec4<i32>(0, 1, 2, 3);
    let rows = vec4<i32>(q0 + rg * 4) + lanes;
    var lse4 = vec4<f32>(0.0);
    var delta4 = vec4<f32>(0.0);
    ${unrolled(
      4,
      (i) => `if (rows.${XYZW[i]} < qEnd) {
      // a row that sees no key (LSE −∞) has no visible score to weigh
      lse4.${XYZW[i]} = max(stats[2 * (bh * lq + rows.${XYZW[i]})], NEG) * LOG2E;
      delta4.${XYZW[i]} = stats[2 * (bh * lq + rows.${XYZW[i]}) + 1];
    }`,
    )}
    ${rowsTimes(oc4, (i, e) => `var ${acc(i, e)} = vec4<f32>(0.0);`)}

    let blockRow = bh * uniforms.nq + qb;
    var segments = segmentCount(blockRow);
    if (qn == 0) { segments = 0; }
    for (var n = 0; n < segments; n++) {
      var seg = segment(blockRow, uniforms.nk, n, uniforms.bk, lk);
      if (uniforms.causal != 0) { seg.y = min(seg.y, qEnd); }
      for (var k0 = seg.x; k0 < seg.y; k0 += TK) {
        let kn = min(TK, seg.y - k0);
        ${loadTransposed(dims, 'sKV', 'k', 'kBase + k0 * HD', tk, 'kn', 'KS')}
        workgroupBarrier();
        ${unrolled(4, (i) => `var p${i} = vec4<f32>(0.0);`)}
        for (var dd = 0; dd < HD; dd++) {
          let kv = sKV[dd * KS + cg];
          let qv = sQ[dd * QS + rg];
          ${unrolled(4, (i) => `p${i} = fma(vec4<f32>(qv.${XYZW[i]}), kv, p${i});`)}
        }
        let inside = kn == TK && qn == TQ && (uniforms.causal == 0 || k0 + TK - 1 <= q0);
        if (!inside) {
          let cols = vec4<i32>(k0 + cg * 4) + lanes;
          let colOk = (vec4<i32>(cg * 4) + lanes) < vec4<i32>(kn);
          ${unrolled(
            4,
            (i) => `{
            var ok = colOk & vec4<bool>(rows.${XYZW[i]} < qEnd);
            if (uniforms.causal != 0) { ok = ok & (cols <= vec4<i32>(rows.${XYZW[i]})); }
            p${i} = select(vec4<f32>(NEG), p${i}, ok);
          }`,
          )}
        }
        ${unrolled(4, (i) => `p${i} = select(exp2(p${i} - vec4<f32>(lse4.${XYZW[i]})), vec4<f32>(0.0), p${i} <= vec4<f32>(MASKED));`)}
        workgroupBarrier();
        ${loadTransposed(dims, 'sKV', 'v', 'kBase + k0 * HD', tk, 'kn', 'KS')}
        workgroupBarrier();
        ${unrolled(4, (i) => `var ds${i} = vec4<f32>(0.0);`)}
        for (var dd = 0; dd < HD; dd++) {
          let vv = sKV[dd * KS + cg];
          let ov = sDO[dd * QS + rg];
          ${unrolled(4, (i) => `ds${i} = fma(vec4<f32>(ov.${XYZW[i]}), vv, ds${i});`)}
        }
        ${unrolled(4, (i) => `ds${i} = p${i} * (ds${i} - vec4<f32>(delta4.${XYZW[i]}));`)}
        ${unrolled(4, (j) => `sDS[(cg * 4 + ${j}) * RG + rg] = vec4<f32>(${listed(4, (i) => `ds${i}.${XYZW[j]}`)});`)}
        workgroupBarrier();
        ${loadRows(dims, 'sKV', 'k', 'kBase + k0 * HD', tk, 'kn')}
        workgroupBarrier();
        for (var c = 0; c < TK; c++) {
          let dv = sDS[c * RG + rg];
          let kb = c * DP4 + cg * OC4;
          ${unrolled(oc4, (e) => `let k${e} = sKV[kb + ${e}];`)}
          ${rowsTimes(oc4, (i, e) => `${acc(i, e)} = fma(vec4<f32>(dv.${XYZW[i]}), k${e}, ${acc(i, e)});`)}
        }
        workgroupBarrier();
      }
    }

    ${unrolled(
      4,
      (i) => `if (rows.${XYZW[i]} < qEnd) {
      let ob = (bh * lq + rows.${XYZW[i]}) * HD;
      ${unrolled(
        oc4,
        (e) => `{
        let x = ${acc(i, e)} * uniforms.scale;
        let col = (cg * OC4 + ${e}) * 4;
        ${unrolled(4, (j) => `if (col + ${j} < HD) { result[ob + col + ${j}] = x.${XYZW[j]}; }`)}
      }`,
      )}
    }`,
    )}
  }
`;
  }
}
