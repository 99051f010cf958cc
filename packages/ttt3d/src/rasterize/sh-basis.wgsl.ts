import { SH_BASIS } from './constants.js';

/**
 * WGSL: `shBasis(d)` fills the 16 basis values at the unit direction d (unused entries are never read),
 * `shBasisGrad(d)` their gradients ∂b_k/∂d (for the view-direction chain to the means).
 */
export const SH_BASIS_WGSL = `
  fn shBasis(d : vec3<f32>, degree : i32) -> array<f32, 16> {
    var b = array<f32, 16>();
    b[0] = ${SH_BASIS.c0};
    if (degree < 1) { return b; }
    let x = d.x; let y = d.y; let z = d.z;
    b[1] = -${SH_BASIS.c1} * y;
    b[2] = ${SH_BASIS.c1} * z;
    b[3] = -${SH_BASIS.c1} * x;
    if (degree < 2) { return b; }
    let z2 = z * z;
    let fC1 = x * x - y * y;
    let fS1 = 2.0 * x * y;
    b[4] = ${SH_BASIS.c2a} * fS1;
    b[5] = ${SH_BASIS.c2b} * z * y;
    b[6] = ${SH_BASIS.c2c} * z2 - ${SH_BASIS.c2d};
    b[7] = ${SH_BASIS.c2b} * z * x;
    b[8] = ${SH_BASIS.c2a} * fC1;
    if (degree < 3) { return b; }
    let fC2 = x * fC1 - y * fS1;
    let fS2 = x * fS1 + y * fC1;
    let t3 = ${SH_BASIS.c3c} * z2 + ${SH_BASIS.c3d};
    b[9] = ${SH_BASIS.c3a} * fS2;
    b[10] = ${SH_BASIS.c3b} * z * fS1;
    b[11] = t3 * y;
    b[12] = z * (${SH_BASIS.c3e} * z2 - ${SH_BASIS.c3f});
    b[13] = t3 * x;
    b[14] = ${SH_BASIS.c3b} * z * fC1;
    b[15] = ${SH_BASIS.c3a} * fC2;
    return b;
  }

  fn shBasisGrad(d : vec3<f32>, degree : i32) -> array<vec3<f32>, 16> {
    var g = array<vec3<f32>, 16>();
    if (degree < 1) { return g; }
    let x = d.x; let y = d.y; let z = d.z;
    g[1] = vec3<f32>(0.0, -${SH_BASIS.c1}, 0.0);
    g[2] = vec3<f32>(0.0, 0.0, ${SH_BASIS.c1});
    g[3] = vec3<f32>(-${SH_BASIS.c1}, 0.0, 0.0);
    if (degree < 2) { return g; }
    let z2 = z * z;
    let fC1 = x * x - y * y;
    let fS1 = 2.0 * x * y;
    g[4] = ${SH_BASIS.c2a} * vec3<f32>(2.0 * y, 2.0 * x, 0.0);
    g[5] = ${SH_BASIS.c2b} * vec3<f32>(0.0, z, y);
    g[6] = vec3<f32>(0.0, 0.0, 2.0 * ${SH_BASIS.c2c} * z);
    g[7] = ${SH_BASIS.c2b} * vec3<f32>(z, 0.0, x);
    g[8] = ${SH_BASIS.c2a} * vec3<f32>(2.0 * x, -2.0 * y, 0.0);
    if (degree < 3) { return g; }
    // fC2 = x³ − 3xy², fS2 = 3x²y − y³
    let dC2 = vec3<f32>(3.0 * fC1, -6.0 * x * y, 0.0);
    let dS2 = vec3<f32>(6.0 * x * y, 3.0 * fC1, 0.0);
    let t3 = ${SH_BASIS.c3c} * z2 + ${SH_BASIS.c3d};
    let dt3 = 2.0 * ${SH_BASIS.c3c} * z;
    g[9] = ${SH_BASIS.c3a} * dS2;
    g[10] = ${SH_BASIS.c3b} * vec3<f32>(2.0 * y * z, 2.0 * x * z, fS1);
    g[11] = vec3<f32>(0.0, t3, dt3 * y);
    g[12] = vec3<f32>(0.0, 0.0, 3.0 * ${SH_BASIS.c3e} * z2 - ${SH_BASIS.c3f});
    g[13] = vec3<f32>(t3, 0.0, dt3 * x);
    g[14] = ${SH_BASIS.c3b} * vec3<f32>(2.0 * x * z, -2.0 * y * z, fC1);
    g[15] = ${SH_BASIS.c3a} * dC2;
    return g;
  }
`;
