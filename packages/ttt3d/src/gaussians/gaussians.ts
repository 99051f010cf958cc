import { checkDtype, checkOptions, checkRange, checkShape, describeValue, ShapeError, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import { MAX_SH_DEGREE, SH_C0, shCoefficients, shDegreeOf } from './sh.js';

/** The tensors of a set of N Gaussians, all float32 (`tf.Variable`s are accepted: they are tensors). */
export interface GaussianFields {
  /** Centres `[N, 3]`, world space. */
  means: Tensor;
  /** Natural logs of the per-axis standard deviations `[N, 3]` (scale = exp). */
  logScales: Tensor;
  /** Rotations as quaternions `[N, 4]`, (w, x, y, z) order, normalised wherever they are used. */
  quaternions: Tensor;
  /** Opacity logits `[N]` (opacity = sigmoid). */
  opacityLogits: Tensor;
  /** Colour as real SH coefficients `[N, (degree + 1)², 3]`, coefficient-major (3DGS' `features`); DC first. */
  sh: Tensor;
}

/** The field names, in the order `toTensors` lists them. */
export const GAUSSIAN_FIELDS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const;

/** The fields keyed by name, as a type alias so that tf.tidy accepts it as a tensor container. */
export type FieldRecord = Record<(typeof GAUSSIAN_FIELDS)[number], Tensor>;

/** Options of `Gaussians.fromPoints`. */
export interface FromPointsOptions {
  /** RGB in [0, 1] per point `[N, 3]`; default mid-grey 0.5 (a DC coefficient of 0). */
  colors?: Tensor | readonly (readonly number[])[];
  /** Isotropic standard deviation (world units), > 0; default 0.01. */
  scale?: number;
  /** Opacity in (0, 1); default 0.1 (3DGS' initial opacity). */
  opacity?: number;
  /** SH degree 0–3; coefficients above the DC start at 0. Default 0. */
  shDegree?: number;
}

function checkField(t: unknown, name: string): Tensor {
  if (t === null || typeof t !== 'object' || !Array.isArray((t as Tensor).shape)) {
    throw new ShapeError(`${name}: expected a float32 tensor, received ${describeValue(t)}`);
  }
  const tensor = t as Tensor;
  if (tensor.isDisposed) throw new ValueError(`${name}: expected a live tensor, received a disposed one`);
  checkDtype(tensor, 'float32', name);
  return tensor;
}

/** Checks an `[N, 3]` array of finite numbers and flattens it. */
function flattenRows(rows: readonly (readonly number[])[], name: string): Float32Array {
  if (!Array.isArray(rows))
    throw new ShapeError(`${name}: expected an [N, 3] tensor or array of [x, y, z], received ${describeValue(rows)}`);
  const out = new Float32Array(rows.length * 3);
  rows.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== 3) {
      throw new ShapeError(`${name}[${i}]: expected 3 numbers, received ${describeValue(row)}`);
    }
    for (let k = 0; k < 3; k++) {
      const v = row[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ValueError(`${name}[${i}][${k}]: expected a finite number, received ${describeValue(v)}`);
      }
      out[3 * i + k] = v;
    }
  });
  return out;
}

function rowsTensor(x: Tensor | readonly (readonly number[])[], name: string): Tensor {
  if (Array.isArray(x)) return tf.tensor2d(flattenRows(x, name), [x.length, 3], 'float32');
  const t = checkField(x, name);
  checkShape(t, [null, 3], name);
  return tf.clone(t);
}

/**
 * N 3D Gaussians (Kerbl et al. 2023, 3DGS §4): mean μ, covariance Σ = R S Sᵀ Rᵀ with S = diag(exp(logScales))
 * and R from the normalised quaternion, opacity sigmoid(opacityLogit), view-dependent colour from SH.
 *
 * Ownership: a `Gaussians` owns the tensors it is built from (no copy is made) and `dispose()` frees
 * them; every method that returns a new `Gaussians` gives it fresh tensors and leaves this one intact.
 * N = 0 is valid (it renders as the background).
 */
export class Gaussians {
  readonly means: Tensor;
  readonly logScales: Tensor;
  readonly quaternions: Tensor;
  readonly opacityLogits: Tensor;
  readonly sh: Tensor;
  /** N. */
  readonly count: number;
  /** 0–3, from `sh`'s second dimension (1, 4, 9 or 16 coefficients). */
  readonly shDegree: number;

  /**
   * Validates that the fields are float32 with agreeing shapes (errors name the field) and takes ownership.
   * Values are not read (they may live on the GPU): a zero quaternion is accepted, and such a Gaussian is
   * not drawn by `rasterize` (zero gradients), so one bad row never spoils the others.
   */
  constructor(fields: GaussianFields) {
    if (fields === undefined) throw new ValueError(`fields: expected { ${GAUSSIAN_FIELDS.join(', ')} }, received undefined`);
    // an unknown key is a misspelt field (or a tensor that would silently not be owned): an error
    checkOptions(fields, GAUSSIAN_FIELDS, 'fields');
    const dims = {};
    this.means = checkField(fields.means, 'means');
    checkShape(this.means, ['N', 3], 'means', dims);
    this.logScales = checkField(fields.logScales, 'logScales');
    checkShape(this.logScales, ['N', 3], 'logScales', dims);
    this.quaternions = checkField(fields.quaternions, 'quaternions');
    checkShape(this.quaternions, ['N', 4], 'quaternions', dims);
    this.opacityLogits = checkField(fields.opacityLogits, 'opacityLogits');
    checkShape(this.opacityLogits, ['N'], 'opacityLogits', dims);
    this.sh = checkField(fields.sh, 'sh');
    checkShape(this.sh, ['N', 'K', 3], 'sh', dims);
    const k = this.sh.shape[1]!;
    const degree = shDegreeOf(k);
    if (degree < 0) {
      throw new ShapeError(
        `sh: expected dimension 1 to be (degree + 1)² for an SH degree 0–${MAX_SH_DEGREE} (1, 4, 9 or 16), received shape [${this.sh.shape.join(', ')}]`,
      );
    }
    this.count = this.means.shape[0]!;
    this.shDegree = degree;
  }

  /**
   * Isotropic Gaussians at `points` `[N, 3]` with identity rotations, one scale and opacity for all, and
   * colour `colors` `[N, 3]` as the DC coefficient (c − 0.5) / SH_C0 (3DGS' `RGB2SH`, see `rgbToDc`). The inputs are copied.
   */
  static fromPoints(points: Tensor | readonly (readonly number[])[], options?: FromPointsOptions): Gaussians {
    const opts = checkOptions(options, ['colors', 'scale', 'opacity', 'shDegree']);
    const scale = checkRange(opts.scale ?? 0.01, { min: 0, minExclusive: true }, 'scale');
    const opacity = checkRange(opts.opacity ?? 0.1, { min: 0, max: 1, minExclusive: true, maxExclusive: true }, 'opacity');
    const degree = checkRange(opts.shDegree ?? 0, { min: 0, max: MAX_SH_DEGREE, integer: true }, 'shDegree');
    const fields = tf.tidy(() => {
      const means = rowsTensor(points, 'points');
      const n = means.shape[0]!;
      let dc: Tensor;
      if (opts.colors === undefined) {
        dc = tf.zeros([n, 3]);
      } else {
        const colors = rowsTensor(opts.colors, 'colors');
        if (colors.shape[0] !== n) {
          throw new ShapeError(`colors: expected ${n} rows to match points, received shape [${colors.shape.join(', ')}]`);
        }
        dc = tf.div(tf.sub(colors, 0.5), SH_C0);
      }
      const rest = tf.zeros([n, shCoefficients(degree) - 1, 3]);
      return {
        means,
        logScales: tf.fill([n, 3], Math.log(scale)),
        quaternions: tf.tile(tf.tensor2d([[1, 0, 0, 0]]), [n, 1]),
        opacityLogits: tf.fill([n], Math.log(opacity / (1 - opacity))),
        sh: tf.concat([tf.expandDims(dc, 1), rest], 1),
      };
    });
    return new Gaussians(fields);
  }

  /** No Gaussians, with SH degree `shDegree`. */
  static empty(shDegree = 0): Gaussians {
    return Gaussians.fromPoints([], { shDegree });
  }

  /**
   * Rebuilds Gaussians from `toTensors()`'s record (e.g. read from safetensors): exactly the keys
   * means, logScales, quaternions, opacityLogits, sh. Takes ownership of the tensors.
   */
  static fromTensors(record: Record<string, Tensor>): Gaussians {
    if (record === null || typeof record !== 'object') {
      throw new ValueError(`record: expected { ${GAUSSIAN_FIELDS.join(', ')} }, received ${describeValue(record)}`);
    }
    for (const key of GAUSSIAN_FIELDS) {
      if (!(key in record))
        throw new ValueError(`record: expected a tensor named "${key}", received keys [${Object.keys(record).join(', ')}]`);
    }
    const extra = Object.keys(record).filter((k) => !(GAUSSIAN_FIELDS as readonly string[]).includes(k));
    if (extra.length > 0)
      throw new ValueError(`record: expected only [${GAUSSIAN_FIELDS.join(', ')}], received extra keys [${extra.join(', ')}]`);
    return new Gaussians(record as unknown as GaussianFields);
  }

  /** The field tensors themselves (not copies; still owned by this object), keyed by field name. */
  toTensors(): FieldRecord {
    return { means: this.means, logScales: this.logScales, quaternions: this.quaternions, opacityLogits: this.opacityLogits, sh: this.sh };
  }

  /** A deep copy with plain (non-variable) tensors. */
  clone(): Gaussians {
    return new Gaussians(tf.tidy(() => this.mapFields((t) => tf.clone(t))));
  }

  /**
   * This set followed by `others`, in order. SH degrees may differ: lower-degree sets are padded with zero
   * coefficients (which contribute nothing) up to the highest degree.
   */
  concat(others: Gaussians | readonly Gaussians[]): Gaussians {
    const list = Array.isArray(others) ? others : [others];
    list.forEach((g, i) => {
      if (!(g instanceof Gaussians)) throw new ValueError(`others[${i}]: expected Gaussians, received ${describeValue(g)}`);
    });
    const all = [this, ...(list as Gaussians[])];
    const k = shCoefficients(Math.max(...all.map((g) => g.shDegree)));
    return new Gaussians(
      tf.tidy(() => ({
        means: tf.concat(all.map((g) => g.means)),
        logScales: tf.concat(all.map((g) => g.logScales)),
        quaternions: tf.concat(all.map((g) => g.quaternions)),
        opacityLogits: tf.concat(all.map((g) => g.opacityLogits)),
        sh: tf.concat(
          all.map((g) =>
            g.sh.shape[1] === k
              ? g.sh
              : tf.pad(g.sh, [
                  [0, 0],
                  [0, k - g.sh.shape[1]!],
                  [0, 0],
                ]),
          ),
        ),
      })),
    );
  }

  /**
   * Gaussians `indices` (each in [0, N), repeats allowed) in that order, as a new set: the gather that
   * pruning, cloning and splitting are built from.
   */
  select(indices: ArrayLike<number>): Gaussians {
    if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
      throw new ValueError(`indices: expected an array of integers, received ${describeValue(indices)}`);
    }
    const idx = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      idx[i] = checkRange(indices[i] as number, { min: 0, max: this.count - 1, integer: true }, `indices[${i}]`);
    }
    return new Gaussians(
      tf.tidy(() => {
        const at = tf.tensor1d(idx, 'int32');
        return this.mapFields((t) => tf.gather(t, at));
      }),
    );
  }

  /**
   * Removes the Gaussians whose `mask` entry is true (bool or 0/1 tensor `[N]`, or an array), as 3DGS'
   * `prune_points(mask)` does, and returns the rest in order. Asynchronous because a mask computed on
   * the GPU must be read back to know the new N.
   */
  async prune(mask: Tensor | ArrayLike<boolean | number>): Promise<Gaussians> {
    let flags: ArrayLike<boolean | number>;
    if (mask !== null && typeof mask === 'object' && Array.isArray((mask as Tensor).shape)) {
      const t = mask as Tensor;
      checkDtype(t, ['bool', 'int32', 'float32'], 'mask');
      checkShape(t, [this.count], 'mask');
      flags = await t.data();
    } else if (mask !== null && typeof mask === 'object' && typeof (mask as ArrayLike<boolean>).length === 'number') {
      flags = mask as ArrayLike<boolean | number>;
      if (flags.length !== this.count) throw new ShapeError(`mask: expected ${this.count} entries, received ${flags.length}`);
    } else {
      throw new ValueError(`mask: expected a bool tensor or array of ${this.count} entries, received ${describeValue(mask)}`);
    }
    const keep: number[] = [];
    for (let i = 0; i < this.count; i++) if (!flags[i]) keep.push(i);
    return this.select(keep);
  }

  /** exp(logScales) `[N, 3]`; the caller owns the result. */
  scales(): Tensor {
    return tf.exp(this.logScales);
  }

  /** sigmoid(opacityLogits) `[N]`; the caller owns the result. */
  opacities(): Tensor {
    return tf.sigmoid(this.opacityLogits);
  }

  /** Unit quaternions (w, x, y, z) `[N, 4]`; the caller owns the result. */
  rotations(): Tensor {
    return tf.tidy(() => tf.div(this.quaternions, tf.norm(this.quaternions, 'euclidean', 1, true)));
  }

  /** Frees every field tensor (variables included). */
  dispose(): void {
    tf.dispose([this.means, this.logScales, this.quaternions, this.opacityLogits, this.sh]);
  }

  private mapFields(fn: (t: Tensor) => Tensor): FieldRecord {
    return {
      means: fn(this.means),
      logScales: fn(this.logScales),
      quaternions: fn(this.quaternions),
      opacityLogits: fn(this.opacityLogits),
      sh: fn(this.sh),
    };
  }
}
