import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { RASTER_CONSTANTS_WGSL } from './constants.js';
import { PRE_LAYOUT_WGSL, PROJECTION_WGSL } from './projection.wgsl.js';
import { CAMERA_UNIFORMS_WGSL } from './raster-attrs.js';
import { SH_BASIS_WGSL } from './sh-basis.wgsl.js';

const WORKGROUP = 128;

/**
 * Per Gaussian (one thread each): projection, dilated 2D covariance and conic, opacity, its opacity-aware
 * per-axis extent (constants.ts RADIUS_SIGMAS), tile rectangle and tile count, SH colour (papers/ttt3d.md §3
 * steps 1–7, §4). Writes `[N, 16]` floats laid out as PRE_* in projection.wgsl.ts; a culled Gaussian (outside
 * the depth range, no pixel centre within its extent, a singular 2D covariance, a zero quaternion, or
 * opacity ≤ 1/255.8) gets count 0.
 */
export class PreprocessProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_preprocess_${WORKGROUP}`;
  variableNames = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = CAMERA_UNIFORMS_WGSL;

  constructor(n: number) {
    this.outputShape = [n, 16];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${RASTER_CONSTANTS_WGSL}
  ${PRE_LAYOUT_WGSL}
  ${PROJECTION_WGSL}
  ${SH_BASIS_WGSL}

  fn cull(i : i32) {
    for (var k = 0; k < PRE_STRIDE; k++) { result[i * PRE_STRIDE + k] = 0.0; }
  }

  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (i >= uniforms.n) { return; }
    let mean = loadMean(i);
    let p = toCamera(mean);
    if (!inDepthRange(p.z)) { cull(i); return; }
    let q = loadQuat(i);
    let qLen = length(q);
    // a zero quaternion has no rotation: the Gaussian is not drawn (and gets no gradient)
    if (!(qLen > 0.0)) { cull(i); return; }
    let rot = quatRotation(q / qLen);
    let s = loadScale(i);
    let m = rot * mat3x3<f32>(vec3<f32>(s.x, 0.0, 0.0), vec3<f32>(0.0, s.y, 0.0), vec3<f32>(0.0, 0.0, s.z));
    let w = viewRotation();
    let covC = w * (m * transpose(m)) * transpose(w);
    let jac = projJacobian(p);
    let cov2d = jac * covC * transpose(jac);
    let a = cov2d[0][0] + EPS_2D;
    let c = cov2d[1][1] + EPS_2D;
    let b = cov2d[1][0];
    let det = a * c - b * b;
    if (det <= 0.0) { cull(i); return; }
    let invDet = 1.0 / det;
    let rz = 1.0 / p.z;
    let u = uniforms.fx * p.x * rz + uniforms.cx;
    let v = uniforms.fy * p.y * rz + uniforms.cy;
    let opacity = 1.0 / (1.0 + exp(-opacityLogits[i]));
    // opacity-aware half-extent k·sqrt(Σ'_axis), k² = 3.33² + 2 ln o: beyond it every α < 1/255 (constants.ts)
    let k2 = RADIUS_SIGMAS * RADIUS_SIGMAS + 2.0 * log(opacity);
    if (!(k2 > 0.0)) { cull(i); return; }
    let rx = sqrt(k2 * a);
    let ry = sqrt(k2 * c);
    // the pixels whose centre (x + 0.5) lies in [u − rx, u + rx], clipped to the image; then the tiles holding them
    let xLo = max(ceil(u - rx - 0.5), 0.0);
    let xHi = min(floor(u + rx - 0.5), f32(uniforms.width - 1));
    let yLo = max(ceil(v - ry - 0.5), 0.0);
    let yHi = min(floor(v + ry - 0.5), f32(uniforms.height - 1));
    if (!(xLo <= xHi && yLo <= yHi)) { cull(i); return; }
    let ts = f32(TILE_SIZE);
    let x0 = i32(floor(xLo / ts));
    let x1 = i32(floor(xHi / ts)) + 1;
    let y0 = i32(floor(yLo / ts));
    let y1 = i32(floor(yHi / ts)) + 1;

    let d = viewDirection(mean);
    let basis = shBasis(d.xyz, uniforms.shDegree);
    let coeffs = (uniforms.shDegree + 1) * (uniforms.shDegree + 1);
    var rgb = vec3<f32>(0.0);
    for (var k = 0; k < coeffs; k++) { rgb += basis[k] * shCoeff(i, k); }
    rgb = max(rgb + 0.5, vec3<f32>(0.0));

    let o = i * PRE_STRIDE;
    result[o + PRE_U] = u;
    result[o + PRE_V] = v;
    result[o + PRE_CONIC] = c * invDet;
    result[o + PRE_CONIC + 1] = -b * invDet;
    result[o + PRE_CONIC + 2] = a * invDet;
    result[o + PRE_OPACITY] = opacity;
    result[o + PRE_COLOR] = rgb.x;
    result[o + PRE_COLOR + 1] = rgb.y;
    result[o + PRE_COLOR + 2] = rgb.z;
    result[o + PRE_DEPTH] = p.z;
    result[o + PRE_RECT] = f32(x0);
    result[o + PRE_RECT + 1] = f32(y0);
    result[o + PRE_RECT + 2] = f32(x1);
    result[o + PRE_RECT + 3] = f32(y1);
    result[o + PRE_COUNT] = f32((x1 - x0) * (y1 - y0));
    result[o + 15] = 0.0;
  }
`;
  }
}
