import { scalarUniforms, type TensorInfo, type WebGPUKernelContext } from '@tessera/tensor-core';
import { DeltaRuleFinalStateProgram } from './final-state.program.js';
import { DeltaRuleOutputProgram } from './output.program.js';
import { DeltaRulePrepareProgram } from './prepare.program.js';
import { DeltaRuleStateProgram, statePassLayout } from './state.program.js';
import { DeltaRuleStepOutputProgram } from './step-output.program.js';
import { DeltaRuleStepStateProgram } from './step-state.program.js';
import { chunkTile } from './tile.js';

/** The inputs of the plain ops, in call order. */
export const PLAIN_INPUTS = ['q', 'k', 'v', 'beta', 'state'] as const;
/** The inputs of the gated ops, in call order. */
export const GATED_INPUTS = ['q', 'k', 'v', 'beta', 'g', 'state'] as const;

export type PlainInput = (typeof PLAIN_INPUTS)[number];
export type GatedInput = (typeof GATED_INPUTS)[number];
export type KernelInput = PlainInput | GatedInput;

/** Attributes of the chunk ops; the step ops ignore `chunkSize`. */
export interface DeltaKernelAttrs {
  chunkSize: number;
  scale: number;
}

/**
 * The chunked forward on WebGPU in three passes (fla's `chunk_delta_rule_fwd`): prepare (parallel over
 * (b, h, chunk): W, U), state (sequential over chunks, parallel over (b, h, Dv slice): S_n, V'),
 * output (parallel over (b, h, chunk)); then the final state is copied out. `pickTile` replaces `chunkTile`
 * where a test or bench runs one of the state pass's variants (`ChunkTile.split`) through `runKernel`.
 */
export function chunkWebGPU<I extends KernelInput>(gated: boolean, pickTile: typeof chunkTile = chunkTile) {
  return ({ inputs, attrs, run, dispose }: WebGPUKernelContext<I, DeltaKernelAttrs>): TensorInfo[] => {
    const named = inputs as unknown as Record<KernelInput, TensorInfo>;
    const [batch, heads, length, dk] = named.q.shape as [number, number, number, number];
    const dv = named.v.shape[3] as number;
    const bh = batch * heads;
    const tile = pickTile(bh, dk, dv, attrs.chunkSize, length);
    const chunks = Math.ceil(length / tile.chunk);
    const gate = gated ? [named.g] : [];
    const wu = run(
      new DeltaRulePrepareProgram(bh, length, dk, dv, tile, gated),
      [named.k, named.v, named.beta, ...gate],
      'float32',
      scalarUniforms('int32', DeltaRulePrepareProgram.uniformValues(length, dk, dv, tile)),
    );
    const sv = run(
      new DeltaRuleStateProgram(bh, length, dk, dv, tile, gated),
      [wu, named.k, named.state],
      'float32',
      scalarUniforms('int32', DeltaRuleStateProgram.uniformValues(length, dv, tile)),
    );
    dispose(wu);
    const output = run(new DeltaRuleOutputProgram(batch, heads, length, dv, tile, gated), [named.q, named.k, ...gate, sv], 'float32', [
      ...scalarUniforms('int32', DeltaRuleOutputProgram.uniformValues(length, dk, dv, tile)),
      ...scalarUniforms('float32', [attrs.scale]),
    ]);
    const { perHead } = statePassLayout(chunks, tile.chunk, dk, dv);
    const state = run(
      new DeltaRuleFinalStateProgram(batch, heads, dk, dv),
      [sv],
      'float32',
      scalarUniforms('int32', [dk * dv, perHead, chunks * dk * dv, bh * dk * dv]),
    );
    dispose(sv);
    return [output, state];
  };
}

/** One decode token on WebGPU in two independent dispatches, one per output. */
export function stepWebGPU<I extends KernelInput>(gated: boolean) {
  return ({ inputs, attrs, run }: WebGPUKernelContext<I, DeltaKernelAttrs>): TensorInfo[] => {
    const named = inputs as unknown as Record<KernelInput, TensorInfo>;
    const [batch, heads, dk] = named.q.shape as [number, number, number];
    const dv = named.v.shape[2] as number;
    const rest = (gated ? GATED_INPUTS : PLAIN_INPUTS).filter((n) => n !== 'q').map((n) => named[n]);
    const sizes = scalarUniforms('int32', [dk, dv, batch * heads * dv]);
    const output = run(new DeltaRuleStepOutputProgram(batch, heads, dv, gated), [named.q, ...rest], 'float32', [
      ...sizes,
      ...scalarUniforms('float32', [attrs.scale]),
    ]);
    const state = run(new DeltaRuleStepStateProgram(batch, heads, dk, dv, gated), rest, 'float32', sizes);
    return [output, state];
  };
}
