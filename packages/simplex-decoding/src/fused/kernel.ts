import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { radixCut } from '../closed-forms/radix-select.js';
import { GroupSumsProgram } from '../sample/group-sums.program.js';
import { InverseCdfProgram } from '../sample/inverse-cdf.program.js';
import { groupsFor } from '../sample/layout.js';
import type { FusedAttrs } from './attrs.js';
import { drawsFromList, radixListDraw, useRadixDraw } from './radix-draw.js';
import { SelectProgram } from './select.program.js';
import { keptLogitWeights } from './weights.js';

/**
 * The WebGPU kernel of `fusedSampleOp`. By shape (`useRadixDraw`, or `attrs.select`):
 * - one workgroup per row: the selection program (row flags, cuts, and the draw of the rows whose kept
 *   set fits in workgroup memory), then `sample`'s blocked inverse CDF over the kept weights for the
 *   other rows;
 * - the radix select (each row spread over many workgroups): for a top-k of at most 512, the count search
 *   that lists the top-k candidates and one workgroup per row that draws from the list
 *   (`radixListDraw`: the one-workgroup path's list draw, the same token); otherwise (no top-k, or a larger
 *   one) the closed forms' radix cut (`radixCut`: top-k, then top-p inside it) and the blocked inverse CDF
 *   over the kept weights, as for the one-workgroup path's rows that do not fit.
 * Each intermediate is freed once read.
 */
export function fusedWebGPU({ inputs: { logits, u }, attrs, run, dispose }: WebGPUKernelContext<'logits' | 'u', FusedAttrs>): TensorInfo {
  const [rows, vocab] = logits.shape as [number, number];
  const { temperature, k, p, pMin, select, splits } = attrs;
  let params: TensorInfo;
  if (useRadixDraw(select, rows, vocab)) {
    if (drawsFromList(k, vocab)) return radixListDraw({ run, dispose }, logits, u, { temperature, k, p, pMin, splits });
    params = radixCut({ run, dispose }, logits, { temperature, k, p, splits });
  } else {
    params = run(new SelectProgram(rows), [logits, u], 'int32', [
      ...scalarUniforms('int32', [vocab, k]),
      ...scalarUniforms('float32', [temperature, p, pMin]),
    ]);
  }
  const groups = groupsFor(vocab);
  const source = keptLogitWeights(temperature, pMin);
  const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...source.uniformData];
  const sums = run(new GroupSumsProgram(rows, groups, source), [logits, params], 'float32', uniforms);
  const out = run(new InverseCdfProgram(rows, source), [logits, params, sums, u], 'float32', uniforms);
  dispose(params);
  dispose(sums);
  return out;
}
