import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { FLASH_UNIFORMS } from './layout.js';
import { listed, unrolled, XYZW } from './registers.wgsl.js';
import { segmentsWgsl, UNIFORM_WORKGROUP_INDEX } from './segments.wgsl.js';
import { type FlashTile, kvFloats } from './tile.js';
import { loadRows, loadTransposed } from './tile-loads.wgsl.js';

/**
 * Query rows per thread. The generator takes 4 or 8; 8 (a thread's 8 × 4 block of S, half the workgroup
 * memory reads per FMA) ran at half the speed of 4 on the H100 (2026-12-06, L = 16384: 115 vs 56 ms dense).
 */
const ROWS = 4;

/**
 * FlashAttention-2's forward (Dao 2023, Alg. 1; papers/sparse.md A.2 for the block-sparse walk), dense or
 * block-sparse. Workgroup (b·H + h, query block, tile) owns `tq` queries: Qᵀ (pre-scaled by scale·log₂e,
 * so the softmax runs in exp2) stays in workgroup memory while K and V pass through it `tk` keys at a time,
 * so no L×L matrix exists anywhere. Each of the (tq/4)·(tk/4) threads computes a 4×4 block of S = QKᵀ
 * in registers, the row maxima meet in workgroup memory, and the thread keeps 4 rows × dp/(tk/4) columns of
 * the output O in registers (named variables, generated unrolled, so nothing spills to local memory),
 * rescaled by e^{m_old − m_new} at every tile. Tiles inside the causal triangle and the sequence skip the
 * masking. In sparse mode only the key blocks listed in `kvIdx` for the query block are visited, so the
 * softmax is renormalised over the kept blocks.
 *
 * With `splitKv` (adapters with 48 KiB of workgroup memory) K and V have their own buffers and load
 * together; otherwise V replaces K once the scores are computed.
 *
 * Inputs (flat): q `[B·H·Lq·D]`, k, v `[B·H·Lk·D]`, kvNum `[B·H·Nq]`, kvIdx `[B·H·Nq·Nk]` (int32; any
 * 2-element int32 tensor in dense mode). Output (flat): O `[B, H, Lq, D]` followed by the log-sum-exp
 * `[B, H, Lq]` of the scaled scores (−∞ for a row with no visible key, whose output is 0).
 */
export class FlashForwardProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['q', 'k', 'v', 'kvNum', 'kvIdx'];
  workgroupSize: [number, number, number];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = FLASH_UNIFORMS;
  private readonly d: number;
  private readonly tile: FlashTile;

  /**
   * The tile loads are issued in batches before any store (`unroll`): written as a loop they were ~60% of the time on
   * the H100. Prefetching the next key tile into registers as well was slower there (2026-12-07, L = 16384, 95%:
   * 1.69 against 1.52 ms; 0.77 against 0.17 at 4096) and was removed.
   */
  constructor(heads: number, lq: number, d: number, tile: FlashTile, workgroups: number) {
    this.d = d;
    this.tile = tile;
    this.outputShape = [heads * lq * (d + 1)];
    this.workgroupSize = [(tile.tq / ROWS) * (tile.tk / 4), 1, 1];
    this.shaderKey = `tessera_flash_fwd_${d}_${tile.tq}_${tile.tk}_${tile.dp}_${tile.splitKv ? 'split' : 'shared'}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, workgroups));
  }

  getUserCode(): string {
    const { tq, tk, dp, splitKv } = this.tile;
    const dims = { d: this.d, dp, threads: this.workgroupSize[0], unroll: true };
    const rows = ROWS;
    const d = this.d;
    const cg = tk / 4;
    const rg = tq / rows;
    const quads = rows / 4;
    const oc4 = dp / 4 / cg;
    const vBuf = splitKv ? 'sV' : 'sKV';
    const maxBuf = splitKv ? 'sMax' : 'sP';
    const o = (i: number, e: number) => `o${i}_${e}`;
    // row i of the thread is component i % 4 of quad i / 4
    const row = (i: number) => `rows${Math.floor(i / 4)}.${XYZW[i % 4]}`;
    const allRows = (f: (i: number) => string) => unrolled(rows, f);
    const allQuads = (f: (g: number) => string) => unrolled(quads, f);
    const quadVec = (g: number, f: (i: number) => string) => `vec4<f32>(${listed(4, (c) => f(4 * g + c))})`;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${UNIFORM_WORKGROUP_INDEX}
  ${segmentsWgsl('kvNum', 'kvIdx')}
  const TQ = ${tq};
  const TK = ${tk};
  const HD = ${d};
  const DP4 = ${dp / 4};
  const RG = ${rg};
  const CG = ${cg};
  const NT = ${rg * cg};
  const OC4 = ${oc4};
  // vec4 strides: a column of Qᵀ / Kᵀ (padded against bank conflicts), a key row of Pᵀ
  const QS = ${tq / 4 + 1};
  const KS = ${cg + 1};
  const PS = ${tq / 4};
  // masked scores: a finite sentinel, as WGSL leaves arithmetic on infinities undefined
  const NEG = -1.0e30;
  const MASKED = -1.0e29;
  const LOG2E = 1.4426950408889634;
  const LN2 = 0.6931471805599453;
  var<workgroup> sQ : array<vec4<f32>, ${d * (tq / 4 + 1)}>;
  var<workgroup> sKV : array<vec4<f32>, ${kvFloats(d, this.tile) / 4}>;
  ${splitKv ? `var<workgroup> sV : array<vec4<f32>, ${(tk * dp) / 4}>;` : ''}
  var<workgroup> sP : array<vec4<f32>, ${(tk * tq) / 4}>;
  ${splitKv ? `var<workgroup> sMax : array<vec4<f32>, ${(cg * tq) / 4}>;` : ''}

  fn main(index : i32) {
    let tid = i32(localIndex);
    // row groups vary fastest: the Pᵀ stores of a store phase then hit nearby vec4s
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
    ${loadTransposed(dims, 'sQ', 'q', 'qBase', tq, 'qn', 'QS', ' * (uniforms.scale * LOG2E)')}

    let lanes = vec4<i32>(0, 1, 2, 3);
    ${allQuads((g) => `let rows${g} = vec4<i32>(q0 + rg * ${rows} + ${4 * g}) + lanes;`)}
    ${allQuads(
      (g) => `var m${g} = vec4<f32>(NEG);
        var l${g} = vec4<f32>(0.0);`,
    )}
    ${allRows((i) => unrolled(oc4, (e) => `var ${o(i, e)} = vec4<f32>(0.0);`))}

    let blockRow = bh * uniforms.nq + qb;
    var segments = segmentCount(blockRow);
    if (qn == 0) { segments = 0; }
    for (var n = 0; n < segments; n++) {
      var seg = segment(blockRow, uniforms.nk, n, uniforms.bk, lk);
      if (uniforms.causal != 0) { seg.y = min(seg.y, qEnd); }
      for (var k0 = seg.x; k0 < seg.y; k0 += TK) {
        let kn = min(TK, seg.y - k0);
        ${loadTransposed(dims, 'sKV', 'k', 'kBase + k0 * HD', tk, 'kn', 'KS')}
        ${splitKv ? loadRows(dims, 'sV', 'v', 'kBase + k0 * HD', tk, 'kn') : ''}
        workgroupBarrier();

        ${allRows((i) => `var s${i} = vec4<f32>(0.0);`)}
        for (var dd = 0; dd < HD; dd++) {
          let kv = sKV[dd * KS + cg];
          ${allQuads((g) => `let qv${g} = sQ[dd * QS + rg * ${quads} + ${g}];`)}
          ${allRows((i) => `s${i} = fma(vec4<f32>(qv${Math.floor(i / 4)}.${XYZW[i % 4]}), kv, s${i});`)}
        }
        // only tiles that cross the sequence end, the query tile's end or the causal diagonal need masks
        let inside = kn == TK && qn == TQ && (uniforms.causal == 0 || k0 + TK - 1 <= q0);
        if (!inside) {
          let cols = vec4<i32>(k0 + cg * 4) + lanes;
          let colOk = (vec4<i32>(cg * 4) + lanes) < vec4<i32>(kn);
          ${allRows(
            (i) => `{
            var ok = colOk & vec4<bool>(${row(i)} < qEnd);
            if (uniforms.causal != 0) { ok = ok & (cols <= vec4<i32>(${row(i)})); }
            s${i} = select(vec4<f32>(NEG), s${i}, ok);
          }`,
          )}
        }
        ${allQuads((g) => `var tileMax${g} = ${quadVec(g, (i) => `max(max(s${i}.x, s${i}.y), max(s${i}.z, s${i}.w))`)};`)}
        ${allQuads((g) => `${maxBuf}[cg * PS + rg * ${quads} + ${g}] = tileMax${g};`)}
        workgroupBarrier();

        ${splitKv ? '' : loadRows(dims, 'sKV', 'v', 'kBase + k0 * HD', tk, 'kn')}
        for (var g = 0; g < CG; g++) {
          ${allQuads((g) => `tileMax${g} = max(tileMax${g}, ${maxBuf}[g * PS + rg * ${quads} + ${g}]);`)}
        }
        ${allQuads(
          (g) => `{
          let mNew = max(m${g}, tileMax${g});
          let alpha = exp2(m${g} - mNew);
          ${unrolled(4, (c) => `s${4 * g + c} = select(exp2(s${4 * g + c} - vec4<f32>(mNew.${XYZW[c]})), vec4<f32>(0.0), s${4 * g + c} <= vec4<f32>(MASKED));`)}
          l${g} = l${g} * alpha + ${quadVec(g, (i) => `dot(s${i}, vec4<f32>(1.0))`)};
          m${g} = mNew;
          ${unrolled(4, (c) => unrolled(oc4, (e) => `${o(4 * g + c, e)} *= alpha.${XYZW[c]};`))}
        }`,
        )}
        ${splitKv ? '' : 'workgroupBarrier();'}
        ${unrolled(4, (j) => allQuads((g) => `sP[(cg * 4 + ${j}) * PS + rg * ${quads} + ${g}] = ${quadVec(g, (i) => `s${i}.${XYZW[j]}`)};`))}
        workgroupBarrier();

        for (var c = 0; c < TK; c++) {
          ${allQuads((g) => `let pv${g} = sP[c * PS + rg * ${quads} + ${g}];`)}
          let vb = c * DP4 + cg * OC4;
          ${unrolled(oc4, (e) => `let v${e} = ${vBuf}[vb + ${e}];`)}
          ${allRows((i) => unrolled(oc4, (e) => `${o(i, e)} = fma(vec4<f32>(pv${Math.floor(i / 4)}.${XYZW[i % 4]}), v${e}, ${o(i, e)});`))}
        }
        workgroupBarrier();
      }
    }

    // the row sums are spread over the CG threads of each row group
    workgroupBarrier();
    ${allQuads((g) => `sP[cg * PS + rg * ${quads} + ${g}] = l${g};`)}
    workgroupBarrier();
    let lseBase = uniforms.heads * lq * HD + bh * lq;
    ${allQuads(
      (g) => `{
      var lt = vec4<f32>(0.0);
      for (var h = 0; h < CG; h++) { lt += sP[h * PS + rg * ${quads} + ${g}]; }
      let inv = select(vec4<f32>(0.0), vec4<f32>(1.0) / lt, lt > vec4<f32>(0.0));
      ${unrolled(
        4,
        (c) => `if (rows${g}.${XYZW[c]} < qEnd) {
        let ob = (bh * lq + rows${g}.${XYZW[c]}) * HD;
        ${unrolled(
          oc4,
          (e) => `{
          let x = ${o(4 * g + c, e)} * inv.${XYZW[c]};
          let col = (cg * OC4 + ${e}) * 4;
          ${unrolled(4, (j) => `if (col + ${j} < HD) { result[ob + col + ${j}] = x.${XYZW[j]}; }`)}
        }`,
        )}
        if (cg == 0) {
          var lse = -uniforms.INFINITY;
          if (lt.${XYZW[c]} > 0.0) { lse = (m${g}.${XYZW[c]} + log2(lt.${XYZW[c]})) * LN2; }
          result[lseBase + rows${g}.${XYZW[c]}] = lse;
        }
      }`,
      )}
    }`,
    )}
  }
`;
  }
}
