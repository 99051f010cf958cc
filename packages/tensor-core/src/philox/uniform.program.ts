import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '../op/webgpu-program.js';
import { PHILOX_WGSL } from './philox.wgsl.js';

const WORKGROUP = 64;

/**
 * Uniform floats for stream positions offset … offset+n−1: thread t computes the Philox block
 * ⌊offset/4⌋ + t and writes the (up to four) of its words that fall inside the range.
 */
export class PhiloxUniformProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_philox_uniform_${WORKGROUP}`;
  variableNames: string[] = [];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  // block0: first block index (low, high words); lane0: offset mod 4; key: the seed's words
  uniforms = 'n : u32, lane0 : u32, block0Lo : u32, block0Hi : u32, keyLo : u32, keyHi : u32,';
  readonly blocks: number;

  constructor(n: number, lane0: number) {
    this.outputShape = [n];
    this.blocks = Math.ceil((n + lane0) / 4);
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(this.blocks / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${PHILOX_WGSL}
  fn main(index : i32) {
    let t = linearWorkgroupIndex() * ${WORKGROUP}u + localIndex;
    let lo = uniforms.block0Lo + t;
    let hi = uniforms.block0Hi + select(0u, 1u, lo < t);
    let words = philox4x32(vec4<u32>(lo, hi, 0u, 0u), vec2<u32>(uniforms.keyLo, uniforms.keyHi));
    for (var lane = 0u; lane < 4u; lane++) {
      let j = t * 4u + lane;
      if (j >= uniforms.lane0 && j - uniforms.lane0 < uniforms.n) {
        result[j - uniforms.lane0] = f32(words[lane] >> 8u) * ${(1 / 16777216).toExponential()};
      }
    }
  }
`;
  }
}
