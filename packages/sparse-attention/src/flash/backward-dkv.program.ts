import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { FLASH_UNIFORMS } from './layout.js';
import { segmentsWgsl, UNIFORM_WORKGROUP_INDEX } from './segments.wgsl.js';
import { type FlashTile, kvFloats, transposedFloats } from './tile.js';
import { listed, rowsTimes, unrolled, XYZW } from './registers.wgsl.js';
import { loadRows, loadTransposed } from './tile-loads.wgsl.js';

/**
 * FlashAttention-2's backward for dK and dV (Dao 2023, Alg. 2; its Triton `_bwd_kernel_dk_dv`), dense or
 * block-sparse. Workgroup (b·H + h, key block, tile) owns `tk` keys — Kᵀ (pre-scaled) and Vᵀ stay in
 * workgroup memory — and walks the query blocks that keep its key block (`qIdx`, the mask's transpose),
 * `tq` queries at a time: Pᵀ = exp(Sᵀ − LSE), dV += Pᵀ dO, dPᵀ = V dOᵀ, dSᵀ = Pᵀ ⊙ (dPᵀ − Δ),
 * dK += dSᵀ Q. The query tile passes through one buffer as Qᵀ, dOᵀ, dO and Q in turn. Each thread owns a
 * 4×4 block of Sᵀ and 4 keys × dp/(tq/4) columns of dK and dV.
 *
 * Inputs (flat): q, dO `[B·H·Lq·D]`, k, v `[B·H·Lk·D]`, stats `[B·H·Lq, 2]` (LSE, Δ pairs from FlashDeltaProgram), qNum, qIdx (int32).
 * Output (flat): dK `[B, H, Lk, D]` followed by dV `[B, H, Lk, D]`.
 */
export class FlashBackwardDkvProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['q', 'k', 'v', 'dO', 'stats', 'qNum', 'qIdx'];
  workgroupSize: [number, number, number];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = FLASH_UNIFORMS;
  private readonly d: number;
  private readonly tile: FlashTile;

  constructor(heads: number, lk: number, d: number, tile: FlashTile, workgroups: number) {
    this.d = d;
    this.tile = tile;
    this.outputShape = [2 * heads * lk * d];
    this.workgroupSize = [(tile.tq / 4) * (tile.tk / 4), 1, 1];
    this.shaderKey = `tessera_flash_dkv_${d}_${tile.tq}_${tile.tk}_${tile.dp}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, workgroups));
  }

  getUserCode(): string {
    const dims = { d: this.d, dp: this.tile.dp, threads: this.workgroupSize[0], unroll: false };
    const { tq, tk, dp } = this.tile;
    const d = this.d;
    const qg = tq / 4;
    const oc4 = dp / 4 / qg;
    const dk = (i: number, e: number) => `dk${i}_${e}`;
    const dv = (i: number, e: number) => `dv${i}_${e}`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_WORKGROUP_INDEX}
  ${segmentsWgsl('qNum', 'qIdx')}
  const TQ = ${tq};
  const TK = ${tk};
  const HD = ${d};
  const DP4 = ${dp / 4};
  const KG = ${tk / 4};
  const QG = ${qg};
  const NT = ${(tk / 4) * qg};
  const OC4 = ${oc4};
  const KS = ${tk / 4 + 1};
  const QS = ${qg + 1};
  const NEG = -1.0e30;
  const MASKED = -1.0e29;
  const LOG2E = 1.4426950408889634;
  var<workgroup> sKT : array<vec4<f32>, ${transposedFloats(d, tk) / 4}>;
  var<workgroup> sVT : array<vec4<f32>, ${transposedFloats(d, tk) / 4}>;
  var<workgroup> sX : array<vec4<f32>, ${kvFloats(d, this.tile, tq) / 4}>;
  var<workgroup> sY : array<vec4<f32>, ${(tk * tq) / 4}>;
  var<workgroup> sL : array<f32, ${tq}>;
  var<workgroup> sD : array<f32, ${tq}>;

  fn main(index : i32) {
    let tid = i32(localIndex);
    // key groups vary fastest: the Pᵀ / dSᵀ stores of a store phase then hit consecutive vec4s
    let kg = tid % KG;
    let qg = tid / KG;
    let wg = uniformWorkgroupIndex();
    let lq = uniforms.lq;
    let lk = uniforms.lk;
    let perHead = uniforms.nk * uniforms.kTiles;
    let bh = wg / perHead;
    let kb = (wg / uniforms.kTiles) % uniforms.nk;
    let k0 = kb * uniforms.bk + (wg % uniforms.kTiles) * TK;
    let kEnd = min(min(k0 + TK, kb * uniforms.bk + uniforms.bk), lk);
    let kn = max(kEnd - k0, 0);
    let kBase = (bh * lk + k0) * HD;
    // scores in log₂ units: P = exp2(S·scale·log₂e − LSE·log₂e)
    ${loadTransposed(dims, 'sKT', 'k', 'kBase', tk, 'kn', 'KS', ' * (uniforms.scale * LOG2E)')}
    ${loadTransposed(dims, 'sVT', 'v', 'kBase', tk, 'kn', 'KS')}
    let lanes = vec4<i32>(0, 1, 2, 3);
    let keys = vec4<i32>(k0 + kg * 4) + lanes;
    ${rowsTimes(
      oc4,
      (i, e) => `var ${dk(i, e)} = vec4<f32>(0.0);
        var ${dv(i, e)} = vec4<f32>(0.0);`,
    )}

    let blockCol = bh * uniforms.nk + kb;
    var segments = segmentCount(blockCol);
    if (kn == 0) { segments = 0; }
    for (var n = 0; n < segments; n++) {
      var seg = segment(blockCol, uniforms.nq, n, uniforms.bq, lq);
      // a query before the tile's first key sees none of its keys
      if (uniforms.causal != 0) { seg.x = max(seg.x, k0); }
      for (var r0 = seg.x; r0 < seg.y; r0 += TQ) {
        let rn = min(TQ, seg.y - r0);
        let qBase = (bh * lq + r0) * HD;
        ${loadTransposed(dims, 'sX', 'q', 'qBase', tq, 'rn', 'QS')}
        if (tid < TQ) {
          var a = NEG;
          var b = 0.0;
          if (tid < rn) {
            // a query that sees no key (LSE −∞) has no visible score to weigh
            a = max(stats[2 * (bh * lq + r0 + tid)], NEG) * LOG2E;
            b = stats[2 * (bh * lq + r0 + tid) + 1];
          }
          sL[tid] = a;
          sD[tid] = b;
        }
        workgroupBarrier();
        ${unrolled(4, (i) => `var p${i} = vec4<f32>(0.0);`)}
        for (var dd = 0; dd < HD; dd++) {
          let kv = sKT[dd * KS + kg];
          let qv = sX[dd * QS + qg];
          ${unrolled(4, (i) => `p${i} = fma(vec4<f32>(kv.${XYZW[i]}), qv, p${i});`)}
        }
        let lrow = vec4<f32>(sL[qg * 4], sL[qg * 4 + 1], sL[qg * 4 + 2], sL[qg * 4 + 3]);
        let drow = vec4<f32>(sD[qg * 4], sD[qg * 4 + 1], sD[qg * 4 + 2], sD[qg * 4 + 3]);
        let inside = kn == TK && rn == TQ && (uniforms.causal == 0 || k0 + TK - 1 <= r0);
        if (!inside) {
          let queries = vec4<i32>(r0 + qg * 4) + lanes;
          let rowOk = (vec4<i32>(qg * 4) + lanes) < vec4<i32>(rn);
          ${unrolled(
            4,
            (i) => `{
            var ok = rowOk & vec4<bool>(keys.${XYZW[i]} < kEnd);
            if (uniforms.causal != 0) { ok = ok & (vec4<i32>(keys.${XYZW[i]}) <= queries); }
            p${i} = select(vec4<f32>(NEG), p${i}, ok);
          }`,
          )}
        }
        ${unrolled(4, (i) => `p${i} = select(exp2(p${i} - lrow), vec4<f32>(0.0), p${i} <= vec4<f32>(MASKED));`)}
        workgroupBarrier();
        ${loadTransposed(dims, 'sX', 'dO', 'qBase', tq, 'rn', 'QS')}
        workgroupBarrier();
        ${unrolled(4, (i) => `var ds${i} = vec4<f32>(0.0);`)}
        for (var dd = 0; dd < HD; dd++) {
          let vv = sVT[dd * KS + kg];
          let ov = sX[dd * QS + qg];
          ${unrolled(4, (i) => `ds${i} = fma(vec4<f32>(vv.${XYZW[i]}), ov, ds${i});`)}
        }
        ${unrolled(4, (i) => `ds${i} = p${i} * (ds${i} - drow);`)}
        workgroupBarrier();
        ${unrolled(4, (j) => `sY[(qg * 4 + ${j}) * KG + kg] = vec4<f32>(${listed(4, (i) => `p${i}.${XYZW[j]}`)});`)}
        ${loadRows(dims, 'sX', 'dO', 'qBase', tq, 'rn')}
        workgroupBarrier();
        for (var r = 0; r < TQ; r++) {
          let pv = sY[r * KG + kg];
          let ob = r * DP4 + qg * OC4;
          ${unrolled(oc4, (e) => `let o${e} = sX[ob + ${e}];`)}
          ${rowsTimes(oc4, (i, e) => `${dv(i, e)} = fma(vec4<f32>(pv.${XYZW[i]}), o${e}, ${dv(i, e)});`)}
        }
        workgroupBarrier();
        ${unrolled(4, (j) => `sY[(qg * 4 + ${j}) * KG + kg] = vec4<f32>(${listed(4, (i) => `ds${i}.${XYZW[j]}`)});`)}
        ${loadRows(dims, 'sX', 'q', 'qBase', tq, 'rn')}
        workgroupBarrier();
        for (var r = 0; r < TQ; r++) {
          let sv = sY[r * KG + kg];
          let xb = r * DP4 + qg * OC4;
          ${unrolled(oc4, (e) => `let x${e} = sX[xb + ${e}];`)}
          ${rowsTimes(oc4, (i, e) => `${dk(i, e)} = fma(vec4<f32>(sv.${XYZW[i]}), x${e}, ${dk(i, e)});`)}
        }
        workgroupBarrier();
      }
    }

    let dvBase = uniforms.heads * lk * HD;
    ${unrolled(
      4,
      (i) => `if (keys.${XYZW[i]} < kEnd) {
      let ob = (bh * lk + keys.${XYZW[i]}) * HD;
      ${unrolled(
        oc4,
        (e) => `{
        let a = ${dk(i, e)} * uniforms.scale;
        let b = ${dv(i, e)};
        let col = (qg * OC4 + ${e}) * 4;
        ${unrolled(
          4,
          (j) => `if (col + ${j} < HD) {
          result[ob + col + ${j}] = a.${XYZW[j]};
          result[dvBase + ob + col + ${j}] = b.${XYZW[j]};
        }`,
        )}
      }`,
      )}
    }`,
    )}
  }
`;
  }
}
