import { defineOp, type HostTensor, scalarUniforms, type Tensor, type TensorInfo, tf } from '@tessera/tensor-core';
import { CopyRangeProgram } from '../flash/copy.program.js';
import { CompactProgram } from './compact.program.js';

/** Ascending kept indices of each row of `kept [..., N]` (bool), −1 after them, and their count. */
function compactRows(kept: Tensor): [Tensor, Tensor] {
  return tf.tidy(() => {
    const n = kept.shape[kept.rank - 1] as number;
    const count = tf.sum(tf.cast(kept, 'int32'), -1);
    // kept blocks first, each group in index order: the largest keys are −j (kept) and −N − j (dropped)
    const position = tf.range(0, n, 1, 'float32');
    const key = tf.neg(tf.where(kept, position, tf.add(position, n)));
    const order = tf.topk(key, n).indices;
    const slot = tf.range(0, n, 1, 'int32');
    const indices = tf.where(tf.less(slot, tf.expandDims(count, -1)), order, tf.fill(order.shape, -1, 'int32'));
    return [indices, count];
  });
}

/** `[kvIdx, kvNum, qIdx, qNum]` of an int32 block mask `[B, H, Nq, Nk]` in tfjs ops. */
function compactReference(mask: Tensor): Tensor[] {
  // booleans for the transpose: tfjs' WebGPU backend casts int32 to float32 by relabelling the buffer,
  // which its transpose misreads
  return tf.tidy(() => {
    const kept = tf.notEqual(mask, 0);
    return [...compactRows(kept), ...compactRows(tf.transpose(kept, [0, 1, 3, 2]))];
  });
}

function compactHost(mask: HostTensor): HostTensor[] {
  const [b, h, nq, nk] = mask.shape as [number, number, number, number];
  const m = mask.values;
  const heads = b * h;
  const kvIdx = new Int32Array(heads * nq * nk).fill(-1);
  const kvNum = new Int32Array(heads * nq);
  const qIdx = new Int32Array(heads * nk * nq).fill(-1);
  const qNum = new Int32Array(heads * nk);
  for (let bh = 0; bh < heads; bh++) {
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < nk; j++) {
        if (m[(bh * nq + i) * nk + j] === 0) continue;
        const r = bh * nq + i;
        kvIdx[r * nk + (kvNum[r] as number)] = j;
        kvNum[r] = (kvNum[r] as number) + 1;
        const c = bh * nk + j;
        qIdx[c * nq + (qNum[c] as number)] = i;
        qNum[c] = (qNum[c] as number) + 1;
      }
    }
  }
  return [
    { shape: [b, h, nq, nk], dtype: 'int32', values: kvIdx },
    { shape: [b, h, nq], dtype: 'int32', values: kvNum },
    { shape: [b, h, nk, nq], dtype: 'int32', values: qIdx },
    { shape: [b, h, nk], dtype: 'int32', values: qNum },
  ];
}

/**
 * A block mask `[B, H, Nq, Nk]` (int32, nonzero = kept) → FlexAttention's lists
 * `[kvIndices, kvNumBlocks, qIndices, qNumBlocks]`, computed where the mask lives (one WGSL program on
 * WebGPU), so no host round trip separates mask construction from the attention kernel.
 */
export const compactOp = defineOp<'mask', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraBlockMaskCompact',
  inputs: ['mask'],
  outputs: 4,
  reference: ({ mask }) => compactReference(mask),
  host: ({ mask }) => compactHost(mask),
  hostBackends: ['cpu', 'wasm'],
  webgpu: ({ inputs, run, dispose }) => {
    const mask = inputs.mask;
    const [b, h, nq, nk] = mask.shape as [number, number, number, number];
    const heads = b * h;
    const flatMask = { ...mask, shape: [heads * nq * nk] };
    const packed = run(new CompactProgram(heads, nq, nk), [flatMask], 'int32', scalarUniforms('int32', [heads, nq, nk]));
    const parts: [number[], number][] = [
      [[b, h, nq, nk], 0],
      [[b, h, nq], heads * nq * nk],
      [[b, h, nk, nq], heads * nq * (nk + 1)],
      [[b, h, nk], heads * nq * (nk + 1) + heads * nk * nq],
    ];
    const out: TensorInfo[] = parts.map(([shape, offset]) =>
      run(new CopyRangeProgram(shape), [packed], 'int32', scalarUniforms('int32', [offset, shape.reduce((x, y) => x * y, 1)])),
    );
    dispose(packed);
    return out;
  },
});
