import { tf } from '@tessera/tensor-core';
import type { Tensor, Variable } from '@tessera/tensor-core';
import { Gaussians } from '../gaussians/index.js';

/**
 * The optimised fields. SH is held as two variables, as 3DGS holds `features_dc` and `features_rest`,
 * because they learn at different rates; `shRest` is absent at SH degree 0.
 */
export const PARAM_FIELDS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'shDC', 'shRest'] as const;
export type ParamField = (typeof PARAM_FIELDS)[number];

/** The trainable variables of a fit, rebuilt whenever densification changes N. */
export class GaussianParams {
  #vars: Map<ParamField, Variable>;

  /** Takes ownership of `g`'s tensors (they back the variables and are disposed with them). */
  constructor(g: Gaussians) {
    this.#vars = GaussianParams.#variables(g);
  }

  static #variables(g: Gaussians): Map<ParamField, Variable> {
    const k = g.sh.shape[1]!;
    const fields = tf.tidy(() => {
      const out: [ParamField, Tensor][] = [
        ['means', g.means],
        ['logScales', g.logScales],
        ['quaternions', g.quaternions],
        ['opacityLogits', g.opacityLogits],
        ['shDC', tf.slice(g.sh, [0, 0, 0], [-1, 1, 3])],
      ];
      if (k > 1) out.push(['shRest', tf.slice(g.sh, [0, 1, 0], [-1, k - 1, 3])]);
      return out.map(([name, t]) => [name, tf.variable(t, true)] as [ParamField, Variable]);
    });
    g.dispose();
    return new Map(fields);
  }

  get count(): number {
    return this.get('means').shape[0]!;
  }

  /** The fields present (shRest only above SH degree 0), in PARAM_FIELDS order. */
  fields(): ParamField[] {
    return PARAM_FIELDS.filter((f) => this.#vars.has(f));
  }

  get(field: ParamField): Variable {
    const v = this.#vars.get(field);
    if (v === undefined) throw new Error(`GaussianParams: no field ${field}`);
    return v;
  }

  /**
   * The Gaussians the variables describe, for rendering inside a gradient tape. The position, scale,
   * rotation and opacity tensors are the variables themselves; sh is a concat made in the caller's
   * scope. Never dispose the result.
   */
  view(): Gaussians {
    const sh = this.#vars.has('shRest') ? tf.concat([this.get('shDC'), this.get('shRest')], 1) : this.get('shDC');
    return new Gaussians({
      means: this.get('means'),
      logScales: this.get('logScales'),
      quaternions: this.get('quaternions'),
      opacityLogits: this.get('opacityLogits'),
      sh,
    });
  }

  /** A copy as plain tensors, owned by the caller. */
  snapshot(): Gaussians {
    return new Gaussians(
      tf.tidy(() => {
        const g = this.view();
        return {
          means: tf.clone(g.means),
          logScales: tf.clone(g.logScales),
          quaternions: tf.clone(g.quaternions),
          opacityLogits: tf.clone(g.opacityLogits),
          sh: tf.clone(g.sh),
        };
      }),
    );
  }

  /** Replaces every variable by one holding `g` (ownership of `g` passes here). */
  replace(g: Gaussians): void {
    this.dispose();
    this.#vars = GaussianParams.#variables(g);
  }

  dispose(): void {
    tf.dispose([...this.#vars.values()]);
  }
}
