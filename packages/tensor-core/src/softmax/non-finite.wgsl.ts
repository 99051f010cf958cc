/**
 * WGSL shared by the softmax programs for rows with non-finite entries. `isPositiveInfinity` tests the
 * bits (as tfjs' `isnan` does), since a shader compiler may fold float comparisons with infinities.
 * Each thread adds its flags — any NaN, the number of +∞ — with `addNonFinite` after `clearNonFinite`
 * and before a workgroup barrier (`reduceWorkgroup` has them); `nonFinite()` then returns the
 * workgroup's totals (nan, inf) to every thread.
 */
export const NON_FINITE_WGSL = `
  var<workgroup> nanSeen : atomic<u32>;
  var<workgroup> infCount : atomic<u32>;

  fn isPositiveInfinity(v : f32) -> bool {
    return bitcast<u32>(v) == 0x7f800000u;
  }

  fn clearNonFinite() {
    if (localIndex == 0u) {
      atomicStore(&nanSeen, 0u);
      atomicStore(&infCount, 0u);
    }
    workgroupBarrier();
  }

  fn addNonFinite(nan : u32, inf : u32) {
    if (nan != 0u) {
      atomicOr(&nanSeen, 1u);
    }
    if (inf != 0u) {
      atomicAdd(&infCount, inf);
    }
  }

  fn nonFinite() -> vec2<u32> {
    return vec2<u32>(atomicLoad(&nanSeen), atomicLoad(&infCount));
  }
`;
