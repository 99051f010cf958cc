import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { type ChunkTile, groupSpan, STATE_SPLIT_WORKGROUP, statePartials, stateSplits } from './tile.js';

/** Threads of the unsplit program (tile.split 1), one per output. */
const WORKGROUP = 128;

/**
 * Where the state pass writes, per (b, h): the state entering each of the N chunks and the final one
 * (`(N + 1)·Dk·Dv` floats, `[N + 1, Dk, Dv]`), then V' `[N·C, Dv]`.
 */
export function statePassLayout(chunks: number, chunk: number, dk: number, dv: number): { perHead: number; vOffset: number } {
  const vOffset = (chunks + 1) * dk * dv;
  return { perHead: vOffset + chunks * chunk * dv, vOffset };
}

/** Floats per (b, h, group) of the transitions pass's output: T_g `[Dk, Dk]`, then b_g `[Dk, Dv]`. */
export function transitionSize(dk: number, dv: number): number {
  return dk * (dk + dv);
}

/**
 * What a run of the state pass's loop computes. 'states': the states entering each chunk, the final state and V'
 * (`statePassLayout`), from each group's start state. 'transitions': pass A of the scan, each group's affine
 * map S ↦ T_g S + b_g over its chunks and nothing per chunk.
 */
export type StatePassRole = 'states' | 'transitions';

/**
 * The sequential pass of the chunked (gated) delta rule (fla `chunk_gated_delta_rule_fwd_h`;
 * papers/linear_rnn.md §3.2–3.3): workgroup (b·H + h, slice) owns `slice` columns of S `[Dk, Dv]` and
 * walks the chunks doing only matrix products, the WY factors coming from the prepare pass:
 * store S_n; V' = U − W S; S ← e^{γ_C} S + (K ⊙ e^{γ_C−γ})ᵀ V', each decay 0 across a reset (reset.ts:
 * the prepare pass hands over γ' and reset counts). Each thread owns a vec4 of columns;
 * the next chunk's operands are loaded into registers while the current one computes.
 * With `tile.split` > 1 (256 threads) up to that many threads share each output's sum (`stateSplits`): each adds
 * a contiguous part of its terms, and after a barrier one thread adds the parts in order. The per-chunk step is a
 * chain of dependent workgroup-memory loads and FMAs on a few warps (the loads of the next chunk already travel
 * meanwhile), so splitting the sums shortens the sequential critical path: at Dk = C = 64 from 2 × 64 to
 * 2 × (16 + 4) steps, with every thread busy in both products instead of half of them.
 * Inputs wu (the prepare pass, γ' and counts included when gated), k `[B, H, L, Dk]`, state `[B, H, Dk, Dv]`;
 * output `[B·H, perHead]` laid out by `statePassLayout`.
 *
 * Long sequences scan (`tile.groups` > 1; tile.ts's `scanGroups` gives the cost model): the chunks split into G
 * runs (`groupSpan`), and one chunk step is affine in S, S ↦ A_n S + c_n with A_n = e^{γ_C} I − K'ᵀ W and
 * c_n = K'ᵀ U (K' = K ⊙ e^{γ_C − γ}), column by column of S. Role 'transitions' (pass A) walks each group once
 * over the Dk + Dv columns of [T_g | b_g]: ⌈Dk/slice⌉ slices start from columns of the identity with U taken as
 * 0 (the product of the A_n), the ⌈Dv/slice⌉ after them from 0 with the real U (the offset); output
 * `[B·H, G, transitionSize]`, no input state. The group scan (group-scan.program.ts) turns those into each group's
 * start state, `[B·H, G, Dk, Dv]`, which role 'states' (pass C) then takes as `state`: workgroup
 * (b·H + h, group, slice) walks only its group's chunks, and the last group writes the final state.
 */
export class DeltaRuleStateProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'length : i32, dv : i32, chunks : i32, slices : i32, per : i32, groups : i32,';
  private readonly dk: number;
  private readonly tile: ChunkTile;
  private readonly gated: boolean;
  private readonly role: StatePassRole;

  constructor(batchHeads: number, length: number, dk: number, dv: number, tile: ChunkTile, gated: boolean, role: StatePassRole = 'states') {
    this.dk = dk;
    this.tile = tile;
    this.gated = gated;
    this.role = role;
    this.workgroupSize = [tile.split > 1 ? STATE_SPLIT_WORKGROUP : WORKGROUP, 1, 1];
    this.variableNames = role === 'states' ? ['wu', 'k', 'state'] : ['wu', 'k'];
    const chunks = Math.ceil(length / tile.chunk);
    const { groups } = groupSpan(chunks, tile.groups);
    this.outputShape =
      role === 'states' ? [batchHeads, statePassLayout(chunks, tile.chunk, dk, dv).perHead] : [batchHeads, groups, transitionSize(dk, dv)];
    this.shaderKey = `tessera_delta_state_v3_${role}_${gated ? 'gated' : 'plain'}_${dk}_${tile.chunk}_${tile.slice}_${tile.split}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(
      this.outputShape,
      batchHeads * groups * DeltaRuleStateProgram.slices(dk, dv, tile, role),
    ));
  }

  /** Workgroups per (b·H + h, group): slices of Dv, and for the transitions those of T's Dk columns before them. */
  private static slices(dk: number, dv: number, tile: ChunkTile, role: StatePassRole): number {
    return Math.ceil(dv / tile.slice) + (role === 'transitions' ? Math.ceil(dk / tile.slice) : 0);
  }

  /** The values of `uniforms`, in order. */
  static uniformValues(length: number, dk: number, dv: number, tile: ChunkTile, role: StatePassRole = 'states'): number[] {
    const chunks = Math.ceil(length / tile.chunk);
    const { per, groups } = groupSpan(chunks, tile.groups);
    return [length, dv, chunks, DeltaRuleStateProgram.slices(dk, dv, tile, role), per, groups];
  }

  getUserCode(): string {
    const { chunk: c, slice } = this.tile;
    const dk = this.dk;
    const transitions = this.role === 'transitions';
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
          if (${transitions ? 'offset && ' : ''}e < TILE_C * GROUPS) { ur[r] = wuRow4(nb + HEAD_K * TILE_C + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv); }
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
  const WG = ${workgroup};${
    transitions
      ? `
  const T_SLICES = ${Math.ceil(dk / slice)};`
      : ''
  }
  const BLK_PER = ${Math.ceil((c * dk) / workgroup)};
  const U_PER = ${Math.ceil((c * (slice / 4)) / workgroup)};
  var<workgroup> blk : array<f32, ${c * dk}>;
  var<workgroup> st : array<vec4<f32>, ${dk * (slice / 4)}>;
  var<workgroup> vn : array<vec4<f32>, ${c * (slice / 4)}>;
  var<workgroup> gs : array<f32, ${c}>;
  var<workgroup> cs : array<f32, ${c}>;
  var<workgroup> span : vec2<i32>;
  ${split ? `var<workgroup> part : array<vec4<f32>, ${statePartials(this.tile, dk) / 4}>;` : ''}
  ${load4('wu')}
  ${transitions ? '' : load4('state')}

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
    let slot = wg % uniforms.slices;
    // (b·H + h)·G + group; the group walks chunks [n0, n1). tfjs hands the workgroup id over in a private variable,
    // which WGSL's uniformity analysis takes for non-uniform: the loop's barriers may depend on bounds derived from
    // it only once they come back through workgroupUniformLoad
    let bg = wg / uniforms.slices;
    let bh = bg / uniforms.groups;
    if (tid == 0) {
      let first = (bg % uniforms.groups) * uniforms.per;
      span = vec2<i32>(first, min(first + uniforms.per, chunks));
    }
    let walk = workgroupUniformLoad(&span);
    let n0 = walk.x;
    let n1 = walk.y;
    ${
      transitions
        ? `// slices [0, T_SLICES) own columns of T_g, the rest columns of b_g (the only ones that load U)
    let offset = slot >= T_SLICES;
    let c0 = select(slot, slot - T_SLICES, offset) * GROUPS * 4;
    let cols = select(HEAD_K, dv, offset);
    let out = bg * HEAD_K * (HEAD_K + dv) + select(0, HEAD_K * HEAD_K, offset);`
        : `let c0 = slot * GROUPS * 4;
    let stateSize = HEAD_K * dv;
    let base = bh * ((chunks + 1) * stateSize + chunks * TILE_C * dv);
    let vBase = base + (chunks + 1) * stateSize;`
    }
    var wr : array<f32, BLK_PER>;
    var kr : array<f32, BLK_PER>;
    var ur : array<vec4<f32>, U_PER>;
    var gr = 0.0;
    var cr = 0.0;
    for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
      ${
        transitions
          ? `// T's columns start as the identity's (d = −1 matches none: b's start at 0)
      let col = c0 + (e % GROUPS) * 4;
      st[e] = select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<i32>(col, col + 1, col + 2, col + 3) == vec4<i32>(select(e / GROUPS, -1, offset)));`
          : 'st[e] = stateRow4((bg * HEAD_K + e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv);'
      }
    }
    ${fetchWu('n0')}
    ${fetchK('n0')}
    for (var n = n0; n < n1; n++) {
      let t0 = n * TILE_C;
      let cl = min(TILE_C, len - t0);
      ${
        transitions
          ? ''
          : `for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
        store4(base + n * stateSize + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv, st[e]);
      }`
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
    ${
      transitions
        ? `for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
      store4(out + (e / GROUPS) * cols, c0 + (e % GROUPS) * 4, cols, st[e]);
    }`
        : `if (n1 == chunks) {
      for (var e = tid; e < HEAD_K * GROUPS; e += WG) {
        store4(base + chunks * stateSize + (e / GROUPS) * dv, c0 + (e % GROUPS) * 4, dv, st[e]);
      }
    }`
    }
  }
`;
  }

  /** Stores V' (`acc`, row i of the chunk) at column `col`, where the role writes it. */
  private storeV(col: string): string {
    return this.role === 'states' ? `store4(vBase + (t0 + i) * dv, ${col}, dv, acc);` : '';
  }

  /** The rest of a chunk's step with one thread per output: V' = U − W S, then S ← e^{γ_C} S + Kᵀ V'. */
  private unsplitStep(decayed: (acc: string, i: string) => string, fetchWu: (m: string) => string, fetchK: (m: string) => string): string {
    return `if (n + 1 < n1) ${fetchWu('n + 1')}
      // V' = U − W S; the state update takes V' ⊙ e^{γ_C − γ} (0 where a reset follows the token)
      for (var r = 0; r < U_PER; r++) {
        let e = tid + r * WG;
        if (e < TILE_C * GROUPS) {
          let i = e / GROUPS;
          var acc = uc[r];
          for (var d = 0; d < HEAD_K; d++) { acc -= blk[d * TILE_C + i] * st[d * GROUPS + e % GROUPS]; }
          ${this.storeV('c0 + (e % GROUPS) * 4')}
          vn[e] = ${decayed('acc', 'i')};
        }
      }
      workgroupBarrier();
      for (var r = 0; r < BLK_PER; r++) {
        let e = tid + r * WG;
        if (e < TILE_C * HEAD_K) { blk[e] = kr[r]; }
      }
      workgroupBarrier();
      if (n + 1 < n1) ${fetchK('n + 1')}
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
          ${this.storeV('c0 + (e % GROUPS) * 4')}
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
          ${this.storeV('c0 + g * 4')}
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
      if (n + 1 < n1) ${fetchWu('n + 1')}
      // V' = U − W S (V' ⊙ e^{γ_C − γ} kept for the state update); then K replaces Wᵀ in blk
      ${valuesPhase}
      for (var r = 0; r < BLK_PER; r++) {
        let e = tid + r * WG;
        if (e < TILE_C * HEAD_K) { blk[e] = kr[r]; }
      }
      if (n + 1 < n1) ${fetchK('n + 1')}
      workgroupBarrier();
      // S ← e^{γ_C} S + (K ⊙ e^{γ_C − γ})ᵀ V'
      ${statePhase}`;
  }
}
