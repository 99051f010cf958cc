import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { PARTIAL_WIDTH } from './composite-backward.program.js';
import { RASTER_CONSTANTS_WGSL } from './constants.js';
import { ORDER_WGSL } from './intersections.wgsl.js';
import { PROJECTION_WGSL } from './projection.wgsl.js';
import { CAMERA_UNIFORMS_WGSL } from './raster-attrs.js';
import { SH_BASIS_WGSL } from './sh-basis.wgsl.js';

/** Gaussians (rows) per workgroup: 64 rows of ≤ 59 floats stay within WebGPU's default 16 KiB of workgroup memory. */
export const GAUSSIAN_BACKWARD_ROWS = 64;

/** Gradient columns before the SH block: means (3), logScales (3), quaternions (4), opacity logit (1). */
export const GRAD_HEAD = 11;

/**
 * The chain rule from a Gaussian's summed partials (`acc`, NQ values) to its gradient row, as WGSL statements over
 * `i` (the Gaussian) and `o` (its row's offset in `out`); `coeff` is the WGSL expression of SH coefficient k, read
 * only before gradient k is written over the same columns. GaussianBackwardProgram and the tests' per-thread oracle
 * both run it, so they differ only in where rows are read from and written to.
 */
export function chainRuleWgsl(coeff: string, out: string): string {
  return `
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
  for (var k = 0; k < coeffs; k++) { raw += basis[k] * ${coeff}; }
  let dRgb = select(vec3<f32>(0.0), dColor, raw > vec3<f32>(0.0));
  var dDir = vec3<f32>(0.0);
  for (var k = 0; k < uniforms.shK; k++) {
    var dCoeff = vec3<f32>(0.0);
    if (k < coeffs) {
      dCoeff = basis[k] * dRgb;
      dDir += dot(${coeff}, dRgb) * basisGrad[k];
    }
    // after the last read of coefficient k: the gradient takes its place in the row
    let base = o + HEAD + 3 * k;
    ${out}[base] = dCoeff.x;
    ${out}[base + 1] = dCoeff.y;
    ${out}[base + 2] = dCoeff.z;
  }
  dMean += (dDir - dir * dot(dir, dDir)) / view.w;

  let opacity = 1.0 / (1.0 + exp(-opacityLogits[i]));
  ${out}[o] = dMean.x;
  ${out}[o + 1] = dMean.y;
  ${out}[o + 2] = dMean.z;
  ${out}[o + 3] = dLogScale.x;
  ${out}[o + 4] = dLogScale.y;
  ${out}[o + 5] = dLogScale.z;
  ${out}[o + 6] = dQ.x;
  ${out}[o + 7] = dQ.y;
  ${out}[o + 8] = dQ.z;
  ${out}[o + 9] = dQ.w;
  ${out}[o + 10] = dOpacity * opacity * (1.0 - opacity);`;
}

/**
 * Floats between staged rows: the row width 11 + 3K made odd, so that 32 invocations reading their own rows at the
 * same column hit 32 different banks (59 at K = 16).
 */
function rowStride(shK: number): number {
  return (GRAD_HEAD + 3 * shK) | 1;
}

/** Intersections' partials staged at once: as many as the rows' buffer holds (377 at K = 16). */
export function stagedIntersections(shK: number): number {
  return Math.floor((GAUSSIAN_BACKWARD_ROWS * rowStride(shK)) / PARTIAL_WIDTH);
}

/**
 * Per Gaussian (one invocation each): sums its per-intersection partials (contiguous slots from its first list entry,
 * order[rank(g)] … order[rank(g) + 1], intersections.wgsl.ts) and applies the chain rule back through the preprocess (gsplat's projection VJPs):
 * conic → Σ' (−Σ'⁻¹ G Σ'⁻¹), Σ' = J Σ_c Jᵀ → Σ_c and J (with the FOV clamp deciding whether J's x/z, y/z
 * terms reach x, y or only z), mean2d and depth → camera-space mean → world mean, Σ_c = W Σ Wᵀ → Σ = M Mᵀ
 * → M = R S → log-scales and the normalised quaternion → raw quaternion, sigmoid → logit, and SH colour
 * (clamp mask) → coefficients and, through the view direction, the mean. Writes `[N, 11 + 3K]`
 * (NaN everywhere when the intersection list overflowed).
 *
 * A workgroup takes GAUSSIAN_BACKWARD_ROWS Gaussians consecutive in depth rank, not in index: their partials are
 * then one contiguous range of the list, which the workgroup reads into workgroup memory with consecutive
 * invocations on consecutive floats (in chunks of stagedIntersections), and each invocation adds up its own slots
 * from there, in the order it always did. Their SH rows and gradient rows go through the same buffer, one row per
 * Gaussian: copied in (and out) a row at a time by consecutive invocations, so a warp touches two or three rows'
 * cache lines per access where one invocation per row touched 32 (rows of 48 and 59 floats). Each invocation's
 * arithmetic is the one-thread-per-row program's, so the gradients are the same to the bit
 * (test/rasterize-gaussian-backward.test.ts).
 */
export class GaussianBackwardProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh', 'order', 'partials'];
  workgroupSize: [number, number, number] = [GAUSSIAN_BACKWARD_ROWS, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = CAMERA_UNIFORMS_WGSL;
  private readonly shK: number;

  constructor(n: number, shK: number) {
    this.shK = shK;
    this.outputShape = [n, GRAD_HEAD + 3 * shK];
    this.shaderKey = `tessera_gs_gaussian_backward_rows_${GAUSSIAN_BACKWARD_ROWS}_${shK}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(n / GAUSSIAN_BACKWARD_ROWS)));
  }

  getUserCode(): string {
    const shK = this.shK;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${RASTER_CONSTANTS_WGSL}
  ${ORDER_WGSL}
  ${PROJECTION_WGSL}
  ${SH_BASIS_WGSL}
  const NQ = ${PARTIAL_WIDTH};
  const HEAD = ${GRAD_HEAD};
  const ROWS = ${GAUSSIAN_BACKWARD_ROWS};
  const SH_FLOATS = ${3 * shK};
  const WIDTH = ${GRAD_HEAD + 3 * shK};
  const STRIDE = ${rowStride(shK)};
  const CHUNK = ${stagedIntersections(shK)};
  /**
   * Loads each invocation issues before it stores them: with one at a time, a copy would wait a memory latency per
   * float and fall far short of the bandwidth at the occupancy this register-heavy program gets.
   */
  const LOADS = 8;
  /** A chunk of the workgroup's partials, then row r (at r * STRIDE): its SH coefficients in, its gradient out. */
  var<workgroup> rows : array<f32, ${GAUSSIAN_BACKWARD_ROWS * rowStride(shK)}>;
  /** Gaussian of each row: g where its gradient is computed, −1 − g where the row is a fill (zeros or NaN). */
  var<workgroup> rowGaussian : array<i32, ROWS>;
  /** The workgroup's list entries [first, end): empty where the list overflowed. */
  var<workgroup> span : vec2<i32>;

  fn stagedCoeff(row : i32, k : i32) -> vec3<f32> {
    let base = row * STRIDE + HEAD + 3 * k;
    return vec3<f32>(rows[base], rows[base + 1], rows[base + 2]);
  }

  fn main(index : i32) {
    let t = i32(localIndex);
    let first = i32(linearWorkgroupIndex()) * ROWS;
    let rank = first + t;
    let overflow = totalIntersections() > uniforms.capacity;
    var i = -1;
    var start = 0;
    var end = 0;
    if (rank < uniforms.n) {
      i = sortedGaussian(rank);
      start = order[rank];
      end = order[rank + 1];
    }
    let live = rank < uniforms.n && !overflow && start != end;
    rowGaussian[t] = select(-1 - i, i, live);
    if (t == 0) {
      let listEnd = order[min(first + ROWS, uniforms.n)];
      span = vec2<i32>(order[first], select(listEnd, order[first], overflow));
    }
    let list = workgroupUniformLoad(&span);

    // each invocation adds its slots' partials in list order, as they come through the staged chunks
    var acc = array<f32, NQ>();
    for (var c0 = list.x; c0 < list.y; c0 += CHUNK) {
      let c1 = min(list.y, c0 + CHUNK);
      let len = (c1 - c0) * NQ;
      for (var f0 = t; f0 < len; f0 += LOADS * ROWS) {
        var v = array<f32, LOADS>();
        for (var u = 0; u < LOADS; u++) {
          if (f0 + u * ROWS < len) { v[u] = partials[c0 * NQ + f0 + u * ROWS]; }
        }
        for (var u = 0; u < LOADS; u++) {
          if (f0 + u * ROWS < len) { rows[f0 + u * ROWS] = v[u]; }
        }
      }
      workgroupBarrier();
      for (var j = max(start, c0); j < min(end, c1); j++) {
        for (var q = 0; q < NQ; q++) { acc[q] += rows[(j - c0) * NQ + q]; }
      }
      workgroupBarrier();
    }

    let count = min(ROWS, uniforms.n - first);
    // the rows' SH coefficients (left at zero in a fill row, which overwrites them)
    for (var f0 = t; f0 < count * SH_FLOATS; f0 += LOADS * ROWS) {
      var v = array<f32, LOADS>();
      for (var u = 0; u < LOADS; u++) {
        let f = f0 + u * ROWS;
        let row = f / SH_FLOATS;
        if (f < count * SH_FLOATS && rowGaussian[row] >= 0) { v[u] = sh[rowGaussian[row] * SH_FLOATS + f - row * SH_FLOATS]; }
      }
      for (var u = 0; u < LOADS; u++) {
        let f = f0 + u * ROWS;
        let row = f / SH_FLOATS;
        if (f < count * SH_FLOATS) { rows[row * STRIDE + HEAD + f - row * SH_FLOATS] = v[u]; }
      }
    }
    workgroupBarrier();

    // from here to the copy out, an invocation touches only its own row
    let o = t * STRIDE;
    if (rank < uniforms.n && !live) {
      let fill = select(0.0, uniforms.NAN, overflow);
      for (var c = 0; c < WIDTH; c++) { rows[o + c] = fill; }
    }
    if (live) {
      ${chainRuleWgsl('stagedCoeff(t, k)', 'rows')}
    }
    workgroupBarrier();

    for (var f = t; f < count * WIDTH; f += ROWS) {
      let row = f / WIDTH;
      let g = rowGaussian[row];
      result[select(-1 - g, g, g >= 0) * WIDTH + f - row * WIDTH] = rows[row * STRIDE + f - row * WIDTH];
    }
  }
`;
  }
}
