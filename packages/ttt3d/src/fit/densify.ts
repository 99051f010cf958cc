import { tf } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { PhiloxStream } from './stream.js';

/** When and how Gaussians are added and removed during a fit (3DGS' adaptive density control). */
export interface DensifySettings {
  /** Densify and prune every this many steps. */
  every: number;
  /** First step that may densify (3DGS `densify_from_iter`); statistics gather from step 1. */
  from: number;
  /** No densification or pruning after this step (3DGS `densify_until_iter`). */
  until: number;
  /** Mean view-space positional gradient norm (NDC units) above which a Gaussian is cloned or split. */
  gradThreshold: number;
  /** Cap on the number of Gaussians: the highest-gradient candidates are densified first. */
  maxGaussians: number;
  /** Gaussians whose opacity σ(logit) is below this are removed. */
  pruneOpacity: number;
  /** Largest scale, as a fraction of the scene extent, of a Gaussian that is cloned rather than split. */
  percentDense: number;
}

/** What one densification step does, row by row of the new field tensors. */
export interface DensifyPlan {
  /** Old row each new row copies its values from. */
  sources: Int32Array;
  /** Old row whose optimizer moments a new row keeps, or −1: clones and split children start from zero. */
  stateRows: Int32Array;
  /** Offset added to each new row's mean `[N' · 3]` (non-zero for split children only). */
  meanOffsets: Float32Array;
  /** Added to each new row's log-scales (−log 1.6 for split children). */
  logScaleShift: Float32Array;
  cloned: number;
  split: number;
  pruned: number;
}

/** The host values a plan is made from: one entry (or row) per Gaussian. */
export interface DensifyInputs {
  /** Mean view-space gradient norm `[N]` (GradientStats.average). */
  avgGrad: Float32Array;
  logScales: Float32Array;
  /** `[N · 4]`, w first, not necessarily normalised. */
  quaternions: Float32Array;
  opacityLogits: Float32Array;
}

// 3DGS densify_and_split: children get the parent's scale / (0.8 · 2)
const SPLIT_SCALE_DIVISOR = 1.6;

/**
 * Plans 3DGS' densify-and-prune (Kerbl et al. 2023, §5): a Gaussian whose mean view-space gradient is at
 * least `gradThreshold` is cloned when its largest scale is at most `percentDense · extent`, and otherwise
 * split into two children sampled from N(μ, Σ) with scales divided by 1.6, replacing it; every Gaussian
 * with opacity below `pruneOpacity` is removed (its clones or children would share its opacity, so they
 * are not made). Rows are ordered [kept, clones, split children]. When the result would exceed
 * `maxGaussians`, candidates are taken in decreasing gradient order while room remains.
 */
export function planDensify(inputs: DensifyInputs, settings: DensifySettings, extent: number, stream: PhiloxStream): DensifyPlan {
  const n = inputs.avgGrad.length;
  const maxScale = new Float32Array(n);
  const pruned = new Uint8Array(n);
  let prunedCount = 0;
  // opacity < p  ⇔  logit < log(p / (1 − p)), exact without evaluating a sigmoid per row
  const logitCut = Math.log(settings.pruneOpacity / (1 - settings.pruneOpacity));
  const candidates: number[] = [];
  for (let i = 0; i < n; i++) {
    maxScale[i] = Math.exp(Math.max(inputs.logScales[3 * i]!, inputs.logScales[3 * i + 1]!, inputs.logScales[3 * i + 2]!));
    if (inputs.opacityLogits[i]! < logitCut) {
      pruned[i] = 1;
      prunedCount++;
    } else if (inputs.avgGrad[i]! >= settings.gradThreshold) {
      candidates.push(i);
    }
  }
  candidates.sort((a, b) => inputs.avgGrad[b]! - inputs.avgGrad[a]! || a - b);
  // each clone or split adds one row net
  const room = Math.max(0, settings.maxGaussians - (n - prunedCount));
  const chosen = candidates.slice(0, room).sort((a, b) => a - b);
  const dense = settings.percentDense * extent;
  const clones = chosen.filter((i) => maxScale[i]! <= dense);
  const splits = chosen.filter((i) => maxScale[i]! > dense);
  const splitSet = new Set(splits);
  const kept: number[] = [];
  for (let i = 0; i < n; i++) if (pruned[i] === 0 && !splitSet.has(i)) kept.push(i);
  const total = kept.length + clones.length + 2 * splits.length;
  const sources = new Int32Array(total);
  const stateRows = new Int32Array(total).fill(-1);
  const meanOffsets = new Float32Array(3 * total);
  const logScaleShift = new Float32Array(total);
  kept.forEach((i, row) => {
    sources[row] = i;
    stateRows[row] = i;
  });
  clones.forEach((i, k) => {
    sources[kept.length + k] = i;
  });
  const z = stream.normal(6 * splits.length);
  const base = kept.length + clones.length;
  splits.forEach((i, k) => {
    const rot = rotationOf(inputs.quaternions, i);
    for (let child = 0; child < 2; child++) {
      const row = base + 2 * k + child;
      sources[row] = i;
      logScaleShift[row] = -Math.log(SPLIT_SCALE_DIVISOR);
      const local = [0, 1, 2].map((a) => Math.exp(inputs.logScales[3 * i + a]!) * z[6 * k + 3 * child + a]!);
      for (let a = 0; a < 3; a++) {
        meanOffsets[3 * row + a] = rot[3 * a]! * local[0]! + rot[3 * a + 1]! * local[1]! + rot[3 * a + 2]! * local[2]!;
      }
    }
  });
  return { sources, stateRows, meanOffsets, logScaleShift, cloned: clones.length, split: splits.length, pruned: prunedCount };
}

/** The rotation matrix (row-major) of row `i`'s quaternion (w, x, y, z), normalised as the rasteriser does. */
function rotationOf(q: Float32Array, i: number): number[] {
  const len = Math.hypot(q[4 * i]!, q[4 * i + 1]!, q[4 * i + 2]!, q[4 * i + 3]!) || 1;
  const [w, x, y, z] = [q[4 * i]! / len, q[4 * i + 1]! / len, q[4 * i + 2]! / len, q[4 * i + 3]! / len];
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - w * z),
    2 * (x * z + w * y),
    2 * (x * y + w * z),
    1 - 2 * (x * x + z * z),
    2 * (y * z - w * x),
    2 * (x * z - w * y),
    2 * (y * z + w * x),
    1 - 2 * (x * x + y * y),
  ];
}

/** The row-gathered copy of a field `[N, …]` → `[N', …]` that a plan asks for. */
export function gatherField(t: Tensor, sources: Int32Array): Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(sources, 'int32')));
}

/** New means `[N', 3]`: gathered rows plus the split children's sampled offsets. */
export function densifiedMeans(means: Tensor, plan: DensifyPlan): Tensor {
  return tf.tidy(() => tf.add(gatherField(means, plan.sources), tf.tensor2d(plan.meanOffsets, [plan.sources.length, 3])));
}

/** New log-scales `[N', 3]`: gathered rows, split children shrunk by 1.6. */
export function densifiedLogScales(logScales: Tensor, plan: DensifyPlan): Tensor {
  return tf.tidy(() => tf.add(gatherField(logScales, plan.sources), tf.tensor2d(plan.logScaleShift, [plan.sources.length, 1])));
}
