/**
 * `isPositiveInfinity` tests the bits (as tfjs' `isnan` does), since a shader compiler may fold float
 * comparisons with infinities; `limited(z, on)` is a score under the rule for rows holding +∞ (README,
 * "Non-finite logits"): when `on`, 0 for a +∞ token and −∞ for every other.
 */
export const POSITIVE_INFINITY_WGSL = `
  fn isPositiveInfinity(v : f32) -> bool {
    return bitcast<u32>(v) == 0x7f800000u;
  }

  fn limited(z : f32, on : bool) -> f32 {
    if (on) {
      return select(-uniforms.INFINITY, 0.0, isPositiveInfinity(z));
    }
    return z;
  }
`;

/**
 * Row flags reduced over a workgroup: each thread adds whether it saw a NaN and how many +∞ with
 * `addNonFinite`, after `clearNonFinite` and before a workgroup barrier; `nonFinite()` then returns the
 * totals (nan, inf) to every thread. The same protocol as tensor-core's softmax programs.
 */
export const NON_FINITE_FLAGS_WGSL = `
  var<workgroup> nanSeen : atomic<u32>;
  var<workgroup> infCount : atomic<u32>;

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
