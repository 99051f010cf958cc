import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { PARTIAL_WIDTH } from '../src/rasterize/composite-backward.program.js';
import { RASTER_CONSTANTS_WGSL } from '../src/rasterize/constants.js';
import { ORDER_WGSL } from '../src/rasterize/intersections.wgsl.js';
import { PROJECTION_WGSL } from '../src/rasterize/projection.wgsl.js';
import { CAMERA_UNIFORMS_WGSL } from '../src/rasterize/raster-attrs.js';
import { SH_BASIS_WGSL } from '../src/rasterize/sh-basis.wgsl.js';

const WORKGROUP = 128;

/** Gradient columns before the SH block: means (3), logScales (3), quaternions (4), opacity logit (1). */
const GRAD_HEAD = 11;

/**
 * The per-Gaussian backward as src/rasterize/gaussian-backward.program.ts had it before it staged its rows in
 * workgroup memory: one thread per Gaussian by index, every partial, coefficient and gradient read or written by its
 * own thread. Kept as the oracle the staged program must match bit for bit (the same sums in the same order).
 */
export class PerThreadGaussianBackwardProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_gaussian_backward_per_thread_${WORKGROUP}`;
  variableNames = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh', 'order', 'partials'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = CAMERA_UNIFORMS_WGSL;

  constructor(n: number, shK: number) {
    this.outputShape = [n, GRAD_HEAD + 3 * shK];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${RASTER_CONSTANTS_WGSL}
  ${ORDER_WGSL}
  ${PROJECTION_WGSL}
  ${SH_BASIS_WGSL}
  const NQ = ${PARTIAL_WIDTH};
  const HEAD = ${GRAD_HEAD};

  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (i >= uniforms.n) { return; }
    let width = HEAD + 3 * uniforms.shK;
    let o = i * width;
    let rank = depthRank(i);
    let start = order[rank];
    let end = order[rank + 1];
    if (totalIntersections() > uniforms.capacity || start == end) {
      let fill = select(0.0, uniforms.NAN, totalIntersections() > uniforms.capacity);
      for (var c = 0; c < width; c++) { result[o + c] = fill; }
      return;
    }
    var acc = array<f32, NQ>();
    for (var j = start; j < end; j++) {
      for (var q = 0; q < NQ; q++) { acc[q] += partials[j * NQ + q]; }
    }
    let dUV = vec2<f32>(acc[0], acc[1]);
    let dConic = vec3<f32>(acc[2], acc[3], acc[4]);
    let dOpacity = acc[5];
    let dColor = vec3<f32>(acc[6], acc[7], acc[8]);
    let dDepth = acc[9];

    // recompute the forward
    let mean = loadMean(i);
    let p = toCamera(mean);
    let q = loadQuat(i);
    let qLen = length(q);
    let qh = q / qLen;
    let rot = quatRotation(qh);
    let s = loadScale(i);
    let m = rot * mat3x3<f32>(vec3<f32>(s.x, 0.0, 0.0), vec3<f32>(0.0, s.y, 0.0), vec3<f32>(0.0, 0.0, s.z));
    let w = viewRotation();
    let covC = w * (m * transpose(m)) * transpose(w);
    let jac = projJacobian(p);
    let cov2d = jac * covC * transpose(jac);
    let a = cov2d[0][0] + EPS_2D;
    let c = cov2d[1][1] + EPS_2D;
    let b = cov2d[1][0];
    let invDet = 1.0 / (a * c - b * b);
    let inv = mat2x2<f32>(vec2<f32>(c * invDet, -b * invDet), vec2<f32>(-b * invDet, a * invDet));

    // conic → dilated 2D covariance (the +0.3 passes the gradient unchanged)
    let gInv = mat2x2<f32>(vec2<f32>(dConic.x, 0.5 * dConic.y), vec2<f32>(0.5 * dConic.y, dConic.z));
    let dCov2d = -1.0 * (inv * gInv * inv);
    // Σ' = J Σ_c Jᵀ
    let dCovC = transpose(jac) * dCov2d * jac;
    let dJ = 2.0 * (dCov2d * jac * covC);

    // camera-space mean: mean2d, depth, and the Jacobian's dependence on (x, y, z)
    let rz = 1.0 / p.z;
    let rz2 = rz * rz;
    let rz3 = rz2 * rz;
    let fx = uniforms.fx;
    let fy = uniforms.fy;
    var dP = vec3<f32>(fx * rz * dUV.x, fy * rz * dUV.y, -(fx * p.x * dUV.x + fy * p.y * dUV.y) * rz2 + dDepth);
    let tx = p.z * min(uniforms.limXPos, max(-uniforms.limXNeg, p.x * rz));
    let ty = p.z * min(uniforms.limYPos, max(-uniforms.limYNeg, p.y * rz));
    if (p.x * rz <= uniforms.limXPos && p.x * rz >= -uniforms.limXNeg) {
      dP.x += -fx * rz2 * dJ[2][0];
    } else {
      dP.z += -fx * rz3 * dJ[2][0] * tx;
    }
    if (p.y * rz <= uniforms.limYPos && p.y * rz >= -uniforms.limYNeg) {
      dP.y += -fy * rz2 * dJ[2][1];
    } else {
      dP.z += -fy * rz3 * dJ[2][1] * ty;
    }
    dP.z += -fx * rz2 * dJ[0][0] - fy * rz2 * dJ[1][1] + 2.0 * fx * tx * rz3 * dJ[2][0] + 2.0 * fy * ty * rz3 * dJ[2][1];
    var dMean = transpose(w) * dP;

    // Σ_c = W Σ Wᵀ, Σ = M Mᵀ, M = R diag(s)
    let dSigma = transpose(w) * dCovC * w;
    let dM = 2.0 * (dSigma * m);
    let dScale = vec3<f32>(dot(dM[0], rot[0]), dot(dM[1], rot[1]), dot(dM[2], rot[2]));
    let dLogScale = dScale * s;
    // R(q̂): G[i][j] below is ∂L/∂R_ij (row i, column j)
    let dR = mat3x3<f32>(dM[0] * s.x, dM[1] * s.y, dM[2] * s.z);
    let g00 = dR[0][0]; let g01 = dR[1][0]; let g02 = dR[2][0];
    let g10 = dR[0][1]; let g11 = dR[1][1]; let g12 = dR[2][1];
    let g20 = dR[0][2]; let g21 = dR[1][2]; let g22 = dR[2][2];
    let qw = qh.x; let qx = qh.y; let qy = qh.z; let qz = qh.w;
    let dQh = 2.0 * vec4<f32>(
      qx * (g21 - g12) + qy * (g02 - g20) + qz * (g10 - g01),
      -2.0 * qx * (g11 + g22) + qy * (g01 + g10) + qz * (g02 + g20) + qw * (g21 - g12),
      -2.0 * qy * (g00 + g22) + qx * (g01 + g10) + qz * (g12 + g21) + qw * (g02 - g20),
      -2.0 * qz * (g00 + g11) + qx * (g02 + g20) + qy * (g12 + g21) + qw * (g10 - g01));
    let dQ = (dQh - qh * dot(qh, dQh)) / qLen;

    // SH colour: rgb = max(Σ bₖ shₖ + 0.5, 0)
    let view = viewDirection(mean);
    let dir = view.xyz;
    let basis = shBasis(dir, uniforms.shDegree);
    let basisGrad = shBasisGrad(dir, uniforms.shDegree);
    let coeffs = (uniforms.shDegree + 1) * (uniforms.shDegree + 1);
    var raw = vec3<f32>(0.5);
    for (var k = 0; k < coeffs; k++) { raw += basis[k] * shCoeff(i, k); }
    let dRgb = select(vec3<f32>(0.0), dColor, raw > vec3<f32>(0.0));
    var dDir = vec3<f32>(0.0);
    for (var k = 0; k < uniforms.shK; k++) {
      var dCoeff = vec3<f32>(0.0);
      if (k < coeffs) {
        dCoeff = basis[k] * dRgb;
        dDir += dot(shCoeff(i, k), dRgb) * basisGrad[k];
      }
      let base = o + HEAD + 3 * k;
      result[base] = dCoeff.x;
      result[base + 1] = dCoeff.y;
      result[base + 2] = dCoeff.z;
    }
    dMean += (dDir - dir * dot(dir, dDir)) / view.w;

    let opacity = 1.0 / (1.0 + exp(-opacityLogits[i]));
    result[o] = dMean.x;
    result[o + 1] = dMean.y;
    result[o + 2] = dMean.z;
    result[o + 3] = dLogScale.x;
    result[o + 4] = dLogScale.y;
    result[o + 5] = dLogScale.z;
    result[o + 6] = dQ.x;
    result[o + 7] = dQ.y;
    result[o + 8] = dQ.z;
    result[o + 9] = dQ.w;
    result[o + 10] = dOpacity * opacity * (1.0 - opacity);
  }
`;
  }
}
