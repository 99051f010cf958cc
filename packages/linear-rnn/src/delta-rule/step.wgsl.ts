import { RESET_BELOW_WGSL } from './reset.js';

/**
 * WGSL shared by the two step programs: the delta of state column `c` of head `bh`,
 * u = β (v − e^g Sᵀ k) (papers/linear_rnn.md §3.1), into `decay` and `u`; e^g is exactly 0 for a reset
 * (g below RESET_BELOW, −∞ included), without evaluating exp at −∞. Each program recomputes it
 * (Dk multiply-adds): the alternative, a third dispatch writing u, costs more than the arithmetic.
 */
export function stepDelta(gated: boolean): string {
  return `
    let decay = ${gated ? `select(exp(g[bh]), 0.0, g[bh] < ${RESET_BELOW_WGSL})` : '1.0'};
    var pred = 0.0;
    for (var d = 0; d < dk; d++) { pred += k[bh * dk + d] * state[(bh * dk + d) * dv + c]; }
    let u = beta[bh] * (v[bh * dv + c] - decay * pred);`;
}

/**
 * The input names of a step program, in the order the op passes them. The state program takes no q:
 * WebGPU's automatic layout drops a binding the shader never reads, and binding it then fails.
 */
export function stepInputs(gated: boolean, withQuery: boolean): string[] {
  return [...(withQuery ? ['q'] : []), 'k', 'v', 'beta', ...(gated ? ['g'] : []), 'state'];
}
