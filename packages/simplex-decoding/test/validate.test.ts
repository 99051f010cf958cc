import { DtypeError, ShapeError, type Tensor, tf, ValueError } from '@tessera/tensor-core';
import { expectNoLeaks } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { asRows, nanRowsOf, restoreShape, screenRows } from '../src/rows.js';
import { screenOp } from '../src/screen/op.js';
import { screenReference } from '../src/screen/reference.js';
import { checkLogitValues, checkTemperature, checkTopK, checkTopP, validateLogits } from '../src/validate.js';
import { INF, NEG_INF, rowsOf } from './cases.js';

describe('validateLogits', () => {
  it('reads rows, vocabulary and rank from [B, V] and [V]', () => {
    const batched = tf.zeros([3, 5]);
    const single = tf.zeros([7]);
    expect(validateLogits(batched)).toEqual({ rows: 3, vocab: 5, batched: true });
    expect(validateLogits(single)).toEqual({ rows: 1, vocab: 7, batched: false });
    tf.dispose([batched, single]);
  });

  it('rejects other ranks with a ShapeError naming the argument and the received shape', () => {
    const scalar = tf.scalar(1);
    const cube = tf.zeros([2, 3, 4]);
    expect(() => validateLogits(scalar, 'scores')).toThrow(ShapeError);
    expect(() => validateLogits(scalar, 'scores')).toThrow(/scores: expected shape \[B, V\] or \[V\], received rank 0/);
    expect(() => validateLogits(cube)).toThrow(/logits: .*received rank 3 \[2, 3, 4\]/);
    tf.dispose([scalar, cube]);
  });

  it('rejects empty rows or vocabularies', () => {
    const noRows = tf.zeros([0, 4]);
    const noVocab = tf.zeros([0]);
    expect(() => validateLogits(noRows)).toThrow(/expected B ≥ 1 and V ≥ 1, received shape \[0, 4\]/);
    expect(() => validateLogits(noVocab)).toThrow(ShapeError);
    tf.dispose([noRows, noVocab]);
  });

  it('rejects non-float dtypes with a DtypeError', () => {
    const ints = tf.zeros([2, 3], 'int32');
    expect(() => validateLogits(ints)).toThrow(DtypeError);
    expect(() => validateLogits(ints)).toThrow(/logits: expected dtype float32, received int32/);
    ints.dispose();
  });

  it('rejects values that are not tensors, and disposed tensors', () => {
    expect(() => validateLogits([1, 2] as never)).toThrow(/logits: expected a tensor of shape \[B, V\] or \[V\], received \[1, 2\]/);
    const gone = tf.zeros([2, 3]);
    gone.dispose();
    expect(() => validateLogits(gone)).toThrow('logits: expected a live tensor, received a disposed Tensor<float32>[2, 3]');
  });
});

describe('checkLogitValues', () => {
  it('accepts finite values and −Infinity (masked tokens)', async () => {
    const s = tf.tensor2d([[0, Number.NEGATIVE_INFINITY, 2]]);
    await expect(checkLogitValues(s)).resolves.toBeUndefined();
    s.dispose();
  });

  it('names the row and token of a NaN', async () => {
    const s = tf.tensor2d([
      [0, 1, 2],
      [3, Number.NaN, 4],
    ]);
    await expect(checkLogitValues(s, 'scores')).rejects.toThrow(ValueError);
    await expect(checkLogitValues(s, 'scores')).rejects.toThrow(/scores: .*received NaN at row 1, token 1/);
    s.dispose();
  });

  it('rejects +Infinity', async () => {
    const s = tf.tensor1d([0, Number.POSITIVE_INFINITY]);
    await expect(checkLogitValues(s)).rejects.toThrow(/received Infinity at row 0, token 1/);
    s.dispose();
  });

  it('leaks nothing', async () => {
    const s = tf.tensor1d([0, 1]);
    await expectNoLeaks(async () => {
      await checkLogitValues(s);
      return undefined;
    });
    s.dispose();
  });
});

describe('screenRows', () => {
  it('replaces a row holding +∞ by its limit and flags rows with a NaN or only −∞', async () => {
    const z = tf.tensor2d([
      [1, INF, NEG_INF, INF],
      [1, Number.NaN, 0, INF],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF],
      [1, NEG_INF, 2, 3],
    ]);
    const { z: screened, nanRows } = screenRows(z);
    const rows = await rowsOf(screened);
    expect(rows[0]).toEqual([NEG_INF, 0, NEG_INF, 0]);
    expect(rows[3]).toEqual([1, NEG_INF, 2, 3]);
    expect(Array.from(await nanRows.data())).toEqual([0, 1, 1, 0]);
    const marked = tf.tidy(() => nanRowsOf(tf.ones([4, 4]), nanRows));
    expect((await rowsOf(marked)).map((r) => r.every(Number.isNaN))).toEqual([false, true, true, false]);
    tf.dispose([z, screened, nanRows, marked]);
  });

  it('runs the host kernel on cpu and wasm as its tfjs reference does, and passes gradients on finite rows', async () => {
    const z = tf.tensor2d([
      [1, INF, NEG_INF, INF, 0],
      [1, Number.NaN, 0, INF, -0],
      [NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF],
      [1, NEG_INF, 2, 3, -2],
      [Number.NaN, 1, 2, 3, 4],
    ]);
    for (const backend of ['cpu', 'wasm']) expect(screenOp.hasKernel(backend), backend).toBe(true);
    const [screened, nanRows] = screenOp({ z }, {}) as [Tensor, Tensor];
    const [refScreened, refNanRows] = screenReference(z) as [Tensor, Tensor];
    expect(await rowsOf(screened)).toEqual(await rowsOf(refScreened));
    expect(nanRows.dtype).toBe('bool');
    expect(Array.from(await nanRows.data())).toEqual(Array.from(await refNanRows.data()));
    const x = tf.tensor2d([
      [1, INF],
      [2, 3],
    ]);
    const grad = tf.grad((t: Tensor) => tf.sum(tf.mul((screenOp({ z: t }, {}) as Tensor[])[0] as Tensor, 2)))(x);
    expect(await rowsOf(grad)).toEqual([
      [0, 0],
      [2, 2],
    ]);
    tf.dispose([z, screened, nanRows, refScreened, refNanRows, x, grad]);
  });

  it('leaks nothing', async () => {
    const z = tf.tensor2d([[1, INF]]);
    await expectNoLeaks(() => screenRows(z));
    z.dispose();
  });
});

describe('asRows', () => {
  it('views [V] as [1, V] and passes [B, V] through', async () => {
    const single = tf.tensor1d([1, 2, 3]);
    const batched = tf.zeros([2, 3]);
    const rows = asRows(single);
    expect(rows.shape).toEqual([1, 3]);
    expect(Array.from(await rows.data())).toEqual([1, 2, 3]);
    expect(asRows(batched)).toBe(batched);
    tf.dispose([single, batched, rows]);
  });

  it('leaks nothing', async () => {
    const single = tf.tensor1d([1, 2, 3]);
    await expectNoLeaks(() => asRows(single));
    single.dispose();
  });
});

describe('restoreShape', () => {
  it('turns [1, V] back into [V] for unbatched inputs and keeps [B, V]', () => {
    const q = tf.zeros([1, 4]);
    const back = restoreShape(q, false);
    expect(back.shape).toEqual([4]);
    expect(restoreShape(q, true)).toBe(q);
    tf.dispose([q, back]);
  });

  it('leaks nothing', async () => {
    const q = tf.zeros([1, 4]);
    await expectNoLeaks(() => restoreShape(q, false));
    q.dispose();
  });
});

describe('checkTemperature', () => {
  it('accepts positive finite temperatures', () => {
    expect(checkTemperature(0.7)).toBe(0.7);
  });

  it('points temperature 0 to greedy()', () => {
    expect(() => checkTemperature(0)).toThrow(ValueError);
    expect(() => checkTemperature(0)).toThrow(/temperature: expected a finite number > 0, received 0 \(for temperature 0 use greedy\(\)\)/);
  });

  it('rejects negative and non-finite temperatures', () => {
    expect(() => checkTemperature(-1)).toThrow(/received -1/);
    expect(() => checkTemperature(Number.POSITIVE_INFINITY)).toThrow(/received Infinity/);
    expect(() => checkTemperature(Number.NaN, 'T')).toThrow(/T: .*received NaN/);
  });
});

describe('checkTopP', () => {
  it('accepts p in (0, 1]', () => {
    expect(checkTopP(1)).toBe(1);
    expect(checkTopP(0.01)).toBe(0.01);
  });

  it('rejects p outside (0, 1]', () => {
    expect(() => checkTopP(0)).toThrow(/p: expected a finite number > 0 and ≤ 1, received 0/);
    expect(() => checkTopP(1.5)).toThrow(ValueError);
  });
});

describe('checkTopK', () => {
  it('accepts integers in [1, V]', () => {
    expect(checkTopK(1, 4)).toBe(1);
    expect(checkTopK(4, 4)).toBe(4);
  });

  it('rejects k ≤ 0, k > V and fractions, naming V', () => {
    expect(() => checkTopK(0, 4)).toThrow(/k: expected an integer ≥ 1 and ≤ 4, received 0 \(V = 4\)/);
    expect(() => checkTopK(5, 4)).toThrow(/received 5/);
    expect(() => checkTopK(1.5, 4)).toThrow(/received 1.5/);
  });
});
