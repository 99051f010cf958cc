import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import type { FusedIdsAttrs } from './attrs.js';
import { radixCut } from '../closed-forms/radix-select.js';
import { GroupSumsProgram } from '../sample/group-sums.program.js';
import { drawOutputs, drawUniformData } from '../sample/draw-output.js';
import { InverseCdfProgram } from '../sample/inverse-cdf.program.js';
import { groupsFor } from '../sample/layout.js';
import { rowUniformData } from '../sample/row-uniform.wgsl.js';
import { candidatesDraw, useCandidateDraw } from './candidates-draw.js';
import { drawsFromList, radixListDraw, useRadixDraw } from './radix-draw.js';
import { SelectProgram } from './select.program.js';
import { keptLogitWeights } from './weights.js';

/**
 * The WebGPU kernel of `fusedSampleIdsOp`: `logits: [B, V]` → `[ids int32 [B], logprobs float32 [B]]`, the
 * row uniforms drawn inside the programs that draw (`rowUniform`: Philox at seed, offset + row, the
 * numbers of `philoxUniform`), so a call runs no Philox program, split or cast. By shape (`useRadixDraw`,
 * or `attrs.select`):
 * - one workgroup per row: the selection program (row flags, cuts, and the draw of the rows whose kept
 *   set fits in workgroup memory), then `sample`'s blocked inverse CDF over the kept weights for the
 *   other rows (3 programs);
 * - the split candidates (`useCandidateDraw`: a top-k of at most `CANDIDATES_K_CAP`, on the radix select's shapes or `select: 'candidates'`):
 *   each split's exact top-k from registers, one workgroup per row that merges them and draws as the radix
 *   list draw does (`candidatesDraw`: the logits read once, the same token; 2 programs);
 * - the radix select (each row spread over many workgroups): for a larger top-k of at most 512, the count search
 *   that lists the top-k candidates and one workgroup per row that draws from the list
 *   (`radixListDraw`: the one-workgroup path's list draw, the same token; 6 programs); otherwise (no
 *   top-k, or a larger one) the closed forms' radix cut (`radixCut`: top-k, then top-p inside it) and the
 *   blocked inverse CDF over the kept weights, as for the one-workgroup path's rows that do not fit.
 * The last program writes both outputs, ids and logprobs, in one dispatch (tensor-core's `runOutputs`; it binds
 * at most five storage buffers, so every device runs it). Each intermediate is freed once read.
 */
export function fusedWebGPU({
  inputs: { logits },
  attrs,
  run,
  runOutputs,
  dispose,
}: WebGPUKernelContext<'logits', FusedIdsAttrs>): TensorInfo[] {
  const [rows, vocab] = logits.shape as [number, number];
  const { temperature, k, p, pMin, select, splits, seed, offset } = attrs;
  const stream = rowUniformData(seed, offset);
  let params: TensorInfo;
  const candidates = useCandidateDraw(select, rows, vocab, k, splits);
  if (candidates !== undefined)
    return candidatesDraw({ run, runOutputs, dispose }, logits, candidates, { temperature, k, p, pMin, seed, offset });
  if (useRadixDraw(select, rows, vocab)) {
    if (drawsFromList(k, vocab))
      return radixListDraw({ run, runOutputs, dispose }, logits, { temperature, k, p, pMin, splits, seed, offset });
    params = radixCut({ run, dispose }, logits, { temperature, k, p, splits });
  } else {
    params = run(new SelectProgram(rows), [logits], 'int32', [
      ...scalarUniforms('int32', [vocab, k]),
      ...scalarUniforms('float32', [temperature, p, pMin]),
      ...stream,
    ]);
  }
  const groups = groupsFor(vocab);
  const source = keptLogitWeights(temperature, pMin);
  const uniforms = [...scalarUniforms('int32', [vocab, groups]), ...source.uniformData];
  const sums = run(new GroupSumsProgram(rows, groups, source), [logits, params], 'float32', uniforms);
  const outputs = runOutputs(new InverseCdfProgram(rows, source), [logits, params, sums], drawOutputs(rows), [
    ...drawUniformData(rows),
    ...uniforms,
    ...stream,
  ]);
  dispose(params);
  dispose(sums);
  return outputs;
}
