/**
 * Layout of the preprocess output `[N, 16]`: mean2d (u, v), conic (a, b, c), opacity, colour (3), depth,
 * tile rectangle (x0, y0, x1, y1, as exact floats), tile count.
 */
export const PRE_STRIDE = 16;
export const PRE_COUNT = 14;
export const PRE_LAYOUT_WGSL = `
  const PRE_STRIDE = ${PRE_STRIDE};
  const PRE_U = 0; const PRE_V = 1; const PRE_CONIC = 2; const PRE_OPACITY = 5; const PRE_COLOR = 6;
  const PRE_DEPTH = 9; const PRE_RECT = 10; const PRE_COUNT = ${PRE_COUNT};
`;

/**
 * WGSL shared by the preprocess and per-Gaussian backward programs (both bind `means`, `logScales`,
 * `quaternions`, `opacityLogits`, `sh` and the camera uniforms of raster-attrs.ts). Matrices are WGSL
 * column-major: `m[j][i]` is row i, column j, so `m * v` is the usual matrix–vector product.
 */
export const PROJECTION_WGSL = `
  fn viewRotation() -> mat3x3<f32> {
    return mat3x3<f32>(
      vec3<f32>(uniforms.r00, uniforms.r10, uniforms.r20),
      vec3<f32>(uniforms.r01, uniforms.r11, uniforms.r21),
      vec3<f32>(uniforms.r02, uniforms.r12, uniforms.r22));
  }

  fn loadMean(i : i32) -> vec3<f32> {
    return vec3<f32>(means[3 * i], means[3 * i + 1], means[3 * i + 2]);
  }

  fn loadQuat(i : i32) -> vec4<f32> {
    return vec4<f32>(quaternions[4 * i], quaternions[4 * i + 1], quaternions[4 * i + 2], quaternions[4 * i + 3]);
  }

  fn loadScale(i : i32) -> vec3<f32> {
    return exp(vec3<f32>(logScales[3 * i], logScales[3 * i + 1], logScales[3 * i + 2]));
  }

  /** Rotation of the unit quaternion (w, x, y, z) (3DGS / gsplat convention). */
  fn quatRotation(q : vec4<f32>) -> mat3x3<f32> {
    let w = q.x; let x = q.y; let y = q.z; let z = q.w;
    return mat3x3<f32>(
      vec3<f32>(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
      vec3<f32>(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
      vec3<f32>(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)));
  }

  /** Camera-space mean W μ + t. */
  fn toCamera(mean : vec3<f32>) -> vec3<f32> {
    return viewRotation() * mean + vec3<f32>(uniforms.t0, uniforms.t1, uniforms.t2);
  }

  fn inDepthRange(z : f32) -> bool {
    return z > NEAR_PLANE && z < FAR_PLANE;
  }

  /** gsplat persp_proj's Jacobian (2×3 as mat3x2) at camera point p, x/z and y/z clamped to the FOV margin. */
  fn projJacobian(p : vec3<f32>) -> mat3x2<f32> {
    let rz = 1.0 / p.z;
    let rz2 = rz * rz;
    let tx = p.z * min(uniforms.limXPos, max(-uniforms.limXNeg, p.x * rz));
    let ty = p.z * min(uniforms.limYPos, max(-uniforms.limYNeg, p.y * rz));
    return mat3x2<f32>(
      vec2<f32>(uniforms.fx * rz, 0.0),
      vec2<f32>(0.0, uniforms.fy * rz),
      vec2<f32>(-uniforms.fx * tx * rz2, -uniforms.fy * ty * rz2));
  }

  /** Unit view direction from the camera centre to the mean, and the distance. */
  fn viewDirection(mean : vec3<f32>) -> vec4<f32> {
    let v = mean - vec3<f32>(uniforms.camX, uniforms.camY, uniforms.camZ);
    let len = length(v);
    return vec4<f32>(v / len, len);
  }

  fn shCoeff(i : i32, k : i32) -> vec3<f32> {
    let base = (i * uniforms.shK + k) * 3;
    return vec3<f32>(sh[base], sh[base + 1], sh[base + 2]);
  }
`;
