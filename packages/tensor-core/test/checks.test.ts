import { describe, expect, it } from 'vitest';
import { describeBackends } from '../src/testing/index.js';
import {
  AbortError,
  checkDtype,
  checkFinite,
  checkFiniteSync,
  checkRange,
  checkShape,
  checkSignal,
  DtypeError,
  ShapeError,
  TesseraError,
  tf,
  throwIfAborted,
  ValueError,
} from '../src/index.js';

describe('checkShape', () => {
  it('binds named dimensions across arguments', () => {
    const q = tf.zeros([2, 4, 8, 16]);
    const v = tf.zeros([2, 4, 8, 32]);
    const dims = checkShape(q, ['B', 'H', 'L', 'D'], 'q');
    expect(checkShape(v, ['B', 'H', 'L', null], 'v', dims)).toEqual({ B: 2, H: 4, L: 8, D: 16 });
    tf.dispose([q, v]);
  });

  it('names the argument, the expectation and the received shape', () => {
    const k = tf.zeros([2, 4, 9, 16]);
    const dims = { B: 2, H: 4, L: 8 };
    expect(() => checkShape(k, ['B', 'H', 'L', 'D'], 'k', dims)).toThrow(ShapeError);
    expect(() => checkShape(k, ['B', 'H', 'L', 'D'], 'k', { ...dims })).toThrow(
      /k: expected dimension 2 \(L\) to be 8 as bound by an earlier argument, received shape \[2, 4, 9, 16\]/,
    );
    expect(() => checkShape(k, ['B', 'L'], 'k')).toThrow(/k: expected rank 2 \[B, L\], received rank 4 \[2, 4, 9, 16\]/);
    expect(() => checkShape(k, [2, 4, 9, 8], 'k')).toThrow(/k: expected dimension 3 to be 8/);
    expect(() => checkShape(undefined as unknown as tf.Tensor, ['B'], 'x')).toThrow(
      /x: expected a tensor of shape \[B\], received undefined/,
    );
    k.dispose();
  });

  it('rejects a disposed tensor by name instead of failing inside tfjs', () => {
    const q = tf.zeros([1, 2]);
    q.dispose();
    expect(() => checkShape(q, ['B', 'D'], 'q')).toThrow(ValueError);
    expect(() => checkShape(q, ['B', 'D'], 'q')).toThrow('q: expected a live tensor, received a disposed Tensor<float32>[1, 2]');
  });
});

describe('checkDtype', () => {
  it('accepts listed dtypes and names the others', () => {
    const t = tf.zeros([1], 'int32');
    expect(() => checkDtype(t, ['int32', 'float32'], 't')).not.toThrow();
    expect(() => checkDtype(t, 'float32', 't')).toThrow(DtypeError);
    expect(() => checkDtype(t, 'float32', 't')).toThrow('t: expected dtype float32, received int32');
    t.dispose();
  });
});

describe('checkRange', () => {
  it('checks bounds, integrality and finiteness', () => {
    expect(checkRange(3, { min: 1, integer: true }, 'k')).toBe(3);
    expect(() => checkRange(0, { min: 0, minExclusive: true, hint: 'use greedy()' }, 'temperature')).toThrow(
      'temperature: expected a finite number > 0, received 0 (use greedy())',
    );
    expect(() => checkRange(1.5, { min: 1, integer: true }, 'k')).toThrow('k: expected an integer ≥ 1, received 1.5');
    expect(() => checkRange(Number.NaN, { min: 0, max: 1 }, 'p')).toThrow(ValueError);
    expect(() => checkRange(Number.POSITIVE_INFINITY, {}, 'x')).toThrow('x: expected a finite number, received Infinity');
    expect(() => checkRange(1, { max: 1, maxExclusive: true }, 'p')).toThrow('p: expected a finite number < 1, received 1');
  });
});

describe('checkFinite', () => {
  it('finds the first non-finite element', async () => {
    const t = tf.tensor1d([0, 1, Number.NaN]);
    await expect(checkFinite(t, 'logits')).rejects.toThrow('logits: expected finite values, received NaN at flat index 2');
    const m = tf.tensor1d([0, Number.NEGATIVE_INFINITY]);
    await expect(checkFinite(m, 'logits', { allowNegInf: true })).resolves.toBeUndefined();
    await expect(checkFinite(m, 'logits')).rejects.toThrow(/received -Infinity at flat index 1/);
    tf.dispose([t, m]);
  });
});

describeBackends('checkFiniteSync', (backend) => {
  it('checks host-resident tensors and says when it could not', () => {
    const t = tf.tensor1d([0, Number.NaN]);
    if (backend === 'webgpu') {
      expect(checkFiniteSync(t, 'x')).toBe(false);
    } else {
      expect(() => checkFiniteSync(t, 'x')).toThrow('x: expected finite values, received NaN at flat index 1');
      const ok = tf.tensor1d([1, 2]);
      expect(checkFiniteSync(ok, 'x')).toBe(true);
      ok.dispose();
    }
    t.dispose();
  });
});

describe('checkSignal and throwIfAborted', () => {
  it('accepts an AbortSignal or nothing, and names anything else', () => {
    const controller = new AbortController();
    expect(checkSignal(controller.signal)).toBe(controller.signal);
    expect(checkSignal(undefined)).toBeUndefined();
    expect(() => checkSignal('stop' as unknown as AbortSignal, 'opts.signal')).toThrow(
      'opts.signal: expected an AbortSignal, received "stop"',
    );
  });

  it('throws an AbortError carrying the reason once the signal fires', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal, 'before step 1')).not.toThrow();
    expect(() => throwIfAborted(undefined, 'before step 1')).not.toThrow();
    const reason = new Error('enough');
    controller.abort(reason);
    let thrown: unknown;
    try {
      throwIfAborted(controller.signal, 'before step 2');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AbortError);
    expect(thrown).toBeInstanceOf(TesseraError);
    expect(thrown).toMatchObject({
      name: 'AbortError',
      message: 'signal: expected not aborted, received an abort before step 2',
      cause: reason,
    });
  });
});
