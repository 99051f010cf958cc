/** Threads per workgroup of the softmax programs. */
export const SOFTMAX_WORKGROUP = 256;

/** WGSL's smallest subgroup size: the most subgroups a softmax workgroup can hold is SOFTMAX_WORKGROUP / 4. */
const MIN_SUBGROUP_SIZE = 4;

const PUSH_AND_COMBINE = `
  const WG = ${SOFTMAX_WORKGROUP};

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
`;

/** The portable workgroup reduction: a shared-memory tree, log2(WG) + 1 barriers. */
const TREE_REDUCTION = `
  var<workgroup> sharedM : array<f32, ${SOFTMAX_WORKGROUP}>;
  var<workgroup> sharedS : array<f32, ${SOFTMAX_WORKGROUP}>;

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

/**
 * The subgroup reduction (needs \`enable subgroups;\`, which tensor-core's WebGPU device prepends): each
 * subgroup merges its states with subgroupMax / subgroupAdd, one invocation per subgroup writes the result to
 * a slot, one barrier, then every subgroup folds the slots the same way (so all invocations get the result
 * without a broadcast). Correct for any subgroup size and any mapping of invocations to subgroups: WGSL
 * promises neither that subgroups hold consecutive local indices nor a size, so lanes and sizes are counted
 * at run time and slots are claimed with a workgroup atomic. The counter is never reset (a reset would need
 * a third barrier): each invocation remembers the count after its previous reduction (\`slotBase\`), and
 * barriers keep the claims of consecutive reductions apart.
 */
const SUBGROUP_REDUCTION = `
  var<workgroup> sharedM : array<f32, ${SOFTMAX_WORKGROUP / MIN_SUBGROUP_SIZE}>;
  var<workgroup> sharedS : array<f32, ${SOFTMAX_WORKGROUP / MIN_SUBGROUP_SIZE}>;
  var<workgroup> slotsClaimed : atomic<u32>;
  var<private> slotBase = 0u;

  // (max, Σ) of the subgroup's states; a state with s = 0 (nothing pushed, m = −∞) adds nothing
  fn reduceSubgroup(st : vec2<f32>) -> vec2<f32> {
    let m = subgroupMax(st.x);
    return vec2<f32>(m, subgroupAdd(select(0.0, st.y * exp(st.x - m), st.y != 0.0)));
  }

  fn reduceWorkgroup(st : vec2<f32>) -> vec2<f32> {
    let part = reduceSubgroup(st);
    if (subgroupElect()) {
      let slot = atomicAdd(&slotsClaimed, 1u) - slotBase;
      sharedM[slot] = part.x;
      sharedS[slot] = part.y;
    }
    // the barrier, and the number of subgroups as a uniform value
    let claimed = workgroupUniformLoad(&slotsClaimed);
    let slots = claimed - slotBase;
    slotBase = claimed;
    let lane = subgroupExclusiveAdd(1u);
    let size = subgroupAdd(1u);
    var acc = vec2<f32>(-uniforms.INFINITY, 0.0);
    for (var k = lane; k < slots; k += size) {
      acc = combine(acc, vec2<f32>(sharedM[k], sharedS[k]));
    }
    let r = reduceSubgroup(acc);
    // the next reduction's slot writes wait until every subgroup has read these
    workgroupBarrier();
    return r;
  }
`;

/**
 * Online softmax statistics (Milakov & Gimelshein 2018): a state (m, s) with s = Σ exp(xᵢ − m), pushed value
 * by value (`pushValue`), merged pairwise (`combine`) and across the workgroup (`reduceWorkgroup`, called by
 * every invocation in uniform control flow; every invocation gets the result). −∞ entries contribute 0
 * without producing exp(−∞ + ∞) = NaN; a NaN input propagates into s. `subgroups` picks the subgroup reduction (the device must have the
 * feature: `webgpuSubgroups().enabled`; put the choice in the program's `shaderKey`); the two differ only in
 * the order of the float additions.
 */
export function onlineSoftmaxWgsl(subgroups: boolean): string {
  return PUSH_AND_COMBINE + (subgroups ? SUBGROUP_REDUCTION : TREE_REDUCTION);
}

/** The portable `onlineSoftmaxWgsl(false)`, for programs that run on any adapter. */
export const ONLINE_SOFTMAX_WGSL = onlineSoftmaxWgsl(false);
