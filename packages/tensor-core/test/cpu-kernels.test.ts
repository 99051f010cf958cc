import { beforeAll, describe, expect, it } from 'vitest';
import { ORIGINAL } from '../src/backend/cpu-kernels.js';
import { initBackend, philoxUniform, type TensorInfo, tf } from '../src/index.js';
import { expectNoLeaks } from '../src/testing/index.js';

type Kernel = (args: {
  inputs: Record<string, TensorInfo>;
  backend: tf.KernelBackend;
  attrs: Record<string, unknown>;
}) => TensorInfo | TensorInfo[];

const NAMES = [
  'Slice',
  'SplitV',
  'PadV2',
  'Transpose',
  'Tile',
  'GatherV2',
  'UnsortedSegmentSum',
  'Unpack',
  'Sum',
  'Max',
  'Min',
  'Prod',
  'Any',
  'All',
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
] as const;

/** What tfjs' own cpu kernel returns for these inputs, as plain arrays with shapes. */
function original(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown>,
): { shape: number[]; values: number[] }[] {
  const config = tf.getKernel(name, 'cpu') as unknown as Record<symbol, Kernel>;
  const kernel = config[ORIGINAL] as Kernel;
  const backend = tf.backend();
  const out = kernel({ inputs: inputs as unknown as Record<string, TensorInfo>, backend, attrs });
  const outs = Array.isArray(out) ? out : [out];
  const result = outs.map((o) => ({ shape: o.shape, values: Array.from(backend.readSync(o.dataId) as ArrayLike<number>) }));
  // a contiguous slice is a view sharing the input's values: disposing its info frees only its own entry
  for (const o of outs) backend.disposeData(o.dataId);
  return result;
}

async function ours(t: tf.Tensor | tf.Tensor[]): Promise<{ shape: number[]; values: number[] }[]> {
  const ts = Array.isArray(t) ? t : [t];
  const result = await Promise.all(ts.map(async (x) => ({ shape: x.shape, values: Array.from(await x.data()) })));
  tf.dispose(ts);
  return result;
}

/** Deterministic small integers in [0, n), as a plain array. */
function ints(count: number, n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed * 2654435761;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out.push((s >>> 8) % n);
  }
  return out;
}

function tensorOf(shape: number[], dtype: 'float32' | 'int32' | 'bool', seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'float32') return philoxUniform(shape, { seed, low: -1, high: 1 });
  return tf.tensor(ints(n, dtype === 'bool' ? 2 : 1000, seed), shape, dtype);
}

const DTYPES = ['float32', 'int32', 'bool'] as const;
const SHAPES: number[][] = [[7], [3, 5], [2, 3, 4], [2, 3, 5, 17], [1, 4, 1, 3], [2, 1, 3, 2, 3]];

beforeAll(async () => {
  await initBackend('cpu');
});

describe('cpu kernels that copy runs instead of single elements', () => {
  it('replace tfjs-backend-cpu kernels, keeping the originals reachable', () => {
    for (const name of NAMES) {
      const config = tf.getKernel(name, 'cpu') as unknown as Record<symbol, unknown>;
      expect(config[Symbol.for('tessera.cpuKernels')], name).toBe(true);
      expect(typeof config[ORIGINAL], name).toBe('function');
    }
  });

  it('Slice equals the original on every rank and dtype, contiguous or not, with sizes of -1', async () => {
    let seed = 0;
    for (const shape of SHAPES)
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        const begins = [shape.map(() => 0), shape.map((d) => Math.min(1, d - 1)), shape.map((d) => d - 1)];
        for (const begin of begins) {
          for (const size of [
            shape.map((d, i) => d - (begin[i] as number)),
            shape.map((d, i) => Math.max(1, d - (begin[i] as number) - 1)),
            shape.map(() => -1),
            shape.map((_, i) => (i === 0 ? 1 : -1)),
          ]) {
            expect(await ours(tf.slice(x, begin, size)), `${shape} ${dtype} ${begin} ${size}`).toEqual(
              original('Slice', { x }, { begin, size }),
            );
          }
        }
        x.dispose();
      }
  });

  it('SplitV equals the original on every axis, with equal and unequal parts', async () => {
    let seed = 100;
    for (const shape of SHAPES.filter((s) => s.length > 1))
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        for (let axis = 0; axis < shape.length; axis++) {
          const d = shape[axis] as number;
          const splits: (number | number[])[] = [1, d > 1 ? [1, d - 1] : [d], d > 2 ? [1, -1, 1] : [d]];
          for (const numOrSizeSplits of splits) {
            expect(await ours(tf.split(x, numOrSizeSplits, axis)), `${shape} ${axis} ${numOrSizeSplits}`).toEqual(
              original('SplitV', { x }, { numOrSizeSplits, axis }),
            );
          }
        }
        x.dispose();
      }
  });

  it('PadV2 equals the original, with zero and non-zero constants', async () => {
    let seed = 200;
    for (const shape of SHAPES)
      for (const dtype of ['float32', 'int32'] as const) {
        const x = tensorOf(shape, dtype, seed++);
        for (const paddings of [shape.map(() => [0, 0]), shape.map((_, i) => [i % 2, 2]), shape.map((_, i) => [3, i === 0 ? 0 : 1])] as [
          number,
          number,
        ][][]) {
          for (const constantValue of [0, 7]) {
            expect(await ours(tf.pad(x, paddings, constantValue)), `${shape} ${paddings}`).toEqual(
              original('PadV2', { x }, { paddings, constantValue }),
            );
          }
        }
        x.dispose();
      }
  });

  it('Transpose equals the original for every permutation up to rank 4, and at rank 5', async () => {
    const perms = (n: number): number[][] =>
      n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
    let seed = 300;
    for (const shape of SHAPES)
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        const list =
          shape.length <= 4
            ? perms(shape.length)
            : [
                [4, 2, 0, 3, 1],
                [1, 0, 2, 3, 4],
              ];
        for (const perm of list)
          expect(await ours(tf.transpose(x, perm)), `${shape} ${perm}`).toEqual(original('Transpose', { x }, { perm }));
        x.dispose();
      }
  });

  it('Tile equals the original for repetitions along any subset of axes', async () => {
    let seed = 400;
    for (const shape of SHAPES.filter((s) => s.length <= 4))
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        for (const reps of [
          shape.map(() => 1),
          shape.map((_, i) => (i % 2 === 0 ? 3 : 1)),
          shape.map((_, i) => i + 1),
          shape.map(() => 2),
        ]) {
          expect(await ours(tf.tile(x, reps)), `${shape} ${reps}`).toEqual(original('Tile', { x }, { reps }));
        }
        x.dispose();
      }
  });

  it('GatherV2 equals the original on every axis, with batch dimensions, and throws its error for an index out of range', async () => {
    let seed = 500;
    for (const shape of SHAPES.filter((s) => s.length >= 2))
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        for (let axis = 0; axis < shape.length; axis++) {
          const d = shape[axis] as number;
          const indices = tf.tensor(ints(9, d, seed), [9], 'int32');
          expect(await ours(tf.gather(x, indices, axis)), `${shape} ${axis}`).toEqual(
            original('GatherV2', { x, indices }, { axis, batchDims: 0 }),
          );
          indices.dispose();
        }
        // batchDims 1: indices [B, n] select along axis 1 within each batch row
        const batched = tf.tensor(ints((shape[0] as number) * 4, shape[1] as number, seed), [shape[0] as number, 4], 'int32');
        expect(await ours(tf.gather(x, batched, 1, 1)), `${shape} batchDims 1`).toEqual(
          original('GatherV2', { x, indices: batched }, { axis: 1, batchDims: 1 }),
        );
        batched.dispose();
        x.dispose();
      }
    const x = tf.ones([3, 2]);
    const bad = tf.tensor([0, 3], [2], 'int32');
    expect(() => tf.gather(x, bad)).toThrow('GatherV2: the index value 3 is not in [0, 2]');
    tf.dispose([x, bad]);
  });

  it('UnsortedSegmentSum equals the original (1-D ids, as tfjs takes them), ids out of range (negative, too large) matching no segment', async () => {
    let seed = 600;
    for (const [shape, idRank] of [
      [[10], 1],
      [[10, 3], 1],
      [[4, 5, 3], 1],
      [[6, 33], 1],
    ] as [number[], number][]) {
      const x = philoxUniform(shape, { seed: seed++, low: -1, high: 1 });
      const idShape = shape.slice(0, idRank);
      const n = idShape.reduce((a, b) => a * b, 1);
      const ids = tf.tensor(
        ints(n, 7, seed).map((v) => v - 1),
        idShape,
        'int32',
      );
      for (const numSegments of [1, 4, 9]) {
        const got = await ours(tf.unsortedSegmentSum(x, ids as tf.Tensor1D, numSegments));
        const want = original('UnsortedSegmentSum', { x, segmentIds: ids }, { numSegments });
        expect(got[0]?.shape).toEqual(want[0]?.shape);
        // the original adds in another order: equal to float rounding
        for (const [i, v] of (want[0]?.values ?? []).entries()) expect(got[0]?.values[i]).toBeCloseTo(v, 5);
      }
      tf.dispose([x, ids]);
    }
  });

  it('Unpack equals the original on every axis', async () => {
    let seed = 700;
    for (const shape of SHAPES)
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        for (let axis = -1; axis < shape.length; axis++) {
          expect(await ours(tf.unstack(x, axis)), `${shape} ${axis}`).toEqual(original('Unpack', { value: x }, { axis }));
        }
        x.dispose();
      }
  });

  it('reductions over outer axes (Sum, Max, Min, Prod, Any, All) equal the original, with and without keepDims', async () => {
    let seed = 800;
    const withNaN = tf.tensor([1, Number.NaN, -2, 3, Number.POSITIVE_INFINITY, 0, -1, 2], [2, 2, 2]);
    for (const shape of SHAPES.filter((s) => s.length > 1))
      for (const dtype of DTYPES) {
        const x = tensorOf(shape, dtype, seed++);
        const axesList: number[][] = [[0], [shape.length - 2], [0, shape.length - 1], shape.map((_, i) => i).filter((i) => i % 2 === 0)];
        for (const axis of axesList)
          for (const keepDims of [false, true]) {
            const cases: [string, () => tf.Tensor][] =
              dtype === 'bool'
                ? [
                    ['Any', () => tf.any(x, axis, keepDims)],
                    ['All', () => tf.all(x, axis, keepDims)],
                  ]
                : [
                    ['Sum', () => tf.sum(x, axis, keepDims)],
                    ['Max', () => tf.max(x, axis, keepDims)],
                    ['Min', () => tf.min(x, axis, keepDims)],
                    ['Prod', () => tf.prod(x, axis, keepDims)],
                  ];
            for (const [name, op] of cases) {
              const attrs = name === 'Max' ? { reductionIndices: axis, keepDims } : { axis, keepDims };
              expect(await ours(op()), `${name} ${shape} ${dtype} ${axis} ${keepDims}`).toEqual(original(name, { x }, attrs));
            }
          }
        x.dispose();
      }
    expect(await ours(tf.max(withNaN, 0))).toEqual(original('Max', { x: withNaN }, { reductionIndices: [0], keepDims: false }));
    expect(await ours(tf.sum(withNaN, [0, 2]))).toEqual(original('Sum', { x: withNaN }, { axis: [0, 2], keepDims: false }));
    withNaN.dispose();
  });

  it('Add, Sub, Multiply and RealDiv equal the original bit for bit, broadcast or not, NaN and ±∞ included', async () => {
    const pairs: [number[], number[]][] = [
      [
        [4, 32, 32],
        [4, 32, 32],
      ],
      [[4, 32, 32], [32]],
      [
        [8, 2, 16, 16],
        [8, 2, 16, 1],
      ],
      [
        [128, 1, 8, 1],
        [128, 2, 8, 2],
      ],
      [[], [3, 4]],
      [
        [3, 1],
        [1, 4],
      ],
      [
        [2, 3, 4],
        [3, 1],
      ],
      [
        [1, 4, 1, 3],
        [2, 1, 5, 3],
      ],
      [[], []],
      [
        [2, 0, 3],
        [1, 3],
      ],
    ];
    let seed = 900;
    for (const [sa, sb] of pairs) {
      const a = tensorOf(sa, 'float32', seed++);
      const special = tf.tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0]);
      const b = tf.tidy(() => {
        const base = tensorOf(sb, 'float32', seed++);
        const n = base.size;
        // a few special values among b's
        if (n < 5) return base;
        const flat = tf.concat([special, tf.slice(tf.reshape(base, [n]), [5], [n - 5])]);
        return tf.reshape(flat, sb);
      });
      special.dispose();
      for (const [name, op] of [
        ['Add', tf.add],
        ['Sub', tf.sub],
        ['Multiply', tf.mul],
        ['RealDiv', tf.div],
      ] as [string, (x: tf.Tensor, y: tf.Tensor) => tf.Tensor][]) {
        expect(await ours(op(a, b)), `${name} ${sa} ${sb}`).toEqual(original(name, { a, b }, {}));
        expect(await ours(op(b, a)), `${name} ${sb} ${sa}`).toEqual(original(name, { a: b, b: a }, {}));
      }
      tf.dispose([a, b]);
    }
    // int32 keeps tfjs' own kernels
    const i = tf.tensor([1, 2, 3], [3], 'int32');
    expect(await ours(tf.mul(i, i))).toEqual(original('Multiply', { a: i, b: i }, {}));
    i.dispose();
  });

  it('an embedding gradient (gather, then its segment sum) matches the original kernels, and nothing leaks', async () => {
    const table = philoxUniform([256, 32], { seed: 7, low: -1, high: 1 });
    const ids = tf.tensor(ints(128, 256, 3), [4, 32], 'int32');
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, ids))))(table);
    const upstream = tf.mul(2, tf.gather(table, ids));
    const want = original(
      'UnsortedSegmentSum',
      { x: tf.reshape(upstream, [128, 32]), segmentIds: tf.reshape(ids, [128]) },
      { numSegments: 256 },
    );
    const got = await grad.data();
    for (const [i, v] of (want[0]?.values ?? []).entries()) expect(got[i]).toBeCloseTo(v, 5);
    tf.dispose([table, ids, grad, upstream]);
    const x = philoxUniform([4, 35, 32], { seed: 1 });
    await expectNoLeaks(() => {
      tf.dispose([
        tf.slice(x, [0, 3, 0], [-1, 32, -1]),
        ...tf.split(x, [5, 30], 1),
        tf.pad(x, [
          [0, 0],
          [3, 0],
          [0, 0],
        ]),
        tf.transpose(x, [2, 0, 1]),
        tf.tile(x, [1, 2, 1]),
      ]);
    });
    x.dispose();
  });
});
