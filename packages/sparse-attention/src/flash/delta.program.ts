import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';

const WG = 128;

/**
 * FlashAttention-2's backward preprocessing (Dao 2023, Alg. 2 line 4): Δᵢ = Σ_d dOᵢ_d · Oᵢ_d − dLSEᵢ, one
 * thread per row of `dO, O: [R, D]` (flat), `dLse, lse: [R]` → `[R, 2]` pairs (LSEᵢ, Δᵢ). A cotangent on
 * the log-sum-exp output (∂LSEᵢ/∂Sᵢⱼ = Pᵢⱼ) enters dS = P ⊙ (dP − Δ) exactly as a shift of Δ. The pairs
 * share one binding: the backward programs are at WebGPU's default limit of 8 storage buffers.
 */
export class FlashDeltaProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['dO', 'o', 'dLse', 'lse'];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'rows : i32, d : i32,';

  constructor(rows: number) {
    this.outputShape = [rows * 2];
    this.shaderKey = `tessera_flash_delta_${WG}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.max(1, Math.ceil(rows / WG))));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let r = i32(linearWorkgroupIndex()) * ${WG} + i32(localIndex);
    if (r >= uniforms.rows) { return; }
    var acc = 0.0;
    for (var j = 0; j < uniforms.d; j++) { acc += dO[r * uniforms.d + j] * o[r * uniforms.d + j]; }
    result[2 * r] = lse[r];
    result[2 * r + 1] = acc - dLse[r];
  }
`;
  }
}
