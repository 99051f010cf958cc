import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { BLEND_WGSL } from './blend.wgsl.js';
import { TILE_RANGE_WGSL, TILE_UNIFORMS } from './composite.program.js';
import { RASTER_CONSTANTS_WGSL } from './constants.js';
import { ORDER_WGSL } from './intersections.wgsl.js';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';

/** Gradient quantities per (tile, Gaussian): mean2d (2), conic (3), opacity, colour (3), depth. */
export const PARTIAL_WIDTH = 10;
/** Gaussians staged per batch (fewer than the forward's 256: the reduction buffers share workgroup memory). */
const BATCH = 128;
/** Threads of the first reduction step: PARTIAL_WIDTH quantities × 16 segments of 16 pixels. */
const REDUCERS = PARTIAL_WIDTH * 16;
/** Floats of the tree's buffers (red, red2): the workgroup memory the subgroup variant may spend instead. */
const REDUCTION_FLOATS = 2 * PARTIAL_WIDTH * 256 + 2 * REDUCERS;
/** WGSL's smallest subgroup size, assumed where the adapter reports none. */
const MIN_SUBGROUP_SIZE = 4;

/** How the subgroup variant sizes its buffer for subgroups of at least `minSize` invocations. */
export interface SubgroupReduction {
  /** The most subgroups a 256-invocation workgroup can hold: one slot each. */
  maxSubgroups: number;
  /** Gaussians per reduction group (B′): one barrier per group. */
  group: number;
}

/**
 * The largest power-of-two group B′ ≤ BATCH whose double-buffered sums, `[2, B′, 256 / minSize, 10]` floats, fit
 * the memory the tree's buffers take (so the variant runs wherever the portable program does): 32 for subgroups
 * of ≥ 32 (H100), 8 for ≥ 8 (lavapipe), 4 for the WGSL minimum of 4.
 */
export function subgroupReduction(minSize: number): SubgroupReduction {
  const maxSubgroups = Math.ceil(256 / Math.max(MIN_SUBGROUP_SIZE, minSize));
  let group = 1;
  while (group * 2 <= BATCH && 2 * (group * 2) * maxSubgroups * PARTIAL_WIDTH <= REDUCTION_FLOATS) group *= 2;
  return { maxSubgroups, group };
}

/** The skipping variant marks a group's Gaussians by the bits of one u32 per slot: at most 32 Gaussians a group. */
const SKIP_MAX_GROUP = 32;

/**
 * The skipping variant's B′: as subgroupReduction, but at most SKIP_MAX_GROUP, and its marks (`[2, slots]` u32) share
 * the budget, which also has the `taken` flags (BATCH words) the variant does without: 32 for subgroups of ≥ 32
 * (H100), 8 for ≥ 8 (lavapipe), 4 for the WGSL minimum of 4.
 */
export function skipReduction(minSize: number): SubgroupReduction {
  const maxSubgroups = Math.ceil(256 / Math.max(MIN_SUBGROUP_SIZE, minSize));
  const words = (group: number) => 2 * group * maxSubgroups * PARTIAL_WIDTH + 2 * maxSubgroups;
  let group = 1;
  while (group * 2 <= Math.min(BATCH, SKIP_MAX_GROUP) && words(group * 2) <= REDUCTION_FLOATS + BATCH) group *= 2;
  return { maxSubgroups, group };
}

/** The compositing backward's reduction of a tile's 256 pixels per Gaussian (CompositeBackwardProgram). */
export type CompositeReduction = 'tree' | 'subgroups' | 'subgroup-skip';

/** The tree's buffers, and the last step of its reduction. */
const TREE_DECLARATIONS = `
  const REDUCERS = ${REDUCERS};
  var<workgroup> red : array<f32, ${2 * PARTIAL_WIDTH * 256}>;
  var<workgroup> red2 : array<f32, ${2 * REDUCERS}>;

  /** Thread q < NQ sums the 16 segment sums of quantity q for staged Gaussian k and writes its partial. */
  fn finish(k : i32, q : i32) {
    var s = 0.0;
    if (atomicLoad(&taken[k]) != 0u) {
      let base = (k & 1) * REDUCERS + q * 16;
      for (var i = 0; i < 16; i++) { s += red2[base + i]; }
    }
    result[sSlot[k] * NQ + q] = s;
  }
`;

/**
 * The tree, per staged Gaussian k: every pixel stores its values, one barrier, then Gaussian k − 1's partials are
 * written and the first step (16-pixel segment sums) of k runs — into the other half of the double buffers.
 */
const TREE_STEP = `
        let p = k & 1;
        for (var q = 0; q < NQ; q++) { red[(p * NQ + q) * TILE_PIXELS + t] = v[q]; }
        workgroupBarrier();
        if (k > 0 && t < NQ) { finish(k - 1, t); }
        if (t < REDUCERS && atomicLoad(&taken[k]) != 0u) {
          let base = (p * NQ + t / 16) * TILE_PIXELS + t % 16;
          var s = 0.0;
          for (var i = 0; i < 16; i++) { s += red[base + 16 * i]; }
          red2[p * REDUCERS + t] = s;
        }
`;

/** The tree writes the batch's last Gaussian after the loop. */
const TREE_BATCH_END = `
      workgroupBarrier();
      if (count > 0 && t < NQ) { finish(count - 1, t); }
`;

/** The subgroup variant's buffers: the subgroup sums `[2 halves, GROUP Gaussians, MAX_SUBGROUPS slots, NQ]`. */
function subgroupDeclarations(r: SubgroupReduction): string {
  return `
  const GROUP = ${r.group};
  const MAX_SUBGROUPS = ${r.maxSubgroups};
  var<workgroup> sums : array<f32, ${2 * r.group * r.maxSubgroups * PARTIAL_WIDTH}>;
  var<workgroup> slotsClaimed : atomic<u32>;
  /** The smallest local index of the subgroup that claimed each slot. */
  var<workgroup> slotLead : array<u32, MAX_SUBGROUPS>;

  /**
   * Writes the partials of staged Gaussians k0 … k0 + n − 1 (a group, in buffer half h): one (Gaussian, quantity)
   * per invocation, summing its slots in slot order; a Gaussian no pixel took gets a zero without reading them.
   */
  fn finishGroup(k0 : i32, n : i32, h : i32, t : i32, slots : i32) {
    for (var task = t; task < n * NQ; task += TILE_PIXELS) {
      let j = task / NQ;
      let q = task % NQ;
      var s = 0.0;
      if (atomicLoad(&taken[k0 + j]) != 0u) {
        let base = (h * GROUP + j) * MAX_SUBGROUPS * NQ + q;
        for (var i = 0; i < slots; i++) { s += sums[base + i * NQ]; }
      }
      result[sSlot[k0 + j] * NQ + q] = s;
    }
  }
`;
}

/**
 * Each subgroup claims a slot (the counter reset before the first barrier) and records its smallest local index:
 * the order of the claims varies from run to run, that index does not.
 */
const SUBGROUP_CLAIM = `
    let lead = subgroupMin(u32(t));
    if (subgroupElect()) { slotLead[atomicAdd(&slotsClaimed, 1u)] = lead; }
`;

/** After the barrier: the number of slots (uniform), and this subgroup's slot = its rank by smallest local index. */
const SUBGROUP_SLOT = `
    let slots = i32(workgroupUniformLoad(&slotsClaimed));
    var slot = 0;
    for (var i = 0; i < slots; i++) {
      if (slotLead[i] < lead) { slot++; }
    }
`;

/**
 * Per staged Gaussian k, by every invocation in uniform control flow: the subgroup's sums, stored by one of its
 * invocations; at the group's last Gaussian (or the batch's) one barrier, then the group's partials.
 */
const SUBGROUP_STEP = `
        var s = array<f32, NQ>();
        for (var q = 0; q < NQ; q++) { s[q] = subgroupAdd(v[q]); }
        let j = k % GROUP;
        let h = (k / GROUP) & 1;
        if (subgroupElect()) {
          let base = ((h * GROUP + j) * MAX_SUBGROUPS + slot) * NQ;
          for (var q = 0; q < NQ; q++) { sums[base + q] = s[q]; }
        }
        if (j == GROUP - 1 || k == count - 1) {
          workgroupBarrier();
          finishGroup(k - j, j + 1, h, t, slots);
        }
`;

/**
 * The skipping variant's buffers: the sums `[2 halves, MAX_SUBGROUPS slots, GROUP Gaussians, NQ]` (a slot's Gaussians
 * contiguous, so the finishing invocations read consecutive words) and per (half, slot) the bits of the group's
 * Gaussians that slot's subgroup summed; a bit left clear means the slot's sums are stale and are not read.
 */
function skipDeclarations(r: SubgroupReduction): string {
  return `
  const GROUP = ${r.group};
  const MAX_SUBGROUPS = ${r.maxSubgroups};
  var<workgroup> sums : array<f32, ${2 * r.group * r.maxSubgroups * PARTIAL_WIDTH}>;
  var<workgroup> marks : array<u32, ${2 * r.maxSubgroups}>;
  var<workgroup> slotsClaimed : atomic<u32>;
  var<workgroup> slotLead : array<u32, MAX_SUBGROUPS>;

  /**
   * Writes the partials of staged Gaussians k0 … k0 + n − 1 (a group, in buffer half h): one (Gaussian, quantity)
   * per invocation, adding in slot order the sums of the slots whose subgroup marked the Gaussian; zero where none did.
   */
  fn finishGroup(k0 : i32, n : i32, h : i32, t : i32, slots : i32) {
    for (var task = t; task < n * NQ; task += TILE_PIXELS) {
      let bit = 1u << u32(task / NQ);
      var s = 0.0;
      for (var i = 0; i < slots; i++) {
        if ((marks[h * MAX_SUBGROUPS + i] & bit) != 0u) { s += sums[(h * MAX_SUBGROUPS + i) * GROUP * NQ + task]; }
      }
      result[sSlot[k0 + task / NQ] * NQ + (task % NQ)] = s;
    }
  }
`;
}

/** How the transposing reduction runs for subgroups of `size` lanes: the steps that halve the values, then plain ones. */
interface TransposePlan {
  /** Per halving step: the lane bit (xor mask), the values before it, and the values kept (⌈n / 2⌉). */
  halving: { mask: number; n: number; m: number }[];
  /** Lane bits of the butterfly steps once one value is left (subgroups wider than 2^steps). */
  plain: number[];
  /** Values each lane holds at the end. */
  held: number;
}

export function transposePlan(n: number, size: number): TransposePlan {
  const halving: TransposePlan['halving'] = [];
  const plain: number[] = [];
  let cur = n;
  for (let mask = size / 2; mask >= 1; mask /= 2) {
    if (cur > 1) {
      const m = Math.ceil(cur / 2);
      halving.push({ mask, n: cur, m });
      cur = m;
    } else plain.push(mask);
  }
  return { halving, plain, held: cur };
}

/**
 * WGSL of `heldQuantity(lane, i)`: the quantity the lane's i-th value holds at the end of the transposing reduction,
 * or −1 where it holds padding or a copy another lane stores (a set lane bit of a plain step). Followed backwards,
 * value i of a step's result was value i + m (upper half) or i (lower) before it, and is padding past n.
 */
function heldQuantityWgsl(plan: TransposePlan): string {
  const plainMask = plan.plain.reduce((a, b) => a | b, 0);
  const steps = [...plan.halving]
    .reverse()
    .map(({ mask, n, m }) => `q += select(0u, ${m}u, (lane & ${mask}u) != 0u);\n    ok = ok && q < ${n}u;`)
    .join('\n    ');
  return `
  fn heldQuantity(lane : u32, i : u32) -> i32 {
    var q = i;
    var ok = (lane & ${plainMask}u) == 0u;
    ${steps}
    return select(-1, i32(q), ok);
  }
`;
}

/**
 * WGSL that reduces v[0 … NQ − 1] over the subgroup by recursive halving (a transposing butterfly): at the step of
 * lane bit b, a lane keeps one half of its values (the lower where b is clear) and trades the other half with the lane
 * across b, so the values per lane halve while the lanes each value sums double. Stores each lane's values at
 * `sums[base + quantity]`.
 */
function transposeReductionWgsl(plan: TransposePlan): string {
  const lines: string[] = [];
  let names = Array.from({ length: PARTIAL_WIDTH }, (_, q) => `v[${q}]`);
  plan.halving.forEach(({ mask, n, m }, step) => {
    lines.push(`let hi${step} = (lane & ${mask}u) != 0u;`);
    const next: string[] = [];
    for (let i = 0; i < m; i++) {
      const lo = names[i] as string;
      const up = i + m < n ? (names[i + m] as string) : '0.0';
      const name = `r${step}_${i}`;
      lines.push(`let ${name} = select(${lo}, ${up}, hi${step}) + subgroupShuffleXor(select(${up}, ${lo}, hi${step}), ${mask}u);`);
      next.push(name);
    }
    names = next;
  });
  plan.plain.forEach((mask, step) => {
    names = names.map((name, i) => {
      const sum = `p${step}_${i}`;
      lines.push(`let ${sum} = ${name} + subgroupShuffleXor(${name}, ${mask}u);`);
      return sum;
    });
  });
  names.forEach((name, i) => {
    lines.push(`if (held${i} >= 0) { sums[base + held${i}] = ${name}; }`);
  });
  return lines.join('\n            ');
}

/** The skipping variant's subgroupAdd reduction (any subgroup size): one lane stores the sums. */
const SKIP_ADD_REDUCTION = `
            let a = subgroupAdd(vec4<f32>(v[0], v[1], v[2], v[3]));
            let b = subgroupAdd(vec4<f32>(v[4], v[5], v[6], v[7]));
            let c = subgroupAdd(vec2<f32>(v[8], v[9]));
            if (lane == 0u) {
              sums[base] = a.x;
              sums[base + 1] = a.y;
              sums[base + 2] = a.z;
              sums[base + 3] = a.w;
              sums[base + 4] = b.x;
              sums[base + 5] = b.y;
              sums[base + 6] = b.z;
              sums[base + 7] = b.w;
              sums[base + 8] = c.x;
              sums[base + 9] = c.y;
            }
`;

/**
 * Per staged Gaussian k: a subgroup none of whose invocations took it does nothing more (its bit stays clear); one that
 * did sums the 10 values and sets the bit. At the group's last Gaussian (or the batch's) each subgroup stores its bits,
 * one barrier, then the group's partials. `exact` = the subgroup size the transposing reduction was generated for
 * (0: subgroupAdd only); a subgroup of another size (not expected: the adapter reported one size) takes subgroupAdd.
 */
function skipStep(exact: number): string {
  const reduce = exact
    ? `if (lanes == ${exact}u) {
            ${transposeReductionWgsl(transposePlan(PARTIAL_WIDTH, exact))}
          } else {
            ${SKIP_ADD_REDUCTION}
          }`
    : SKIP_ADD_REDUCTION;
  return `
        let j = k % GROUP;
        let h = (k / GROUP) & 1;
        // subgroup-uniform, but WGSL's analysis knows only workgroup uniformity: the subgroup operations in the branch
        // run with every invocation of the subgroup or none
        @diagnostic(off, subgroup_uniformity) if (subgroupAny(took)) {
          bits |= 1u << u32(j);
          let base = ((h * MAX_SUBGROUPS + slot) * GROUP + j) * NQ;
          ${reduce}
        }
        if (j == GROUP - 1 || k == count - 1) {
          if (lane == 0u) { marks[h * MAX_SUBGROUPS + slot] = bits; }
          bits = 0u;
          workgroupBarrier();
          finishGroup(k - j, j + 1, h, t, slots);
        }
`;
}

/** The skipping variant's lane (rank in its subgroup) and subgroup size, taken where every invocation is active. */
function skipLanes(exact: number): string {
  const held = exact
    ? Array.from({ length: transposePlan(PARTIAL_WIDTH, exact).held }, (_, i) => `let held${i} = heldQuantity(lane, ${i}u);`).join('\n    ')
    : '';
  return `
    let lane = subgroupExclusiveAdd(1u);
    let lanes = subgroupAdd(1u);
    ${held}
    var bits = 0u;
`;
}

/**
 * Backward compositing, one 256-thread workgroup per tile. Each pixel replays its list front to back with the
 * forward's arithmetic (blend.wgsl.ts), so it takes the same skip and stop decisions, and needs no stored
 * last-contributor index: the colour, depth and transmittance behind Gaussian k come from the forward's
 * final values minus the running prefix (S_k = C_final − C_≤k), and ∂/∂αₖ of (C, D, T_final) is
 *   Tₖ(cₖ·gC + zₖ gD) − (S_k·gC + SD_k gD + T_final gT)/(1 − αₖ)
 * (papers/ttt3d.md §3 step 10 run forwards). The 256 pixels' contributions to each Gaussian are summed in
 * workgroup memory (a two-step tree, double-buffered so one barrier per Gaussian suffices; skipped for a Gaussian
 * no pixel of the tile took) and written as one
 * partial per intersection, at the intersection's slot in the unsorted list — per-Gaussian contiguous, so the
 * per-Gaussian program sums them without atomics (deterministic). Writes `[capacity, 10]`; slots of entries
 * a tile never reached (every pixel had stopped) get zeros.
 *
 * `subgroups` (the device must have them: `webgpuSubgroups().enabled`; `subgroupMinSize` its smallest size) sums
 * per subgroup instead, as gsplat sums per warp: every invocation passes its 10 values (zeros where it did not
 * take the Gaussian) through subgroupAdd, one per subgroup stores the sums at its slot, and only every B′
 * Gaussians (subgroupReduction) one barrier lets the workgroup add up the slots of those B′ — one barrier per B′
 * Gaussians instead of one per Gaussian. The sums are double-buffered by group, so a group's slots are read
 * before the barrier after which the group two later overwrites them. WGSL promises neither a subgroup size nor
 * which invocations form a subgroup: slots are claimed once with a workgroup atomic and then renumbered by the
 * subgroup's smallest local index, so the slots are added in the same order on every run (deterministic, as the
 * tree is). The variants differ only in the order of the float additions.
 *
 * `subgroup-skip` is gsplat's `if (!warp.any(valid)) continue;`. Why the plain subgroup variant lost to the tree (2.7×
 * on the H100): at 1M Gaussians of a few pixels, most Gaussians of a tile are taken by the pixels of a few of its
 * subgroups, yet every subgroup reduced every Gaussian — 10 subgroupAdds, each a 5-shuffle butterfly on 32 lanes, so
 * 8 × 50 shuffles per Gaussian and tile against the tree's ~20 workgroup-memory loads and stores per subgroup; shuffles
 * and workgroup memory share about the same throughput, so the barriers it saved did not pay for the shuffles. Here a
 * subgroup first asks subgroupAny(took) and, where none of its invocations took the Gaussian, does nothing: no
 * shuffle, no store, and no `taken` flag (its clear bit says it). WGSL's uniformity analysis knows only workgroup
 * uniformity, so the branch is under `@diagnostic(off, subgroup_uniformity)` (an attribute on the statement: tfjs
 * writes its preamble before our code, where a global `diagnostic` directive could not go); its condition is one value
 * for the whole subgroup, and every invocation is active at the subgroupAny (uniform control flow, 256 = whole
 * subgroups), so the operations in it run with the full subgroup, as in gsplat's warp. A subgroup that did take it
 * reduces by recursive halving where the adapter reports one subgroup size (`exact`): at each lane bit a lane keeps half
 * of its values and trades the other half across the bit, so 10 values on 32 lanes take 5 + 3 + 2 + 1 + 1 = 12 shuffles
 * instead of 50, and the 10 sums end in 10 lanes that store them with one instruction (instead of one lane storing 10).
 * The code is generated per size and fully unrolled — named scalars, no loop over an `array<f32, NQ>` with a dynamic
 * index that a driver may put in local memory (the plain variant's `s[q]`, `sums[… + q]` loops). The lane is the rank
 * from subgroupExclusiveAdd(1), equal to subgroup_invocation_id only in a full subgroup, which tfjs' fixed entry point
 * does not let us read; a subgroup of another size than the one generated for takes subgroupAdd instead (so does the
 * variant where the adapter reports a range of sizes). Which subgroups summed which Gaussian is one u32 per slot (one
 * bit per Gaussian of the group: B′ ≤ 32), kept in a register and stored once per group before its barrier, so
 * skipping costs no store at all; the finishing invocation of (Gaussian, quantity) adds, in slot order, only the slots
 * whose bit is set — a slot it skips holds another Gaussian's stale sums — so a Gaussian nobody took gets an exact 0
 * and the result is the same on every run.
 */
export class CompositeBackwardProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames = ['pre', 'keys', 'ranges', 'order', 'rendered', 'dy'];
  workgroupSize: [number, number, number] = [256, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = TILE_UNIFORMS;
  private readonly variant: CompositeReduction;
  private readonly reduction: SubgroupReduction | null;
  /** The skipping variant's transposing reduction is generated for subgroups of this size (0: subgroupAdd). */
  private readonly exact: number;

  /**
   * `variant`: the reduction ('subgroups' and 'subgroup-skip' need the device's subgroups: `webgpuSubgroups().enabled`),
   * sized for subgroups of at least `subgroupMinSize`; 'subgroup-skip' transposes where `subgroupMinSize` and
   * `subgroupMaxSize` are one size (the adapter's report), else uses subgroupAdd.
   */
  constructor(capacity: number, tiles: number, variant: CompositeReduction = 'tree', subgroupMinSize = 0, subgroupMaxSize = 0) {
    this.outputShape = [capacity, PARTIAL_WIDTH];
    this.variant = variant;
    this.reduction =
      variant === 'subgroups' ? subgroupReduction(subgroupMinSize) : variant === 'subgroup-skip' ? skipReduction(subgroupMinSize) : null;
    this.exact =
      variant === 'subgroup-skip' && subgroupMinSize >= MIN_SUBGROUP_SIZE && subgroupMinSize === subgroupMaxSize ? subgroupMinSize : 0;
    const r = this.reduction;
    const key = r ? `${variant === 'subgroups' ? 'subgroups' : `skip${this.exact}`}_${r.group}x${r.maxSubgroups}` : 'tree';
    this.shaderKey = `tessera_gs_composite_backward_${BATCH}_${key}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, tiles));
  }

  getUserCode(): string {
    const r = this.reduction;
    const skip = this.variant === 'subgroup-skip' ? this.reduction : null;
    const sub = this.variant === 'subgroups' ? this.reduction : null;
    const exact = this.exact;
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${RASTER_CONSTANTS_WGSL}
  ${PRE_LAYOUT_WGSL}
  ${ORDER_WGSL}
  ${TILE_RANGE_WGSL}
  ${BLEND_WGSL}
  const BATCH = ${BATCH};
  const NQ = ${PARTIAL_WIDTH};
  var<workgroup> sXY : array<vec2<f32>, BATCH>;
  var<workgroup> sConicO : array<vec4<f32>, BATCH>;
  var<workgroup> sColorZ : array<vec4<f32>, BATCH>;
  var<workgroup> sSlot : array<i32, BATCH>;
  ${
    skip
      ? ''
      : `/** Whether any pixel took staged Gaussian k: lets a tile skip reducing the Gaussians nobody took. */
  var<workgroup> taken : array<atomic<u32>, BATCH>;`
  }
  var<workgroup> doneCount : atomic<u32>;
  var<workgroup> ctlDone : u32;
  var<workgroup> ctlRange : vec2<i32>;

  /** Slot of sorted entry e in the unsorted list: g's first entry + the tile's row-major index in g's rectangle. */
  fn slotOf(e : i32, tileX : i32, tileY : i32) -> i32 {
    let g = keys[KEY_WORDS * e + 1];
    let o = g * PRE_STRIDE;
    let x0 = i32(pre[o + PRE_RECT]);
    let y0 = i32(pre[o + PRE_RECT + 1]);
    let x1 = i32(pre[o + PRE_RECT + 2]);
    return order[depthRank(g)] + (tileY - y0) * (x1 - x0) + (tileX - x0);
  }

  ${skip ? skipDeclarations(skip) + (exact ? heldQuantityWgsl(transposePlan(PARTIAL_WIDTH, exact)) : '') : sub ? subgroupDeclarations(sub) : TREE_DECLARATIONS}

  fn main(index : i32) {
    let tile = i32(linearWorkgroupIndex());
    let t = i32(localIndex);
    let tileX = tile % uniforms.tilesX;
    let tileY = tile / uniforms.tilesX;
    let px = tileX * TILE_SIZE + t % TILE_SIZE;
    let py = tileY * TILE_SIZE + t / TILE_SIZE;
    let inside = px < uniforms.width && py < uniforms.height;
    let pixel = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
    var finalColor = vec3<f32>(0.0);
    var finalDepth = 0.0;
    var finalT = 0.0;
    var gColor = vec3<f32>(0.0);
    var gDepth = 0.0;
    var gT = 0.0;
    if (inside) {
      let i = (py * uniforms.width + px) * 5;
      finalColor = vec3<f32>(rendered[i], rendered[i + 1], rendered[i + 2]);
      finalDepth = rendered[i + 3];
      finalT = rendered[i + 4];
      gColor = vec3<f32>(dy[i], dy[i + 1], dy[i + 2]);
      gDepth = dy[i + 3];
      gT = dy[i + 4];
    }
    if (t == 0) {
      atomicStore(&doneCount, 0u);
      ${r ? 'atomicStore(&slotsClaimed, 0u);' : ''}
      ctlRange = tileRange(tile);
    }
    workgroupBarrier();
    ${r ? SUBGROUP_CLAIM : ''}
    ${skip ? skipLanes(exact) : ''}
    var done = !inside;
    if (done) { atomicAdd(&doneCount, 1u); }
    let range = workgroupUniformLoad(&ctlRange);
    ${r ? SUBGROUP_SLOT : ''}

    var trans = 1.0;
    var color = vec3<f32>(0.0);
    var depth = 0.0;
    var b0 = range.x;
    loop {
      workgroupBarrier();
      if (t == 0) { ctlDone = atomicLoad(&doneCount); }
      let nd = workgroupUniformLoad(&ctlDone);
      if (nd >= u32(TILE_PIXELS) || b0 >= range.y) { break; }
      ${skip ? '' : 'if (t < BATCH) { atomicStore(&taken[t], 0u); }'}
      let e = b0 + t;
      if (t < BATCH && e < range.y) {
        let o = keys[KEY_WORDS * e + 1] * PRE_STRIDE;
        sXY[t] = vec2<f32>(pre[o + PRE_U], pre[o + PRE_V]);
        sConicO[t] = vec4<f32>(pre[o + PRE_CONIC], pre[o + PRE_CONIC + 1], pre[o + PRE_CONIC + 2], pre[o + PRE_OPACITY]);
        sColorZ[t] = vec4<f32>(pre[o + PRE_COLOR], pre[o + PRE_COLOR + 1], pre[o + PRE_COLOR + 2], pre[o + PRE_DEPTH]);
        sSlot[t] = slotOf(e, tileX, tileY);
      }
      workgroupBarrier();
      let count = min(BATCH, range.y - b0);
      for (var k = 0; k < count; k++) {
        var v = array<f32, NQ>();
        var took = false;
        if (!done) {
          let co = sConicO[k];
          let f = splatFalloff(sXY[k], co.xyz, pixel);
          let alpha = splatAlpha(co.w, f.y);
          if (!splatSkipped(f.x, alpha)) {
            let next = trans * (1.0 - alpha);
            if (next <= MIN_TRANSMITTANCE) {
              done = true;
              atomicAdd(&doneCount, 1u);
            } else {
              let cz = sColorZ[k];
              let w = alpha * trans;
              color += cz.xyz * w;
              depth += cz.w * w;
              let behind = dot(finalColor - color, gColor) + (finalDepth - depth) * gDepth + finalT * gT;
              let dAlpha = trans * (dot(cz.xyz, gColor) + cz.w * gDepth) - behind / (1.0 - alpha);
              v[6] = w * gColor.x;
              v[7] = w * gColor.y;
              v[8] = w * gColor.z;
              v[9] = w * gDepth;
              // α = min(0.99, o·e^−σ): no gradient to o or σ where the clamp is active
              if (co.w * f.y <= MAX_ALPHA) {
                let dSigma = -co.w * f.y * dAlpha;
                let dx = f.z;
                let dy = f.w;
                v[0] = dSigma * (co.x * dx + co.y * dy);
                v[1] = dSigma * (co.y * dx + co.z * dy);
                v[2] = 0.5 * dSigma * dx * dx;
                v[3] = dSigma * dx * dy;
                v[4] = 0.5 * dSigma * dy * dy;
                v[5] = f.y * dAlpha;
              }
              trans = next;
              took = true;
            }
          }
        }
        // a store, not atomicOr: every taker writes the same 1, and a relaxed store of it is a plain shared-memory
        // store where an atomicOr from up to 256 pixels to one address would be serialised, for every Gaussian
        ${skip ? skipStep(exact) : `if (took) { atomicStore(&taken[k], 1u); }${sub ? SUBGROUP_STEP : TREE_STEP}`}
      }
      ${r ? '' : TREE_BATCH_END}
      b0 += BATCH;
    }
    for (var e = b0 + t; e < range.y; e += TILE_PIXELS) {
      let slot = slotOf(e, tileX, tileY);
      for (var q = 0; q < NQ; q++) { result[slot * NQ + q] = 0.0; }
    }
  }
`;
  }
}
