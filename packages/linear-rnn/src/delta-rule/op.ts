import {
  defineOp,
  type GradientSpec,
  type Op,
  scalarUniforms,
  type Tensor,
  type TensorInfo,
  tf,
  type WebGPUKernelContext,
  vjp,
} from '@tessera/tensor-core';
import { deltaRuleChunked } from './chunk.js';
import { DeltaRuleFinalStateProgram } from './final-state.program.js';
import { DeltaRuleOutputProgram } from './output.program.js';
import { DeltaRulePrepareProgram } from './prepare.program.js';
import { DeltaRuleStateProgram, statePassLayout } from './state.program.js';
import { deltaStepReference } from './reference.js';
import { DeltaRuleStepOutputProgram } from './step-output.program.js';
import { DeltaRuleStepStateProgram } from './step-state.program.js';
import { chunkTile } from './tile.js';
import type { DeltaInputs } from './types.js';

type PlainInput = 'q' | 'k' | 'v' | 'beta' | 'state';
type GatedInput = PlainInput | 'g';
type KernelInput = PlainInput | GatedInput;

/** Attributes of the chunk ops; the step ops ignore `chunkSize`. */
export interface DeltaKernelAttrs {
  chunkSize: number;
  scale: number;
}

const PLAIN_INPUTS = ['q', 'k', 'v', 'beta', 'state'] as const;
const GATED_INPUTS = ['q', 'k', 'v', 'beta', 'g', 'state'] as const;

function asDeltaInputs(t: Partial<Record<KernelInput, Tensor>>): DeltaInputs {
  return { q: t.q as Tensor, k: t.k as Tensor, v: t.v as Tensor, beta: t.beta as Tensor, g: t.g, state: t.state as Tensor };
}

/** `[output, finalState]` of the tfjs chunked form. */
function chunkReference(t: Partial<Record<KernelInput, Tensor>>, attrs: DeltaKernelAttrs): Tensor[] {
  const r = deltaRuleChunked(asDeltaInputs(t), attrs.chunkSize, attrs.scale);
  return [r.output, r.finalState];
}

/** `[output, state]` of the tfjs step. */
function stepReference(t: Partial<Record<KernelInput, Tensor>>, attrs: DeltaKernelAttrs): Tensor[] {
  const r = deltaStepReference(asDeltaInputs(t), attrs.scale);
  return [r.output, r.state];
}

/**
 * The WGSL forward trains too: its gradient is the VJP of the tfjs form it is tested against, taken
 * through the scalar Σ output ⊙ dy₀ + Σ state ⊙ dy₁ (tfjs passes zeros for an output that does not
 * reach the loss).
 */
function gradientThrough<I extends KernelInput>(
  names: readonly I[],
  reference: (t: Partial<Record<KernelInput, Tensor>>, attrs: DeltaKernelAttrs) => Tensor[],
): GradientSpec<I, DeltaKernelAttrs, Tensor[]> {
  return {
    inputsToSave: names,
    grad: (dy, saved, attrs) => {
      const named = (xs: Tensor[]) => Object.fromEntries(names.map((n, i) => [n, xs[i] as Tensor]));
      const weighted = (...xs: Tensor[]): Tensor => {
        const [output, state] = reference(named(xs), attrs) as [Tensor, Tensor];
        return tf.add(tf.sum(tf.mul(output, dy[0] as Tensor)), tf.sum(tf.mul(state, dy[1] as Tensor)));
      };
      const grads = tf.tidy(() => vjp(weighted, saved, tf.scalar(1)));
      return Object.fromEntries(names.map((n, i) => [n, () => grads[i] as Tensor])) as Partial<Record<I, () => Tensor>>;
    },
  };
}

/**
 * The chunked forward in three passes (fla's `chunk_delta_rule_fwd`): prepare (parallel over
 * (b, h, chunk): W, U), state (sequential over chunks, parallel over (b, h, Dv slice): S_n, V'),
 * output (parallel over (b, h, chunk)); then the final state is copied out.
 */
function chunkWebGPU<I extends KernelInput>(gated: boolean) {
  return ({ inputs, attrs, run, dispose }: WebGPUKernelContext<I, DeltaKernelAttrs>): TensorInfo[] => {
    const named = inputs as unknown as Record<KernelInput, TensorInfo>;
    const [batch, heads, length, dk] = named.q.shape as [number, number, number, number];
    const dv = named.v.shape[3] as number;
    const bh = batch * heads;
    const tile = chunkTile(bh, dk, dv, attrs.chunkSize, length);
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

/** One decode token in two independent dispatches, one per output. */
function stepWebGPU<I extends KernelInput>(gated: boolean) {
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

/** Chunked delta rule → `[output [B, H, L, Dv], finalState [B, H, Dk, Dv]]`; tfjs chunked form as reference, WGSL on WebGPU. */
export const deltaRuleChunkOp: Op<PlainInput, DeltaKernelAttrs, Tensor[]> = defineOp<PlainInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraDeltaRuleChunk',
  inputs: PLAIN_INPUTS,
  outputs: 2,
  reference: chunkReference,
  webgpu: chunkWebGPU<PlainInput>(false),
  gradient: gradientThrough(PLAIN_INPUTS, chunkReference),
});

/** Chunked gated delta rule, outputs as `deltaRuleChunkOp`. */
export const gatedDeltaRuleChunkOp: Op<GatedInput, DeltaKernelAttrs, Tensor[]> = defineOp<GatedInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraGatedDeltaRuleChunk',
  inputs: GATED_INPUTS,
  outputs: 2,
  reference: chunkReference,
  webgpu: chunkWebGPU<GatedInput>(true),
  gradient: gradientThrough(GATED_INPUTS, chunkReference),
});

/** One decode token → `[output [B, H, Dv], state [B, H, Dk, Dv]]`; the tfjs step as reference, WGSL on WebGPU. */
export const deltaRuleStepOp: Op<PlainInput, DeltaKernelAttrs, Tensor[]> = defineOp<PlainInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraDeltaRuleStep',
  inputs: PLAIN_INPUTS,
  outputs: 2,
  reference: stepReference,
  webgpu: stepWebGPU<PlainInput>(false),
  gradient: gradientThrough(PLAIN_INPUTS, stepReference),
});

/** One gated decode token, outputs as `deltaRuleStepOp`. */
export const gatedDeltaRuleStepOp: Op<GatedInput, DeltaKernelAttrs, Tensor[]> = defineOp<GatedInput, DeltaKernelAttrs, Tensor[]>({
  kernelName: 'TesseraGatedDeltaRuleStep',
  inputs: GATED_INPUTS,
  outputs: 2,
  reference: stepReference,
  webgpu: stepWebGPU<GatedInput>(true),
  gradient: gradientThrough(GATED_INPUTS, stepReference),
});
