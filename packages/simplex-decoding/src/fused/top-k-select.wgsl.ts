/**
 * `pickDigit(rank)` (whole 256-thread workgroup, after the caller has counted one 8-bit digit of its keys
 * into `hist` and passed a barrier): the digit d whose bin holds the rank-th largest (1-based) counted key
 * — `pick.digit` = d, `pick.rank` = its rank inside the bin, `pick.whole` = 1 when the bin holds no more
 * keys than that rank (every key in it is taken, so the search can stop). Each thread sums the bins at and
 * above its own from 16 group totals and its group's bins: 3 barriers, where a Hillis–Steele scan over the
 * 256 bins takes 16, and a select runs up to 8 of these a workgroup. Leaves `hist` zeroed for the next
 * digit. Expects the rank to be at most the number of keys counted.
 */
export const PICK_DIGIT_WGSL = `
  var<workgroup> hist : array<atomic<u32>, 256>;
  var<workgroup> counts : array<u32, 256>;
  var<workgroup> groupCount : array<u32, 16>;
  struct Pick {
    digit : u32,
    rank : u32,
    whole : u32,
  }
  var<workgroup> pick : Pick;

  fn pickDigit(rank : u32) {
    let t = localIndex;
    let n = atomicLoad(&hist[t]);
    atomicStore(&hist[t], 0u);
    counts[t] = n;
    workgroupBarrier();
    if (t < 16u) {
      var g = 0u;
      for (var b = t * 16u; b < t * 16u + 16u; b++) {
        g += counts[b];
      }
      groupCount[t] = g;
    }
    workgroupBarrier();
    // the keys in bins t … 255: the groups above t's, then t's group from bin t up
    let group = t >> 4u;
    var atOrAbove = 0u;
    for (var g = group + 1u; g < 16u; g++) {
      atOrAbove += groupCount[g];
    }
    for (var b = t; b < group * 16u + 16u; b++) {
      atOrAbove += counts[b];
    }
    let above = atOrAbove - n;
    if (atOrAbove >= rank && above < rank) {
      pick = Pick(t, rank - above, select(0u, 1u, n == rank - above));
    }
    workgroupBarrier();
  }
`;

/**
 * `selectTop(rank)` (whole workgroup): the exact top-`rank` of the entries every thread holds in a private
 * array (`keys`, order-preserving u32 keys of fused/keys.wgsl.ts; bit e of `live` marks entry e as taking
 * part; the program's `idOf(e)` gives its token id, computed where the ids follow from the layout), ranked as the fused sampler ranks — key descending, then id ascending —
 * by a radix select: 8-bit digits of the key from the top, then, among the entries tied at the k-th key,
 * 8-bit digits of ~id (so the lower ids rank first), stopping as soon as a digit's bin is taken whole.
 * Returns (x, q): an entry is among the top `rank` iff `key > x || (key == x && ~id >= q)` (`isTop`).
 * Every call histograms only the entries that share the digits fixed so far, in workgroup memory: no
 * global reads. Expects `PICK_DIGIT_WGSL`, `const PER` (entries a thread), `fn idOf(e : u32) -> u32`, and rank ≤ the live entries.
 */
export const SELECT_TOP_WGSL = `
  var<private> keys : array<u32, PER>;
  var<private> live : u32;

  fn isLive(e : u32) -> bool {
    return (live & (1u << e)) != 0u;
  }

  fn isTop(e : u32, cut : vec2<u32>) -> bool {
    return isLive(e) && (keys[e] > cut.x || (keys[e] == cut.x && ~idOf(e) >= cut.y));
  }

  fn selectTop(rank0 : u32) -> vec2<u32> {
    var rank = rank0;
    var x = 0u;
    for (var d = 0u; d < 4u; d++) {
      let shift = 24u - 8u * d;
      let mask = ~(0xffffffffu >> (8u * d));
      for (var e = 0u; e < PER; e++) {
        if (isLive(e) && (keys[e] & mask) == x) {
          atomicAdd(&hist[(keys[e] >> shift) & 0xffu], 1u);
        }
      }
      workgroupBarrier();
      pickDigit(rank);
      x = x | (pick.digit << shift);
      rank = pick.rank;
      if (workgroupUniformLoad(&pick.whole) != 0u) {
        return vec2<u32>(x, 0u);
      }
    }
    // more entries tied at the exact key x than the rank takes: the lowest ids among them
    var q = 0u;
    for (var d = 0u; d < 4u; d++) {
      let shift = 24u - 8u * d;
      let mask = ~(0xffffffffu >> (8u * d));
      for (var e = 0u; e < PER; e++) {
        let r = ~idOf(e);
        if (isLive(e) && keys[e] == x && (r & mask) == q) {
          atomicAdd(&hist[(r >> shift) & 0xffu], 1u);
        }
      }
      workgroupBarrier();
      pickDigit(rank);
      q = q | (pick.digit << shift);
      rank = pick.rank;
      if (workgroupUniformLoad(&pick.whole) != 0u) {
        break;
      }
    }
    return vec2<u32>(x, q);
  }
`;
