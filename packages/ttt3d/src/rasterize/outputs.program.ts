import { flatGrid, LINEAR_WORKGROUP_INDEX, type ProgramUniform, type WebGPUProgram } from '@tessera/tensor-core';

/** The three outputs of a render, each read from the rasteriser's packed `[h, w, 5]` (Σ cαT, Σ zαT, T). */
export type RenderOutput = 'image' | 'depth' | 'alpha';

/** Channels of each output: image `[h, w, 3]`, depth and alpha `[h, w]`. */
export const OUTPUT_CHANNELS: Record<RenderOutput, number> = { image: 3, depth: 1, alpha: 1 };

const WORKGROUP = 64;
const UNIFORMS = 'pixels : i32, bg0 : f32, bg1 : f32, bg2 : f32,';

/** Uniforms of both programs: the pixel count and the background (image only; zeros otherwise). */
export function outputUniforms(pixels: number, background: readonly number[]): ProgramUniform[] {
  return [{ type: 'int32', data: [pixels] }, ...[0, 1, 2].map((c): ProgramUniform => ({ type: 'float32', data: [background[c] ?? 0] }))];
}

function grid(program: { outputShape: number[] }, pixels: number): Pick<WebGPUProgram, 'dispatchLayout' | 'dispatch'> {
  return flatGrid(program.outputShape, Math.ceil(pixels / WORKGROUP));
}

/**
 * One output of a render from the packed `[h, w, 5]`, one thread per pixel: image = Σ cαT + T·background, depth =
 * Σ zαT, alpha = 1 − T (what tfjs' slice, mul, add and sub computed in six programs). NaN (an overflowed
 * intersection list) passes through.
 */
export class RenderOutputProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['rendered'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = UNIFORMS;

  constructor(
    private readonly output: RenderOutput,
    height: number,
    width: number,
  ) {
    this.outputShape = output === 'image' ? [height, width, 3] : [height, width];
    this.shaderKey = `tessera_gs_output_${output}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = grid(this, height * width));
  }

  getUserCode(): string {
    const body = {
      image: `
    let t = rendered[5 * p + 4];
    result[3 * p] = rendered[5 * p] + t * uniforms.bg0;
    result[3 * p + 1] = rendered[5 * p + 1] + t * uniforms.bg1;
    result[3 * p + 2] = rendered[5 * p + 2] + t * uniforms.bg2;`,
      depth: `
    result[p] = rendered[5 * p + 3];`,
      alpha: `
    result[p] = 1.0 - rendered[5 * p + 4];`,
    }[this.output];
    return `
  ${LINEAR_WORKGROUP_INDEX}

  fn main(index : i32) {
    let p = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (p >= uniforms.pixels) { return; }${body}
  }
`;
  }
}

/**
 * The gradient of one output with respect to the packed `[h, w, 5]`: image → (dI, 0, dI·background), depth →
 * (0, 0, 0, dD, 0), alpha → (0, 0, 0, 0, −dA). tfjs adds those of the outputs a loss used.
 */
export class RenderOutputGradProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['dy'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = UNIFORMS;

  constructor(
    private readonly output: RenderOutput,
    height: number,
    width: number,
  ) {
    this.outputShape = [height, width, 5];
    this.shaderKey = `tessera_gs_output_grad_${output}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = grid(this, height * width));
  }

  getUserCode(): string {
    const values = {
      image: `let g = vec3<f32>(dy[3 * p], dy[3 * p + 1], dy[3 * p + 2]);
    let v = array<f32, 5>(g.x, g.y, g.z, 0.0, g.x * uniforms.bg0 + g.y * uniforms.bg1 + g.z * uniforms.bg2);`,
      depth: 'let v = array<f32, 5>(0.0, 0.0, 0.0, dy[p], 0.0);',
      alpha: 'let v = array<f32, 5>(0.0, 0.0, 0.0, 0.0, -dy[p]);',
    }[this.output];
    return `
  ${LINEAR_WORKGROUP_INDEX}

  fn main(index : i32) {
    let p = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (p >= uniforms.pixels) { return; }
    ${values}
    for (var c = 0; c < 5; c++) { result[5 * p + c] = v[c]; }
  }
`;
  }
}
