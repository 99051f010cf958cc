import { checkDtype, checkRange, checkShape, type Dims, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';
import type { FastWeights } from '../lact/index.js';
import type { LaCTBlockForwardOptions, LaCTOrder } from './types.js';

export const BLOCK_OPTIONS = ['heads', 'attentionHeadDim', 'fastHiddenRatio', 'mlpRatio', 'muonSteps', 'baseLr', 'seed'] as const;
export const FORWARD_OPTIONS = ['initialState', 'order', 'updateViews', 'chunkViews'] as const;

/** Largest `width` of a block (weights up to 4·width² per projection stay far below tfjs' 2³¹ elements). */
export const MAX_LACT_WIDTH = 8192;

export interface ResolvedForward {
  order: LaCTOrder;
  updateViews: number;
  chunkViews: number;
  initialState: FastWeights | undefined;
}

/** Checks `x: [B, V, T, width]` and the forward options; returns them resolved. */
export function validateForward(
  x: Tensor,
  o: LaCTBlockForwardOptions,
  shape: { width: number; heads: number; headDim: number; hidden: number },
): ResolvedForward {
  const dims: Dims = {};
  checkShape(x, ['B', 'V', 'T', shape.width], 'x', dims);
  checkDtype(x, 'float32', 'x');
  if (x.size === 0) throw new ShapeError(`x: expected B, V, T ≥ 1, received shape [${x.shape.join(', ')}]`);
  const v = x.shape[1] as number;
  const order = o.order ?? 'update-then-apply';
  if (order !== 'update-then-apply' && order !== 'apply-then-update') {
    throw new ValueError(`order: expected 'update-then-apply' or 'apply-then-update', received ${JSON.stringify(order)}`);
  }
  const updateViews = checkRange(o.updateViews ?? v, { min: 0, max: v, integer: true, hint: `V = ${v}` }, 'updateViews');
  const chunkViews = checkRange(o.chunkViews ?? 1, { min: 1, integer: true }, 'chunkViews');
  const state = o.initialState;
  if (state !== undefined) {
    const sd: Dims = { B: x.shape[0] as number };
    checkShape(state.w0, ['B', shape.heads, shape.headDim, shape.hidden], 'initialState.w0', sd);
    checkShape(state.w1, ['B', shape.heads, shape.hidden, shape.headDim], 'initialState.w1', sd);
    checkShape(state.w2, ['B', shape.heads, shape.headDim, shape.hidden], 'initialState.w2', sd);
    for (const key of ['w0', 'w1', 'w2'] as const) checkDtype(state[key], 'float32', `initialState.${key}`);
  }
  return { order, updateViews, chunkViews, initialState: state };
}
