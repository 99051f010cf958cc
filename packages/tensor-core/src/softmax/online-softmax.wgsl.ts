/** Threads per workgroup of the softmax programs. */
export const SOFTMAX_WORKGROUP = 256;

/**
 * Online softmax statistics (Milakov & Gimelshein 2018): a state (m, s) with s = Σ exp(xᵢ − m).
 * −∞ entries contribute 0 without producing exp(−∞ + ∞) = NaN; a NaN input propagates.
 */
export const ONLINE_SOFTMAX_WGSL = `
  const WG = ${SOFTMAX_WORKGROUP};
  var<workgroup> sharedM : array<f32, ${SOFTMAX_WORKGROUP}>;
  var<workgroup> sharedS : array<f32, ${SOFTMAX_WORKGROUP}>;

  fn pushValue(st : vec2<f32>, v : f32) -> vec2<f32> {
    if (v > st.x) {
      return vec2<f32>(v, st.y * exp(st.x - v) + 1.0);
    }
    if (v == -uniforms.INFINITY) {
      return st;
    }
    return vec2<f32>(st.x, st.y + exp(v - st.x));
  }

  fn combine(a : vec2<f32>, b : vec2<f32>) -> vec2<f32> {
    let m = max(a.x, b.x);
    var s = 0.0;
    if (a.y != 0.0) { s += a.y * exp(a.x - m); }
    if (b.y != 0.0) { s += b.y * exp(b.x - m); }
    return vec2<f32>(m, s);
  }

  fn reduceWorkgroup(st : vec2<f32>) -> vec2<f32> {
    let t = localIndex;
    sharedM[t] = st.x;
    sharedS[t] = st.y;
    workgroupBarrier();
    for (var stride = ${SOFTMAX_WORKGROUP / 2}u; stride > 0u; stride = stride >> 1u) {
      if (t < stride) {
        let c = combine(vec2<f32>(sharedM[t], sharedS[t]), vec2<f32>(sharedM[t + stride], sharedS[t + stride]));
        sharedM[t] = c.x;
        sharedS[t] = c.y;
      }
      workgroupBarrier();
    }
    let r = vec2<f32>(sharedM[0], sharedS[0]);
    workgroupBarrier();
    return r;
  }
`;
