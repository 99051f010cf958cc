/** Largest r of the fused top-r path: one list entry per thread of a 256-thread workgroup. */
export const MAX_FUSED_R = 256;

/**
 * WGSL for a workgroup radix select (most-significant digit first, four 8-bit digits of an
 * order-preserving key), for 256-thread workgroups: the caller fills `hist` with the (weighted) counts of
 * the current digit among the keys that share the digits chosen so far, then every thread calls
 * `chooseDigit(remaining)`, which finds by a suffix-sum scan the digit where the remaining rank falls and
 * leaves it in `chosenDigit`, the rank within it in `chosenRemaining`, and `selectShort` = 1 when all
 * counts together are below the rank. Also a list in workgroup memory (`append`) of up to 256
 * (value, count) pairs.
 */
export const RADIX_SELECT_WGSL = `
  var<workgroup> hist : array<atomic<u32>, 256>;
  var<workgroup> suffix : array<u32, 256>;
  var<workgroup> chosenDigit : u32;
  var<workgroup> chosenRemaining : u32;
  var<workgroup> selectShort : u32;
  var<workgroup> listValue : array<f32, ${MAX_FUSED_R}>;
  var<workgroup> listCount : array<f32, ${MAX_FUSED_R}>;
  var<workgroup> listSize : atomic<u32>;
  var<workgroup> tieCount : atomic<u32>;

  // float order as unsigned order: set the sign bit of non-negatives, flip every bit of negatives
  fn toKey(v : f32) -> u32 {
    let b = bitcast<u32>(v);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  }

  fn fromKey(k : u32) -> f32 {
    return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
  }

  fn chooseDigit(remaining : u32) {
    let t = localIndex;
    suffix[t] = atomicLoad(&hist[t]);
    if (t == 0u) {
      chosenDigit = 0u;
      chosenRemaining = remaining;
    }
    workgroupBarrier();
    // Hillis–Steele scan: suffix[t] = Σ_{d ≥ t} hist[d]
    for (var offset = 1u; offset < 256u; offset = offset << 1u) {
      var add = 0u;
      if (t + offset < 256u) {
        add = suffix[t + offset];
      }
      workgroupBarrier();
      suffix[t] += add;
      workgroupBarrier();
    }
    var above = 0u;
    if (t < 255u) {
      above = suffix[t + 1u];
    }
    if (suffix[t] >= remaining && above < remaining) {
      chosenDigit = t;
      chosenRemaining = remaining - above;
    }
    if (t == 0u) {
      selectShort = select(0u, 1u, suffix[0] < remaining);
    }
    workgroupBarrier();
  }

  fn append(v : f32, count : f32) {
    let slot = atomicAdd(&listSize, 1u);
    if (slot < ${MAX_FUSED_R}u) {
      listValue[slot] = v;
      listCount[slot] = count;
    }
  }
`;
