import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { type ChunkTile, statePartials, stateSplits } from './tile.js';

/**
 * Where the state pass writes, per (b, h): the state entering each of the N chunks and the final one
 * (`(N + 1)·Dk·Dv` floats, `[N + 1, Dk, Dv]`), then V' `[N·C, Dv]`.
 */
export function statePassLayout(chunks: number, chunk: number, dk: number, dv: number): { perHead: number; vOffset: number } {
  const vOffset = (chunks + 1) * dk * dv;
  return { perHead: vOffset + chunks * chunk * dv, vOffset };
}

/**
 * The sequential pass of the chunked (gated) delta rule (fla `chunk_gated_delta_rule_fwd_h`;
 * papers/linear_rnn.md §3.2–3.3): workgroup (b·H + h, slice) owns `slice` columns of S `[Dk, Dv]` and
 * walks the chunks doing only matrix products, the WY factors coming from the prepare pass:
 * store S_n; V' = U − W S; S ← e^{γ_C} S + (K ⊙ e^{γ_C−γ})ᵀ V', each decay 0 across a reset (reset.ts:
 * the prepare pass hands over γ' and reset counts). Each thread owns a vec4 of columns;
 * the next chunk's operands are loaded into registers while the current one computes.
 * With `tile.split` > 1 (on `tile.threads` threads) up to that many threads share each output's sum (`stateSplits`): each adds
 * a contiguous part of its terms, and after a barrier one thread adds the parts in order. The per-chunk step is a
 * chain of dependent workgroup-memory loads and FMAs on a few warps (the loads of the next chunk already travel
 * meanwhile), so splitting the sums shortens the sequential critical path: at Dk = C = 64 from 2 × 64 to
 * 2 × (16 + 4) steps, with every thread busy in both products instead of half of them.
 * Inputs wu (the prepare pass, γ' and counts included when gated), k `[B, H, L, Dk]`, state `[B, H, Dk, Dv]`;
 * output `[B·H, perHead]` laid out by `statePassLayout`.
 */
export class DeltaRuleStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'length : i32, dv : i32, chunks : i32, slices : i32,';
  private readonly dk: number;
  private readonly tile: ChunkTile;
  private readonly gated: boolean;

  constructor(batchHeads: number, length: number, dk: number, dv: number, tile: ChunkTile, gated: boolean) {
    this.dk = dk;
    this.tile = tile;
    this.gated = gated;
    this.workgroupSize = [tile.threads, 1, 1];
    this.variableNames = ['wu', 'k', 'state'];
    const chunks = Math.ceil(length / tile.chunk);
    this.outputShape = [batchHeads, statePassLayout(chunks, tile.chunk, dk, dv).perHead];
    this.shaderKey = `tessera_delta_state_v2_${gated ? 'gated' : 'plain'}_${dk}_${tile.chunk}_${tile.slice}_${tile.split}_${tile.threads}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      batchHeads * Math.ceil(dv / tile.slice),
    ));
  }

  /** The values of `uniforms`, in order. */
  static uniformValues(length: number, dv: number, tile: ChunkTile): number[] {
    return [length, dv, Math.ceil(length / tile.chunk), Math.ceil(dv / tile.slice)];
  }

  getUserCode(): string {
    const { chunk: c, slice } = this.tile;
    const dk = this.dk;
    const split = this.tile.split > 1;
    const workgroup = this.workgroupSize[0];
    // a vec4 of columns [col, col + 4) of row `off`, zero past Dv (the last slice may hang over)
    const load4 = (buf: string) => `
  fn ${buf}Row4(off : i32, col : i32, dv : i32) -> vec4<f32> {
    var x = vec4<f32>(0.0);
    if (col < dv) { x.x = ${buf}[off + col]; }
    if (col + 1 < dv) { x.y = ${buf}[off + col + 1]; }
    if (col + 2 < dv) { x.z = ${buf}[off + col + 2]; }
    if (col + 3 < dv) { x.w = ${buf}[off + col + 3]; }
    return x;
  }`;
    const block = `TILE_C * (HEAD_K + dv${this.gated ? ' + 2' : ''})`;
    // loads of chunk m's Wᵀ, U, γ' and reset counts (from the prepare pass) and K into registers: issued a chunk ahead,
    // they travel while the current chunk computes, off the sequential critical path
    const fetchWu = (m: string) => `{
        let nb = (bh * chunks + ${m}) * (${block});
        for (var r = 0; r < BLK_PER; r++) {
          let e = tid + r * WG;
          if (e < HEAD_K * TILE_C) { wr[r] = wu[nb + e]; }
        }
        for (var r = 0; r < U_PER; r++) {
          let e = tid + r * WG;
          if (e < TILE_C * GROUPS) { ur[r] = wuRow4(nb + HEAD_K * TILE_C + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv); }
        }
        ${
          this.gated
            ? `if (tid < TILE_C) {
          gr = wu[nb + TILE_C * (HEAD_K + dv) + tid];
          cr = wu[nb + TILE_C * (HEAD_K + dv + 1) + tid];
        }`
            : ''
        }
      }`;
    const fetchK = (m: string) => `{
        let kb = (bh * len + (${m}) * TILE_C) * HEAD_K;
        let kl = min(TILE_C, len - (${m}) * TILE_C);
        for (var r = 0; r < BLK_PER; r++) {
          let e = tid + r * WG;
          var x = 0.0;
          if (e < TILE_C * HEAD_K && e / HEAD_K < kl) { x = k[kb + e]; }
          kr[r] = x;
        }
      }`;
    // V' ⊙ e^{γ_C − γ_i} (0 where a reset follows the token): what the state update takes
    const decayed = (acc: string, i: string) =>
      `${acc}${this.gated ? ` * select(0.0, exp(gs[cl - 1] - gs[${i}]), cs[cl - 1] == cs[${i}])` : ''}`;
    const body = split ? this.splitStep(dk, c, decayed, fetchWu, fetchK) : this.unsplitStep(decayed, fetchWu, fetchK);
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const TILE_C = ${c};
  const HEAD_K = ${dk};
  const GROUPS = ${slice / 4};
  const WG = ${workgroup};
  const BLK_PER = ${Math.ceil((c * dk) / workgroup)};
  const U_PER = ${Math.ceil((c * (slice / 4)) / workgroup)};
  var<workgroup> blk : array<f32, ${c * dk}>;
  var<workgroup> st : array<vec4<f32>, ${dk * (slice / 4)}>;
  var<workgroup> vn : array<vec4<f32>, ${c * (slice / 4)}>;
  var<workgroup> gs : array<f32, ${c}>;
  var<workgroup> cs : array<f32, ${c}>;
  ${split ? `var<workgroup> part : array<vec4<f32>, ${statePartials(this.tile, dk) / 4}>;` : ''}
  ${load4('wu')}
  ${load4('state')}

  fn store4(off : i32, col : i32, dv : i32, x : vec4<f32>) {
    if (col < dv) { result[off + col] = x.x; }
    if (col + 1 < dv) { result[off + col + 1] = x.y; }
    if (col + 2 < dv) { result[off + col + 2] = x.z; }
    if (col + 3 < dv) { result[off + col + 3] = x.w; }
  }

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let len = uniforms.length;
    let dv = uniforms.dv;
    let chunks = uniforms.chunks;
    let bh = wg / uniforms.slices;
    let c0 = (wg % uniforms.slices) * GROUPS * 4;
    let stateSize = HEAD_K * dv;
    let base = bh * ((chunks + 1) * stateSize + chunks * TILE_C * dv);
    let vBase = base + (chunks + 1) * stateSize;
    var wr : array<f32, BLK_PER>;
    var kr : array<f32, BLK_PER>;
    var ur : array<vec4<f32>, U_PER>;
    var gr = 0.0;
    var cr = 0.0;
    for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
      st[e] = stateRow4((bh * HEAD_K + e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv);
    }
    ${fetchWu('0')}
    ${fetchK('0')}
    for (var n = 0; n < chunks; n++) {
      let t0 = n * TILE_C;
      let cl = min(TILE_C, len - t0);
      for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
        store4(base + n * stateSize + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv, st[e]);
      }
      // Wᵀ [Dk, C] as the prepare pass stored it: coalesced loads, conflict-free reads below
      for (var r = 0; r < BLK_PER; r++) {
        let e = tid + r * WG;
        if (e < HEAD_K * TILE_C) { blk[e] = wr[r]; }
      }
      ${
        this.gated
          ? `if (tid < TILE_C) {
        gs[tid] = gr;
        cs[tid] = cr;
      }`
          : ''
      }
      let uc = ur;
      workgroupBarrier();
      ${body}
    }
    for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
      store4(base + chunks * stateSize + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv, st[e]);
    }
  }
`;
  }

  /** The rest of a chunk's step with one thread per output: V' = U − W S, then S ← e^{γ_C} S + Kᵀ V'. */
  private unsplitStep(decayed: (acc: string, i: string) => string, fetchWu: (m: string) => string, fetchK: (m: string) => string): string {
    return `if (n + 1 < chunks) ${fetchWu('n + 1')}
      // V' = U − W S; the state update takes V' ⊙ e^{γ_C − γ} (0 where a reset follows the token)
      for (var r = 0; r < U_PER; r++) {
        let e = tid + r * WG;
        if (e < TILE_C * GROUPS) {
          let i = e / GROUPS;
          var acc = uc[r];
          for (var d = 0; d < HEAD_K; d++) { acc -= blk[d * TILE_C + i] * st[d * GROUPS + e % GROUPS]; }
          store4(vBase + (t0 + i) * dv, c0 + (e % GROUPS) * 4, dv, acc);
          vn[e] = ${decayed('acc', 'i')};
        }
      }
      workgroupBarrier();
      for (var r = 0; r < BLK_PER; r++) {
        let e = tid + r * WG;
        if (e < TILE_C * HEAD_K) { blk[e] = kr[r]; }
      }
      workgroupBarrier();
      if (n + 1 < chunks) ${fetchK('n + 1')}
      for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
        let d = e / GROUPS;
        var acc = vec4<f32>(0.0);
        for (var i = 0; i < TILE_C; i++) { acc += blk[i * HEAD_K + d] * vn[i * GROUPS + e % GROUPS]; }
        st[e] = ${this.gated ? 'select(0.0, exp(gs[cl - 1]), cs[cl - 1] == 0.0) * ' : ''}st[e] + acc;
      }
      workgroupBarrier();`;
  }

  /**
   * The rest of a chunk's step with split sums: thread e of a product adds terms [p·span, (p + 1)·span) of output
   * e mod outputs (p = e / outputs) into `part`; after a barrier the output's thread adds U (or e^{γ_C} S) and
   * the parts. The state's decay is read before `gs` is refilled by the next chunk, which no barrier separates
   * from the last phase.
   */
  private splitStep(
    dk: number,
    c: number,
    decayed: (acc: string, i: string) => string,
    fetchWu: (m: string) => string,
    fetchK: (m: string) => string,
  ): string {
    const groups = this.tile.slice / 4;
    const splits = stateSplits(this.tile, dk);
    // the sum over `terms` of `term(j)` split `parts` ways, or a single loop; j past `terms` (a span that does not
    // divide them) adds nothing
    const partial = (terms: number, parts: number, term: string): string => {
      const span = Math.ceil(terms / parts);
      const add = span * parts === terms ? `acc += ${term};` : `if (j < ${terms}) { acc += ${term}; }`;
      return `for (var s = 0; s < ${span}; s++) {
            let j = p * ${span} + s;
            ${add}
          }`;
    };
    const gather = (outputs: number, parts: number, sign: string) =>
      Array.from({ length: parts }, (_, p) => `acc ${sign}= part[${p * outputs} + e];`).join('\n          ');
    const values = c * groups;
    const states = dk * groups;
    const wTerm = 'blk[j * TILE_C + i] * st[j * GROUPS + g]';
    const kTerm = 'blk[j * HEAD_K + d] * vn[j * GROUPS + g]';
    const stateDecay = this.gated ? 'select(0.0, exp(gs[cl - 1]), cs[cl - 1] == 0.0)' : '1.0';
    const valuesPhase =
      splits.values > 1
        ? `{
        let e = tid;
        if (e < ${values * splits.values}) {
          let p = e / ${values};
          let i = (e % ${values}) / GROUPS;
          let g = e % GROUPS;
          var acc = vec4<f32>(0.0);
          ${partial(dk, splits.values, wTerm)}
          part[e] = acc;
        }
      }
      workgroupBarrier();
      for (var r = 0; r < U_PER; r++) {
        let e = tid + r * WG;
        if (e < ${values}) {
          let i = e / GROUPS;
          var acc = uc[r];
          ${gather(values, splits.values, '-')}
          store4(vBase + (t0 + i) * dv, c0 + (e % GROUPS) * 4, dv, acc);
          vn[e] = ${decayed('acc', 'i')};
        }
      }`
        : `for (var r = 0; r < U_PER; r++) {
        let e = tid + r * WG;
        if (e < ${values}) {
          let i = e / GROUPS;
          let g = e % GROUPS;
          let p = 0;
          var acc = vec4<f32>(0.0);
          ${partial(dk, 1, wTerm)}
          acc = uc[r] - acc;
          store4(vBase + (t0 + i) * dv, c0 + g * 4, dv, acc);
          vn[e] = ${decayed('acc', 'i')};
        }
      }
      workgroupBarrier();`;
    const statePhase =
      splits.state > 1
        ? `{
        let e = tid;
        if (e < ${states * splits.state}) {
          let p = e / ${states};
          let d = (e % ${states}) / GROUPS;
          let g = e % GROUPS;
          var acc = vec4<f32>(0.0);
          ${partial(c, splits.state, kTerm)}
          part[e] = acc;
        }
      }
      workgroupBarrier();
      for (var e = tid; e < ${states}; e += WG) {
        var acc = vec4<f32>(0.0);
        ${gather(states, splits.state, '+')}
        st[e] = keep * st[e] + acc;
      }`
        : `for (var e = tid; e < ${states}; e += WG) {
        let d = e / GROUPS;
        let g = e % GROUPS;
        let p = 0;
        var acc = vec4<f32>(0.0);
        ${partial(c, 1, kTerm)}
        st[e] = keep * st[e] + acc;
      }
      workgroupBarrier();`;
    return `let keep = ${stateDecay};
      if (n + 1 < chunks) ${fetchWu('n + 1')}
      // V' = U − W S (V' ⊙ e^{γ_C − γ} kept for the state update); then K replaces Wᵀ in blk
      ${valuesPhase}
      for (var r = 0; r < BLK_PER; r++) {
        let e = tid + r * WG;
        if (e < TILE_C * HEAD_K) { blk[e] = kr[r]; }
      }
      if (n + 1 < chunks) ${fetchK('n + 1')}
      workgroupBarrier();
      // S ← e^{γ_C} S + (K ⊙ e^{γ_C − γ})ᵀ V'
      ${statePhase}`;
  }
}
