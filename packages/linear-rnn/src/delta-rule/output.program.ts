import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { RESET_BELOW_WGSL } from './reset.js';
import { statePassLayout } from './state.program.js';
import { CHUNK_PAD, type ChunkTile } from './tile.js';

const WORKGROUP = 256;
/** Every chunk is padded to this many rows (and its Dv slabs are this wide): 16 × 16 threads of 4×4 tiles. */
const PAD = CHUNK_PAD;
/** vec4s per PAD-wide row, and the register tiles along a side. */
const TILES = PAD / 4;
/** Rows of the Kᵀ slab in vec4s: one vec4 past PAD, so that the transposing store is free of bank conflicts. */
const KT_STRIDE = TILES + 1;
/** The workgroup memory in vec4s (8192 floats, 32 KiB), as two halves that the phases below share out. */
const HALF = 1024;
const LANES = ['x', 'y', 'z', 'w'] as const;
const ROWS = [0, 1, 2, 3] as const;

/** Dk columns staged at a time. */
const SLAB = 32;

/** One operand that a product multiplies the A tile by, and the registers it accumulates into. */
interface Operand {
  base: string;
  stride: number;
  acc: string;
}

/**
 * Accumulates the thread's 4×4 tile of A·B for every operand B: A `[64, 4·steps]` row-major in vec4s
 * at `a` (row stride `aStride`), B `[4·steps, 64]` row-major in vec4s. A constant trip count over
 * workgroup memory only; a warp spans two tile rows, so each A load is a broadcast, and the B loads of
 * its 16 tile columns are consecutive vec4s.
 */
function product(a: string, aStride: number, steps: number, operands: Operand[]): string {
  const aLoads = ROWS.map((r) => `let a${r} = sm[${a} + (i0 + ${r}) * ${aStride} + x4];`).join('\n        ');
  const body = operands
    .map(({ base, stride, acc }, o) => {
      const loads = ROWS.map((m) => `let b${o}_${m} = sm[${base} + (4 * x4 + ${m}) * ${stride} + tj];`).join('\n        ');
      const fmas = ROWS.map((r) => `${acc}${r} += ${LANES.map((l, m) => `a${r}.${l} * b${o}_${m}`).join(' + ')};`).join('\n        ');
      return `${loads}\n        ${fmas}`;
    })
    .join('\n        ');
  return `for (var x4 = 0; x4 < ${steps}; x4++) {
        ${aLoads}
        ${body}
      }`;
}

const zero = (acc: string): string => ROWS.map((r) => `${acc}${r} = vec4<f32>(0.0);`).join('\n      ');
const declare = (acc: string): string => ROWS.map((r) => `var ${acc}${r} = vec4<f32>(0.0);`).join('\n    ');

/**
 * The parallel output pass of the chunked (gated) delta rule (fla `chunk_fwd_o`; papers/linear_rnn.md
 * §3.2–3.3), one workgroup per (b·H + h, chunk):
 * O = s (e^γ ⊙ Q S_n + (Q Kᵀ ⊙ Γ ⊙ M) V'), with S_n and V' from the state pass (decays 0 across a reset).
 * The chunk is padded to 64 rows and each of the 256 threads owns a 4×4 register tile of a 64×64
 * block; every product runs over operands staged in workgroup memory by coalesced loads.
 * P = Q Kᵀ builds over Dk slabs (alongside Q S of the first 64 columns of Dv, which reuses the staged
 * Q), is masked and decayed, and parked in workgroup memory; each 64-column slab of Dv then adds P V'.
 * Inputs q, k `[B, H, L, Dk]`, g `[B, H, L]` when gated, sv (the state pass); output `[B, H, L, Dv]`.
 */
export class DeltaRuleOutputProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'length : i32, dv : i32, chunks : i32, perHead : i32, vOffset : i32, dk : i32, chunk : i32, scale : f32,';
  private readonly gated: boolean;

  /** Dk and C are uniforms, not constants: one shader serves every shape (see the prepare pass). */
  constructor(batch: number, heads: number, length: number, dv: number, tile: ChunkTile, gated: boolean) {
    this.gated = gated;
    this.variableNames = gated ? ['q', 'k', 'g', 'sv'] : ['q', 'k', 'sv'];
    this.outputShape = [batch, heads, length, dv];
    this.shaderKey = `tessera_delta_output_v4_${gated ? 'gated' : 'plain'}`;
    const workgroups = batch * heads * Math.ceil(length / tile.chunk);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, workgroups));
  }

  /** The integer values of `uniforms`, in order (the float scale follows them). */
  static uniformValues(length: number, dk: number, dv: number, tile: ChunkTile): number[] {
    const chunks = Math.ceil(length / tile.chunk);
    const { perHead, vOffset } = statePassLayout(chunks, tile.chunk, dk, dv);
    return [length, dv, chunks, perHead, vOffset, dk, tile.chunk];
  }

  getUserCode(): string {
    const gated = this.gated;
    const sk = SLAB;
    const sk4 = sk / 4;
    const ktCells = PAD * sk4;
    // where the phases keep their operands, in vec4s: the first half holds the Kᵀ slab, then P; the
    // second half holds the Q slab and the S slab, then the V' slab
    const [KT, P, QA, SB, VB] = ['0', '0', `${HALF}`, `${HALF + HALF / 2}`, `${HALF}`];
    // Q [64, SK] at QA and S [SK, 64] (columns c0..) at SB, zero past the chunk, Dk and Dv
    const stageQ = `
      for (var r = 0; r < ${sk4}; r++) {
        let e = tid + r * WG;
        let i = e / SLAB_K;
        let d = d0 + e % SLAB_K;
        var x = 0.0;
        if (i < cl && d < HEAD_K) { x = q[(row + i) * HEAD_K + d]; }
        sm[${QA} + e / 4][e & 3] = x;
      }`;
    const stageS = `
      for (var r = 0; r < ${sk4}; r++) {
        let e = tid + r * WG;
        let d = d0 + e / PAD;
        let c = c0 + e % PAD;
        var x = 0.0;
        if (d < HEAD_K && c < dv) { x = sv[stateOff + d * dv + c]; }
        sm[${SB} + e / 4][e & 3] = x;
      }`;
    // Kᵀ [SK, 64]: a warp reads 16 tokens × two vec4s of Dk (full sectors) and stores 32 distinct banks
    const stageKt = `
      for (var r = 0; r < ${Math.ceil(ktCells / WORKGROUP)}; r++) {
        let e = tid + r * WG;
        let d4 = (e / TILES) % ${sk4};
        let t = (e / ${TILES * sk4}) * TILES + e % TILES;
        let d = d0 + 4 * d4;
        ${ktCells % WORKGROUP === 0 ? '' : `if (e < ${ktCells}) {`}
        ${ROWS.map(
          (m) => `var x${m} = 0.0;
        if (t < cl && d + ${m} < HEAD_K) { x${m} = k[(row + t) * HEAD_K + d + ${m}]; }
        sm[${KT} + (4 * d4 + ${m}) * ${KT_STRIDE} + t / 4][t & 3] = x${m};`,
        ).join('\n        ')}
        ${ktCells % WORKGROUP === 0 ? '' : '}'}
      }`;
    // P = Q Kᵀ ⊙ Γ ⊙ M (causal with the diagonal); Γ[i][t] = e^{γ'_i − γ'_t}, exponentiated only where kept,
    // and 0 across a reset (the counts differ)
    const storeP = ROWS.map((r) => {
      const keep = `cols <= vec4<i32>(i0 + ${r})`;
      const decay = `exp(select(vec4<f32>(0.0), vec4<f32>(gRow.${LANES[r]}) - gCol, keep${r}))`;
      const value = gated ? `p${r} * select(vec4<f32>(0.0), ${decay}, vec4<f32>(cRow.${LANES[r]}) == cCol)` : `p${r}`;
      return `let keep${r} = ${keep};
      sm[${P} + (i0 + ${r}) * TILES + tj] = select(vec4<f32>(0.0), ${value}, keep${r});`;
    }).join('\n      ');
    const decayRows = gated
      ? ROWS.map((r) => `o${r} *= select(0.0, exp(gRow.${LANES[r]}), cRow.${LANES[r]} == 0.0);`).join('\n      ')
      : '';
    const store = ROWS.map(
      (r) => `if (i0 + ${r} < cl) {
        ${ROWS.map((m) => `if (c0 + j0 + ${m} < dv) { result[(row + i0 + ${r}) * dv + c0 + j0 + ${m}] = uniforms.scale * o${r}.${LANES[m]}; }`).join('\n        ')}
      }`,
    ).join('\n      ');
    return `
  ${LINEAR_WORKGROUP_INDEX}
  const PAD = ${PAD};
  const TILES = ${TILES};
  const SLAB_K = ${sk};
  const WG = ${WORKGROUP};
  var<workgroup> sm : array<vec4<f32>, ${2 * HALF}>;

  fn main(index : i32) {
    let wg = i32(linearWorkgroupIndex());
    let tid = i32(localIndex);
    let len = uniforms.length;
    let dv = uniforms.dv;
    let HEAD_K = uniforms.dk;
    let TILE_C = uniforms.chunk;
    let bh = wg / uniforms.chunks;
    let n = wg % uniforms.chunks;
    let t0 = n * TILE_C;
    let cl = min(TILE_C, len - t0);
    let row = bh * len + t0;
    let stateOff = bh * uniforms.perHead + n * HEAD_K * dv;
    let vOff = bh * uniforms.perHead + uniforms.vOffset + t0 * dv;
    let ti = tid / TILES;
    let tj = tid % TILES;
    let i0 = 4 * ti;
    let j0 = 4 * tj;
    let cols = vec4<i32>(j0, j0 + 1, j0 + 2, j0 + 3);
    ${
      gated
        ? `// γ', the chunk-local prefix of g (0 past the chunk), and the reset counts (reset.ts), once: the raw g
    // in sm[0..16), γ' in sm[16..32), the counts in sm[32..48)
    if (tid < PAD) {
      var x = 0.0;
      if (tid < cl) { x = g[row + tid]; }
      sm[tid / 4][tid & 3] = x;
    }
    workgroupBarrier();
    if (tid < PAD) {
      var cum = 0.0;
      var resets = 0.0;
      for (var j = 0; j < PAD; j++) {
        let x = sm[j / 4][j & 3];
        let reset = x < ${RESET_BELOW_WGSL};
        cum += select(0.0, x, j <= tid && !reset);
        resets += select(0.0, 1.0, j <= tid && reset);
      }
      sm[TILES + tid / 4][tid & 3] = cum;
      sm[2 * TILES + tid / 4][tid & 3] = resets;
    }
    workgroupBarrier();
    let gRow = sm[TILES + ti];
    let gCol = sm[TILES + tj];
    let cRow = sm[2 * TILES + ti];
    let cCol = sm[2 * TILES + tj];`
        : ''
    }
    ${declare('p')}
    ${declare('o')}
    // P = Q Kᵀ and O = Q S (the first 64 columns of Dv) over Dk slabs, sharing each staged Q slab
    {
      let c0 = 0;
      for (var d0 = 0; d0 < HEAD_K; d0 += SLAB_K) {
        workgroupBarrier();
        ${stageQ}
        ${stageKt}
        ${stageS}
        workgroupBarrier();
        ${product(QA, sk4, sk4, [
          { base: KT, stride: KT_STRIDE, acc: 'p' },
          { base: SB, stride: TILES, acc: 'o' },
        ])}
      }
    }
    workgroupBarrier();
    ${storeP}
    for (var c0 = 0; c0 < dv; c0 += PAD) {
      if (c0 > 0) {
        ${zero('o')}
        for (var d0 = 0; d0 < HEAD_K; d0 += SLAB_K) {
          workgroupBarrier();
          ${stageQ}
          ${stageS}
          workgroupBarrier();
          ${product(QA, sk4, sk4, [{ base: SB, stride: TILES, acc: 'o' }])}
        }
      }
      ${decayRows}
      // O += P V', V' [64, 64] (columns c0..) zero past the chunk and Dv
      workgroupBarrier();
      for (var r = 0; r < ${(PAD * PAD) / WORKGROUP}; r++) {
        let e = tid + r * WG;
        let t = e / PAD;
        let c = c0 + e % PAD;
        var x = 0.0;
        if (t < cl && c < dv) { x = sv[vOff + t * dv + c]; }
        sm[${VB} + e / 4][e & 3] = x;
      }
      workgroupBarrier();
      ${product(P, TILES, TILES, [{ base: VB, stride: TILES, acc: 'o' }])}
      ${store}
    }
  }
`;
  }
}
