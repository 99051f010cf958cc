import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { RASTER_CONSTANTS_WGSL } from './constants.js';
import { PRE_LAYOUT_WGSL, PROJECTION_WGSL } from './projection.wgsl.js';
import { CAMERA_UNIFORMS_WGSL } from './raster-attrs.js';
import { SH_BASIS_WGSL } from './sh-basis.wgsl.js';

const WORKGROUP = 128;

/**
 * Per Gaussian (one thread each): projection, dilated 2D covariance and conic, per-axis radius, tile
 * rectangle and tile count, opacity and SH colour (papers/ttt3d.md §3 steps 1–7, §4). Writes `[N, 16]`
 * floats laid out as PRE_* in projection.wgsl.ts; a culled Gaussian (outside the depth range or the image,
 * a singular 2D covariance, or a zero quaternion) gets count 0.
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
    let rx = ceil(RADIUS_SIGMAS * sqrt(a));
    let ry = ceil(RADIUS_SIGMAS * sqrt(c));
    if (u + rx <= 0.0 || u - rx >= f32(uniforms.width) || v + ry <= 0.0 || v - ry >= f32(uniforms.height)) {
      cull(i);
      return;
    }
    let ts = f32(TILE_SIZE);
    let x0 = clamp(i32(floor(u / ts - rx / ts)), 0, uniforms.tilesX);
    let x1 = clamp(i32(ceil(u / ts + rx / ts)), 0, uniforms.tilesX);
    let y0 = clamp(i32(floor(v / ts - ry / ts)), 0, uniforms.tilesY);
    let y1 = clamp(i32(ceil(v / ts + ry / ts)), 0, uniforms.tilesY);

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
    result[o + PRE_OPACITY] = 1.0 / (1.0 + exp(-opacityLogits[i]));
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
