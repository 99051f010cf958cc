import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLEND_WGSL } from './blend.wgsl.js';
import { RASTER_CONSTANTS_WGSL } from './constants.js';
import { ORDER_WGSL } from './intersections.wgsl.js';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';

/** Uniforms of the tile programs (forward and backward compositing). */
export const TILE_UNIFORMS = 'n : i32, capacity : i32, width : i32, height : i32, tilesX : i32, rangesBase : i32,';

/** Tile t's entries of the sorted list are [ranges[base + t], ranges[base + t + 1]) (radix-sort.ts `TileBins`). */
export const TILE_RANGE_WGSL = `
  fn tileRange(tile : i32) -> vec2<i32> {
    return vec2<i32>(ranges[uniforms.rangesBase + tile], ranges[uniforms.rangesBase + tile + 1]);
  }
`;

/**
 * Forward compositing (papers/ttt3d.md §3 step 9, §4): one 256-thread workgroup per 16×16 tile, one thread
 * per pixel; the tile's depth-sorted Gaussians are staged through workgroup memory 256 at a time and blended
 * front to back, α = min(0.99, o·e^−σ), skipping σ < 0 or α < 1/255, stopping before T would reach ≤ 1e-4.
 * The tile stops early once every pixel has. Writes `[h, w, 5]`: Σ cαT, Σ zαT, T (NaN everywhere when the
 * intersection list overflowed its capacity).
 */
export class CompositeProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_gs_composite';
  variableNames = ['pre', 'keys', 'ranges', 'order'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = TILE_UNIFORMS;

  constructor(height: number, width: number, tiles: number) {
    this.outputShape = [height, width, 5];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, tiles));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${RASTER_CONSTANTS_WGSL}
  ${PRE_LAYOUT_WGSL}
  ${ORDER_WGSL}
  ${TILE_RANGE_WGSL}
  ${BLEND_WGSL}
  var<workgroup> sXY : array<vec2<f32>, TILE_PIXELS>;
  var<workgroup> sConicO : array<vec4<f32>, TILE_PIXELS>;
  var<workgroup> sColorZ : array<vec4<f32>, TILE_PIXELS>;
  var<workgroup> doneCount : atomic<u32>;
  var<workgroup> ctlDone : u32;
  var<workgroup> ctlRange : vec2<i32>;

  fn main(index : i32) {
    let tile = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    let px = (tile % uniforms.tilesX) * TILE_SIZE + t % TILE_SIZE;
    let py = (tile / uniforms.tilesX) * TILE_SIZE + t / TILE_SIZE;
    let inside = px < uniforms.width && py < uniforms.height;
    let pixel = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
    if (t == 0) {
      atomicStore(&doneCount, 0u);
      ctlRange = tileRange(tile);
    }
    workgroupBarrier();
    var done = !inside;
    if (done) { atomicAdd(&doneCount, 1u); }
    let range = workgroupUniformLoad(&ctlRange);

    var trans = 1.0;
    var color = vec3<f32>(0.0);
    var depth = 0.0;
    var b0 = range.x;
    loop {
      workgroupBarrier();
      if (t == 0) { ctlDone = atomicLoad(&doneCount); }
      let nd = workgroupUniformLoad(&ctlDone);
      if (nd >= u32(TILE_PIXELS) || b0 >= range.y) { break; }
      let e = b0 + t;
      if (e < range.y) {
        let o = keys[KEY_WORDS * e + 1] * PRE_STRIDE;
        sXY[t] = vec2<f32>(pre[o + PRE_U], pre[o + PRE_V]);
        sConicO[t] = vec4<f32>(pre[o + PRE_CONIC], pre[o + PRE_CONIC + 1], pre[o + PRE_CONIC + 2], pre[o + PRE_OPACITY]);
        sColorZ[t] = vec4<f32>(pre[o + PRE_COLOR], pre[o + PRE_COLOR + 1], pre[o + PRE_COLOR + 2], pre[o + PRE_DEPTH]);
      }
      workgroupBarrier();
      let count = min(TILE_PIXELS, range.y - b0);
      for (var k = 0; k < count; k++) {
        if (done) { break; }
        let co = sConicO[k];
        let f = splatFalloff(sXY[k], co.xyz, pixel);
        let alpha = splatAlpha(co.w, f.y);
        if (splatSkipped(f.x, alpha)) { continue; }
        let next = trans * (1.0 - alpha);
        if (next <= MIN_TRANSMITTANCE) {
          done = true;
          atomicAdd(&doneCount, 1u);
          break;
        }
        let w = alpha * trans;
        let cz = sColorZ[k];
        color += cz.xyz * w;
        depth += cz.w * w;
        trans = next;
      }
      b0 += TILE_PIXELS;
    }
    if (!inside) { return; }
    let out = (py * uniforms.width + px) * 5;
    if (totalIntersections() > uniforms.capacity) {
      for (var c = 0; c < 5; c++) { result[out + c] = uniforms.NAN; }
      return;
    }
    result[out] = color.x;
    result[out + 1] = color.y;
    result[out + 2] = color.z;
    result[out + 3] = depth;
    result[out + 4] = trans;
  }
`;
  }
}
