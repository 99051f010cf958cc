import { scalarUniforms, type TensorInfo, tf, type WebGPUKernelContext } from '@tessera/tensor-core';
import { FlashBackwardDkvProgram } from './backward-dkv.program.js';
import { FlashBackwardDqProgram } from './backward-dq.program.js';
import { CopyRangeProgram } from './copy.program.js';
import { FlashDeltaProgram } from './delta.program.js';
import { FlashForwardProgram } from './forward.program.js';
import { type FlashGeometry, flashUniforms, keyWorkgroups, queryWorkgroups } from './layout.js';
import type { FlashAttrs, FlashInput } from './reference.js';
import { backwardTile, forwardTile, PORTABLE_WORKGROUP_BYTES } from './tile.js';

/** The backward op's tensors: the forward's plus its output, log-sum-exp and their cotangents. */
export type FlashBackwardInput = FlashInput | 'o' | 'lse' | 'dO' | 'dLse';

/**
 * The same buffer seen as one flat axis: the programs index by hand, and flat shapes keep their pipeline
 * cache keys (which include ranks and broadcast patterns) independent of B, H and the block grid.
 */
function flat(info: TensorInfo): TensorInfo {
  return { ...info, shape: [info.shape.reduce((a, b) => a * b, 1)] };
}

function geometry(q: TensorInfo, k: TensorInfo, attrs: FlashAttrs): FlashGeometry {
  const [b, h, lq, d] = q.shape as [number, number, number, number];
  return { heads: b * h, lq, lk: k.shape[2] as number, d, ...attrs };
}

type Ctx<I extends string> = Pick<WebGPUKernelContext<I, FlashAttrs>, 'run' | 'dispose'>;

/** Copies `shape`'s worth of floats from `offset` of a packed program output. */
function take<I extends string>(ctx: Ctx<I>, packed: TensorInfo, offset: number, shape: number[]): TensorInfo {
  const count = shape.reduce((a, b) => a * b, 1);
  return ctx.run(new CopyRangeProgram(shape), [packed], packed.dtype, scalarUniforms('int32', [offset, count]));
}

/** The active WebGPU device's workgroup memory (the larger forward tile needs more than 32 KiB). */
export function workgroupBytes(): number {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  return device?.limits.maxComputeWorkgroupStorageSize ?? PORTABLE_WORKGROUP_BYTES;
}

/** Forward: one flash program, then O and the log-sum-exp out of its packed output. */
export function flashForwardWebGPU(ctx: WebGPUKernelContext<FlashInput, FlashAttrs>): TensorInfo[] {
  const { q, k, v, kvNum, kvIdx } = ctx.inputs;
  const g = geometry(q, k, ctx.attrs);
  const tile = forwardTile(g.d, workgroupBytes());
  const packed = ctx.run(
    new FlashForwardProgram(g.heads, g.lq, g.d, tile, queryWorkgroups(g, tile.tq)),
    [q, k, v, kvNum, kvIdx].map(flat),
    'float32',
    flashUniforms(g, tile.tq, tile.tk),
  );
  const size = g.heads * g.lq * g.d;
  const o = take(ctx, packed, 0, q.shape);
  const lse = take(ctx, packed, size, q.shape.slice(0, 3));
  ctx.dispose(packed);
  return [o, lse];
}

/**
 * Backward: Δ = rowsum(dO ⊙ O) − dLSE (a cotangent on the log-sum-exp enters dS = P ⊙ (dP − Δ) there),
 * then the dQ program over the kept key blocks and the dK/dV program over the transposed lists.
 */
export function flashBackwardWebGPU(ctx: WebGPUKernelContext<FlashBackwardInput, FlashAttrs>): TensorInfo[] {
  const { q, k, v, o, lse, dO, dLse, kvNum, kvIdx, qNum, qIdx } = ctx.inputs;
  const g = geometry(q, k, ctx.attrs);
  const tile = backwardTile(g.d);
  const rows = g.heads * g.lq;
  const stats = ctx.run(new FlashDeltaProgram(rows), [dO, o, dLse, lse].map(flat), 'float32', scalarUniforms('int32', [rows, g.d]));
  const uniforms = flashUniforms(g, tile.tq, tile.tk);
  const dq = ctx.run(
    new FlashBackwardDqProgram(g.heads, g.lq, g.d, tile, queryWorkgroups(g, tile.tq)),
    [q, k, v, dO, stats, kvNum, kvIdx].map(flat),
    'float32',
    uniforms,
  );
  const packed = ctx.run(
    new FlashBackwardDkvProgram(g.heads, g.lk, g.d, tile, keyWorkgroups(g, tile.tk)),
    [q, k, v, dO, stats, qNum, qIdx].map(flat),
    'float32',
    uniforms,
  );
  ctx.dispose(stats);
  const dk = take(ctx, packed, 0, k.shape);
  const dv = take(ctx, packed, g.heads * g.lk * g.d, v.shape);
  ctx.dispose(packed);
  return [{ ...dq, shape: q.shape }, dk, dv];
}
