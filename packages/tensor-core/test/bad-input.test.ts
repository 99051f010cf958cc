/**
 * Bad input to every public function of tensor-core: each row must throw (or reject) the named error
 * class with a message naming the argument and the received value, and leave no tensor behind. One
 * table per function; a new public function joins with its own table.
 */
import { describe } from 'vitest';
import {
  BackendError,
  checkDtype,
  checkFinite,
  checkFiniteSync,
  checkOptions,
  checkRange,
  checkShape,
  defineOp,
  deviceZeros,
  DtypeError,
  flatGrid,
  FormatError,
  gradientThroughReference,
  initBackend,
  loadSafetensors,
  logSoftmax,
  MAX_TENSOR_ELEMENTS,
  Module,
  philoxUniform,
  readSafetensors,
  readSafetensorsMetadata,
  saveSafetensors,
  scalarUniforms,
  ShapeError,
  softmax,
  type Tensor,
  TesseraError,
  tf,
  ValueError,
  vjp,
  writeFileAtomic,
  writeSafetensors,
} from '../src/index.js';
import { bench, compare, defineBench, formatTable, gigabytesPerSecond, gigaflopsPerSecond, runProgram } from '../src/bench/index.js';
import { badInput, describeBackends, expectAllClose, expectNoLeaks, itRejects } from '../src/testing/index.js';

// Arguments of the wrong type are what these rows pass on purpose: `bad` keeps each cast visible.
const bad = (value: unknown): never => value as never;

const t1 = () => ({ x: tf.tensor1d([1, 2, 3]) });
const disposed = () => {
  const x = tf.tensor1d([1, 2]);
  x.dispose();
  return { x };
};

/** A safetensors file: 8-byte little-endian header length, the JSON header, the data. */
function file(header: string, data: number[] = [], declaredLength?: number): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

class TwoParams extends Module {
  readonly w = this.param('w', tf.zeros([2, 3]));
  readonly step = this.param('step', tf.scalar(0, 'int32'), false);
}

class Fresh extends Module {
  add(name: string, init: unknown): void {
    this.param(name, bad(init));
  }
}

describe('initBackend', () => {
  const withEnv = async (value: string, f: () => Promise<unknown>): Promise<unknown> => {
    const saved = process.env.TESSERA_BACKEND;
    process.env.TESSERA_BACKEND = value;
    try {
      return await f();
    } finally {
      if (saved === undefined) delete process.env.TESSERA_BACKEND;
      else process.env.TESSERA_BACKEND = saved;
    }
  };
  itRejects([
    badInput({
      name: "initBackend('bogus')",
      call: () => initBackend(bad('bogus')),
      error: ValueError,
      message: 'preference: expected one of auto, webgpu, wasm, cpu, received "bogus"',
    }),
    badInput({ name: 'initBackend(42)', call: () => initBackend(bad(42)), error: ValueError, message: 'received 42' }),
    badInput({
      name: 'TESSERA_BACKEND=bogus',
      call: () => withEnv('bogus', () => initBackend('cpu')),
      error: ValueError,
      message: 'TESSERA_BACKEND: expected one of auto, webgpu, wasm, cpu, received "bogus"',
    }),
  ]);
});

describe('checkShape', () => {
  itRejects([
    badInput({
      name: 'a non-tensor',
      call: () => checkShape(bad([1, 2]), ['B', 'V'], 'q'),
      error: ShapeError,
      message: 'q: expected a tensor of shape [B, V], received [1, 2]',
    }),
    badInput({
      name: 'a disposed tensor',
      inputs: disposed,
      call: ({ x }) => checkShape(x, [null], 'q'),
      error: ValueError,
      message: 'q: expected a live tensor, received a disposed Tensor<float32>[2]',
    }),
    badInput({
      name: 'the wrong rank',
      inputs: t1,
      call: ({ x }) => checkShape(x, ['B', 'V'], 'q'),
      error: ShapeError,
      message: 'q: expected rank 2 [B, V], received rank 1 [3]',
    }),
    badInput({
      name: 'a fixed dimension',
      inputs: t1,
      call: ({ x }) => checkShape(x, [4], 'q'),
      error: ShapeError,
      message: 'q: expected dimension 0 to be 4, received shape [3]',
    }),
    badInput({
      name: 'a bound dimension',
      inputs: t1,
      call: ({ x }) => checkShape(x, ['L'], 'k', { L: 5 }),
      error: ShapeError,
      message: 'k: expected dimension 0 (L) to be 5 as bound by an earlier argument, received shape [3]',
    }),
    badInput({
      name: 'a spec that is not an array',
      inputs: t1,
      call: ({ x }) => checkShape(x, bad('BV'), 'q'),
      error: ValueError,
      message: 'q: spec: expected an array',
    }),
  ]);
});

describe('checkDtype', () => {
  itRejects([
    badInput({
      name: 'int32 for float32',
      inputs: () => ({ x: tf.tensor1d([1], 'int32') }),
      call: ({ x }) => checkDtype(x, 'float32', 'ids'),
      error: DtypeError,
      message: 'ids: expected dtype float32, received int32',
    }),
    badInput({
      name: 'a disposed tensor',
      inputs: disposed,
      call: ({ x }) => checkDtype(x, 'float32', 'ids'),
      error: ValueError,
      message: 'ids: expected a live tensor',
    }),
    badInput({
      name: 'a non-tensor',
      call: () => checkDtype(bad(3), 'float32', 'ids'),
      error: ValueError,
      message: 'ids: expected a tensor, received 3',
    }),
  ]);
});

describe('checkRange', () => {
  itRejects([
    badInput({
      name: 'NaN',
      call: () => checkRange(Number.NaN, { min: 0 }, 'p'),
      error: ValueError,
      message: 'p: expected a finite number ≥ 0, received NaN',
    }),
    badInput({
      name: 'a string',
      call: () => checkRange(bad('1'), {}, 'p'),
      error: ValueError,
      message: 'p: expected a finite number, received "1"',
    }),
    badInput({
      name: 'a fraction for an integer',
      call: () => checkRange(1.5, { integer: true }, 'k'),
      error: ValueError,
      message: 'k: expected an integer, received 1.5',
    }),
    badInput({
      name: 'an exclusive bound',
      call: () => checkRange(0, { min: 0, minExclusive: true, hint: 'use greedy()' }, 'T'),
      error: ValueError,
      message: 'T: expected a finite number > 0, received 0 (use greedy())',
    }),
    badInput({
      name: 'above max',
      call: () => checkRange(5, { max: 4, integer: true }, 'k'),
      error: ValueError,
      message: 'k: expected an integer ≤ 4, received 5',
    }),
    badInput({
      name: 'an unknown spec key',
      call: () => checkRange(1, bad({ minExclusiv: true }), 'k'),
      error: ValueError,
      message:
        'spec.minExclusiv: expected one of the known options (min, max, minExclusive, maxExclusive, integer, hint), received an unknown option (did you mean minExclusive?)',
    }),
  ]);
});

describeBackends('checkFinite', () => {
  itRejects([
    badInput({
      name: 'NaN',
      inputs: () => ({ x: tf.tensor1d([0, Number.NaN]) }),
      call: ({ x }) => checkFinite(x, 'logits'),
      error: ValueError,
      message: 'logits: expected finite values, received NaN at flat index 1',
    }),
    badInput({
      name: '+Infinity with allowNegInf',
      inputs: () => ({ x: tf.tensor1d([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) }),
      call: ({ x }) => checkFinite(x, 'logits', { allowNegInf: true }),
      error: ValueError,
      message: 'logits: expected finite values or -Infinity, received Infinity at flat index 1',
    }),
    badInput({
      name: 'an unknown option',
      inputs: t1,
      call: ({ x }) => checkFinite(x, 'logits', bad({ allowNegative: true })),
      error: ValueError,
      message: 'opts.allowNegative',
    }),
    badInput({
      name: 'a disposed tensor',
      inputs: disposed,
      call: ({ x }) => checkFinite(x, 'logits'),
      error: ValueError,
      message: 'logits: expected a live tensor',
    }),
  ]);
});

describeBackends(
  'checkFiniteSync',
  () => {
    itRejects([
      badInput({
        name: 'Infinity',
        inputs: () => ({ x: tf.tensor1d([Number.POSITIVE_INFINITY]) }),
        call: ({ x }) => checkFiniteSync(x, 'x'),
        error: ValueError,
        message: 'x: expected finite values, received Infinity at flat index 0',
      }),
      badInput({
        name: 'an unknown option',
        inputs: t1,
        call: ({ x }) => checkFiniteSync(x, 'x', bad({ allowNan: true })),
        error: ValueError,
        message: 'opts.allowNan',
      }),
    ]);
  },
  { backends: ['cpu', 'wasm'] },
);

describe('checkOptions', () => {
  itRejects([
    badInput({
      name: 'a number for the options',
      call: () => checkOptions(bad(3), ['seed']),
      error: ValueError,
      message: 'opts: expected an options object { seed }, received 3',
    }),
    badInput({
      name: 'a tensor for the options',
      inputs: t1,
      call: ({ x }) => checkOptions(bad(x), ['seed']),
      error: ValueError,
      message: 'opts: expected an options object',
    }),
    badInput({
      name: 'an unknown key',
      call: () => checkOptions(bad({ sed: 1 }), ['seed']),
      error: ValueError,
      message: 'opts.sed: expected one of the known options (seed), received an unknown option (did you mean seed?)',
    }),
  ]);
});

describeBackends('softmax and logSoftmax', () => {
  for (const [name, f] of [
    ['softmax', softmax],
    ['logSoftmax', logSoftmax],
  ] as const) {
    itRejects([
      badInput({ name: `${name} of an array`, call: () => f(bad([1, 2])), error: TesseraError, message: 'logits' }),
      badInput({
        name: `${name} with temperature 0`,
        inputs: () => ({ x: tf.tensor2d([[1, 2]]) }),
        call: ({ x }) => f(x, { temperature: 0 }),
        error: ValueError,
        message: 'temperature: expected a finite number > 0, received 0',
      }),
      badInput({
        name: `${name} with a misspelt option`,
        inputs: () => ({ x: tf.tensor2d([[1, 2]]) }),
        call: ({ x }) => f(x, bad({ temprature: 2 })),
        error: ValueError,
        message: 'opts.temprature',
      }),
    ]);
  }
});

describeBackends('philoxUniform', () => {
  itRejects([
    badInput({
      name: 'no options',
      call: () => philoxUniform([2], bad(undefined)),
      error: ValueError,
      message: 'opts: expected { seed, offset?, low?, high? }, received undefined',
    }),
    badInput({
      name: 'a negative seed',
      call: () => philoxUniform([2], { seed: -1 }),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0',
    }),
    badInput({
      name: 'a fractional offset',
      call: () => philoxUniform([2], { seed: 0, offset: 0.5 }),
      error: ValueError,
      message: 'offset: expected an integer ≥ 0',
    }),
    badInput({
      name: 'high ≤ low',
      call: () => philoxUniform([2], { seed: 0, low: 1, high: 1 }),
      error: ValueError,
      message: 'high: expected a finite number > 1, received 1 (high must exceed low)',
    }),
    badInput({
      name: 'a misspelt option',
      call: () => philoxUniform([2], bad({ sed: 1 })),
      error: ValueError,
      message: 'did you mean seed?',
    }),
    badInput({
      name: 'a shape that is not an array',
      call: () => philoxUniform(bad(3), { seed: 0 }),
      error: ShapeError,
      message: 'shape: expected an array of non-negative integers, received 3',
    }),
    badInput({
      name: 'a negative dimension',
      call: () => philoxUniform([2, -1], { seed: 0 }),
      error: ValueError,
      message: 'shape[1]: expected an integer ≥ 0, received -1',
    }),
    badInput({
      name: 'more elements than the limit',
      call: () => philoxUniform([65536, 65536], { seed: 0 }),
      error: ShapeError,
      message: `shape: expected at most ${MAX_TENSOR_ELEMENTS} elements in all, received [65536, 65536]`,
    }),
    badInput({
      name: 'offset + size beyond 2^53',
      call: () => philoxUniform([4], { seed: 0, offset: Number.MAX_SAFE_INTEGER - 1 }),
      error: ShapeError,
      message: 'offset: expected offset + size ≤',
    }),
  ]);
});

describeBackends('deviceZeros', () => {
  itRejects([
    badInput({
      name: 'a negative dimension',
      call: () => deviceZeros([-1]),
      error: ValueError,
      message: 'shape[0]: expected an integer ≥ 0, received -1',
    }),
    badInput({
      name: 'more elements than the limit',
      call: () => deviceZeros([2 ** 20, 2 ** 12]),
      error: ShapeError,
      message: 'shape: expected at most',
    }),
    badInput({
      name: 'a dtype it cannot make',
      call: () => deviceZeros([2], bad('bool')),
      error: ValueError,
      message: `dtype: expected 'float32' or 'int32', received "bool"`,
    }),
  ]);
});

describe('readSafetensors and readSafetensorsMetadata', () => {
  for (const [name, read] of [
    ['readSafetensors', readSafetensors],
    ['readSafetensorsMetadata', readSafetensorsMetadata],
  ] as const) {
    itRejects([
      badInput({
        name: `${name} of an ArrayBuffer`,
        call: () => read(bad(new ArrayBuffer(16))),
        error: ValueError,
        message: 'bytes: expected a Uint8Array',
      }),
      badInput({ name: `${name} of 4 bytes`, call: () => read(new Uint8Array(4)), error: FormatError, message: 'safetensors' }),
      badInput({
        name: `${name} of a header longer than the file`,
        call: () => read(file('{}', [], 1000)),
        error: FormatError,
        message: 'safetensors',
      }),
      badInput({
        name: `${name} of a header that is not JSON`,
        call: () => read(file('{"a": ')),
        error: FormatError,
        message: 'safetensors',
      }),
      badInput({
        name: `${name} of an unknown dtype`,
        call: () => read(file('{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0, 0])),
        error: FormatError,
        message: 'F64',
      }),
      badInput({
        name: `${name} of data offsets past the end`,
        call: () => read(file('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', [0, 0, 0, 0])),
        error: FormatError,
        message: 'safetensors',
      }),
      badInput({
        name: `${name} of a shape that disagrees with its bytes`,
        call: () => read(file('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0, 0])),
        error: FormatError,
        message: 'safetensors',
      }),
    ]);
  }
});

describeBackends('writeSafetensors and saveSafetensors', () => {
  const x2 = () => ({ x: tf.tensor1d([1, 2]), i: tf.tensor1d([1], 'int32') });
  itRejects([
    badInput({
      name: 'tensors that are an array',
      inputs: x2,
      call: ({ x }) => writeSafetensors(bad([x])),
      error: ValueError,
      message: 'tensors: expected an object of tensors by name',
    }),
    badInput({
      name: 'a misspelt option',
      inputs: x2,
      call: ({ x }) => writeSafetensors({ x }, bad({ metdata: {} })),
      error: ValueError,
      message: 'opts.metdata: expected one of the known options (metadata, dtypes), received an unknown option (did you mean metadata?)',
    }),
    badInput({
      name: 'a dtype for an absent tensor',
      inputs: x2,
      call: ({ x }) => writeSafetensors({ x }, { dtypes: { y: 'F16' } }),
      error: ValueError,
      message: 'opts.dtypes["y"]: names no tensor in tensors',
    }),
    badInput({
      name: 'F16 for an int32 tensor',
      inputs: x2,
      call: ({ i }) => writeSafetensors({ i }, { dtypes: { i: 'F16' } }),
      error: DtypeError,
      message: 'opts.dtypes["i"]: F16 cannot store int32 values',
    }),
    badInput({
      name: 'a metadata value that is not a string',
      inputs: x2,
      call: ({ x }) => writeSafetensors({ x }, { metadata: bad({ step: 1 }) }),
      error: ValueError,
      message: 'opts.metadata["step"]: expected a string, received 1',
    }),
    badInput({
      name: 'a disposed tensor',
      inputs: disposed,
      call: ({ x }) => writeSafetensors({ x }),
      error: ValueError,
      message: 'tensors["x"]: expected a live tensor',
    }),
    badInput({
      name: 'saveSafetensors to an empty path',
      inputs: x2,
      call: ({ x }) => saveSafetensors('', { x }),
      error: ValueError,
      message: 'path: expected a non-empty file path, received ""',
    }),
    badInput({
      name: 'loadSafetensors of a number',
      call: () => loadSafetensors(bad(7)),
      error: ValueError,
      message: 'path: expected a non-empty file path, received 7',
    }),
  ]);
});

describe('writeFileAtomic', () => {
  itRejects([
    badInput({
      name: 'a path that is not a string',
      call: () => writeFileAtomic(bad(null), new Uint8Array(1)),
      error: ValueError,
      message: 'path: expected a non-empty file path, received null',
    }),
    badInput({
      name: 'bytes that are a string',
      call: () => writeFileAtomic('/tmp/never-written', bad('abc')),
      error: ValueError,
      message: 'bytes: expected a Uint8Array, received "abc"',
    }),
  ]);
});

describeBackends('Module', () => {
  itRejects([
    badInput({
      name: 'loadStateDict with a shape mismatch',
      inputs: () => ({ m: new TwoParams(), w: tf.zeros([3, 2]), step: tf.scalar(0, 'int32') }),
      call: ({ m, w, step }) => m.loadStateDict({ w, step }),
      error: ShapeError,
      message: '"w": expected shape [2, 3], received [3, 2]',
    }),
    badInput({
      name: 'loadStateDict with a dtype mismatch',
      inputs: () => ({ m: new TwoParams(), w: tf.zeros([2, 3]), step: tf.scalar(0) }),
      call: ({ m, w, step }) => m.loadStateDict({ w, step }),
      error: DtypeError,
      message: '"step": expected dtype int32, received float32',
    }),
    badInput({
      name: 'loadStateDict with missing keys',
      inputs: () => ({ m: new TwoParams() }),
      call: ({ m }) => m.loadStateDict({}),
      error: ValueError,
      message: 'missing keys: "w", "step"',
    }),
    badInput({
      name: 'loadStateDict with a misspelt option',
      inputs: () => ({ m: new TwoParams() }),
      call: ({ m }) => m.loadStateDict({}, bad({ strcit: false })),
      error: ValueError,
      message: 'opts.strcit',
    }),
    badInput({
      name: 'loadStateDict of a tensor',
      inputs: () => ({ m: new TwoParams(), x: tf.zeros([1]) }),
      call: ({ m, x }) => m.loadStateDict(bad(x)),
      error: ValueError,
      message: 'dict: expected an object of tensors by path',
    }),
    badInput({
      name: 'param with a non-tensor init',
      call: () => new Fresh().add('w', [1, 2]),
      error: ValueError,
      message: 'init: expected a live tensor, received [1, 2]',
    }),
    badInput({ name: 'param with a dotted name', call: () => new Fresh().add('a.b', tf.zeros([1])), error: ValueError, message: 'a.b' }),
  ]);
});

describe('defineOp', () => {
  const reference = (i: Record<'x', Tensor>) => tf.neg(i.x);
  itRejects([
    badInput({
      name: 'a misspelt spec key',
      call: () => defineOp(bad({ kernelName: 'TesseraBadA', inputs: ['x'], reference, hostBackend: ['wasm'] })),
      error: ValueError,
      message: 'spec.hostBackend: expected one of the known options',
    }),
    badInput({
      name: 'no kernel name',
      call: () => defineOp(bad({ inputs: ['x'], reference })),
      error: ValueError,
      message: 'spec.kernelName: expected a non-empty string, received undefined',
    }),
    badInput({
      name: 'no reference',
      call: () => defineOp(bad({ kernelName: 'TesseraBadB', inputs: ['x'] })),
      error: ValueError,
      message: 'defineOp(TesseraBadB): spec.reference: expected a function, received undefined',
    }),
    badInput({
      name: 'duplicate input names',
      call: () => defineOp({ kernelName: 'TesseraBadC', inputs: ['x', 'x'], reference }),
      error: ValueError,
      message: 'spec.inputs: expected an array of distinct input names',
    }),
    badInput({
      name: 'a host backend that is not one',
      call: () => defineOp(bad({ kernelName: 'TesseraBadD', inputs: ['x'], reference, hostBackends: ['webgpu'] })),
      error: ValueError,
      message: "spec.hostBackends: expected an array of 'cpu' and 'wasm'",
    }),
    badInput({
      name: 'zero outputs',
      call: () => defineOp({ kernelName: 'TesseraBadE', inputs: ['x'], reference, outputs: 0 }),
      error: ValueError,
      message: 'spec.outputs: expected an integer ≥ 1, received 0',
    }),
    badInput({
      name: 'a gradient without grad',
      call: () => defineOp(bad({ kernelName: 'TesseraBadF', inputs: ['x'], reference, gradient: { inputsToSave: ['x'] } })),
      error: ValueError,
      message: 'spec.gradient.grad: expected a function',
    }),
  ]);
});

describeBackends('vjp and gradientThroughReference', () => {
  itRejects([
    badInput({
      name: 'vjp of a non-function',
      inputs: t1,
      call: ({ x }) => vjp(bad(null), [x], x),
      error: ValueError,
      message: 'f: expected a function, received null',
    }),
    badInput({
      name: 'vjp at a disposed tensor',
      inputs: () => ({ ...disposed(), dy: tf.scalar(1) }),
      call: ({ x, dy }) => vjp((a) => a, [x], dy),
      error: ValueError,
      message: 'xs[0]: expected a live tensor',
    }),
    badInput({
      name: 'vjp without a cotangent',
      inputs: t1,
      call: ({ x }) => vjp((a) => a, [x], bad(undefined)),
      error: ValueError,
      message: 'dy: expected a tensor, received undefined',
    }),
    badInput({
      name: 'gradientThroughReference with names that are a string',
      call: () => gradientThroughReference(bad('x'), () => tf.scalar(0)),
      error: ValueError,
      message: 'names: expected an array of input names, received "x"',
    }),
    badInput({
      name: 'gradientThroughReference without a reference',
      call: () => gradientThroughReference(['x'], bad(undefined)),
      error: ValueError,
      message: 'reference: expected a function, received undefined',
    }),
  ]);
});

describe('flatGrid and scalarUniforms', () => {
  itRejects([
    badInput({
      name: 'flatGrid with zero workgroups',
      call: () => flatGrid([4], 0),
      error: ValueError,
      message: 'workgroups: expected an integer ≥ 1',
    }),
    badInput({
      name: 'flatGrid with a shape that is not an array',
      call: () => flatGrid(bad(4), 1),
      error: ShapeError,
      message: 'outputShape: expected an array',
    }),
    badInput({
      name: 'scalarUniforms of an unknown type',
      call: () => scalarUniforms(bad('float16'), [1]),
      error: ValueError,
      message: 'type: expected one of float32, int32, uint32, received "float16"',
    }),
    badInput({
      name: 'scalarUniforms of a negative uint32',
      call: () => scalarUniforms('uint32', [-1]),
      error: ValueError,
      message: 'values[0]: expected an integer ≥ 0 and ≤ 4294967295, received -1',
    }),
    badInput({
      name: 'scalarUniforms of NaN',
      call: () => scalarUniforms('float32', [Number.NaN]),
      error: ValueError,
      message: 'values[0]: expected a finite number, received NaN',
    }),
  ]);
});

describeBackends('bench subpath', () => {
  const result = { name: 'r', median: 1, min: 1, max: 1, iterations: 1, rounds: 1 };
  itRejects([
    badInput({
      name: 'bench with a misspelt option',
      call: () => bench('x', () => undefined, bad({ round: 3 })),
      error: ValueError,
      message:
        'opts.round: expected one of the known options (warmup, warmupMs, rounds, iterations, targetMs), received an unknown option (did you mean rounds?)',
    }),
    badInput({
      name: 'bench with zero rounds',
      call: () => bench('x', () => undefined, { rounds: 0 }),
      error: ValueError,
      message: 'rounds: expected an integer ≥ 1',
    }),
    badInput({
      name: 'bench of a non-function',
      call: () => bench('x', bad(3)),
      error: ValueError,
      message: 'fn: expected a function, received 3',
    }),
    badInput({
      name: 'compare with a misspelt extra',
      call: () => compare('w', '1x1', 'tf', result, result, bad({ byte: 4 })),
      error: ValueError,
      message: 'extras.byte',
    }),
    badInput({
      name: 'compare with a result without a median',
      call: () => compare('w', '1x1', 'tf', bad({}), result),
      error: ValueError,
      message: 'baseline: expected a bench() result with a positive median',
    }),
    badInput({
      name: 'formatTable of a row',
      call: () => formatTable(bad(result)),
      error: ValueError,
      message: 'rows: expected an array of compare() rows',
    }),
    badInput({
      name: 'gigabytesPerSecond of a result',
      call: () => gigabytesPerSecond(bad(result)),
      error: ValueError,
      message: 'row.ours',
    }),
    badInput({
      name: 'gigaflopsPerSecond of nothing',
      call: () => gigaflopsPerSecond(bad(undefined)),
      error: ValueError,
      message: 'row.ours',
    }),
    badInput({
      name: 'defineBench with a misspelt key',
      call: () => defineBench(bad({ name: 'x', runs: () => [] })),
      error: ValueError,
      message: 'suite.runs',
    }),
    badInput({
      name: 'defineBench without run',
      call: () => defineBench(bad({ name: 'x' })),
      error: ValueError,
      message: 'suite.run: expected a function, received undefined',
    }),
  ]);
});

describe('runProgram', () => {
  itRejects([
    badInput({
      name: 'on the cpu backend',
      call: async () => {
        await tf.setBackend('cpu');
        return runProgram(bad({}), []);
      },
      error: BackendError,
      message: "runProgram: expected the webgpu backend, received 'cpu'",
    }),
  ]);
});

describe('testing subpath', () => {
  itRejects([
    badInput({
      name: 'expectAllClose with a misspelt option',
      call: () => expectAllClose([1], [1], bad({ atoll: 1 })),
      error: ValueError,
      message: 'opts.atoll: expected one of the known options (atol, rtol, message), received an unknown option (did you mean atol?)',
    }),
    badInput({
      name: 'expectAllClose with a negative tolerance',
      call: () => expectAllClose([1], [1], { rtol: -1 }),
      error: ValueError,
      message: 'rtol: expected a finite number ≥ 0, received -1',
    }),
    badInput({
      name: 'expectNoLeaks of a non-function',
      call: () => expectNoLeaks(bad('f')),
      error: ValueError,
      message: 'fn: expected a function, received "f"',
    }),
    badInput({
      name: 'describeBackends on an unknown backend',
      call: () => describeBackends('x', () => undefined, bad({ backends: ['tpu'] })),
      error: ValueError,
      message: 'opts.backends: expected an array of cpu, wasm, webgpu, received ["tpu"]',
    }),
    badInput({
      name: 'badInput with a misspelt key',
      call: () => badInput(bad({ name: 'x', call: () => 0, error: ValueError, mesage: 'x' })),
      error: ValueError,
      message: 'badInput.mesage',
    }),
    badInput({
      name: 'badInput without an error class',
      call: () => badInput(bad({ name: 'x', call: () => 0, message: 'x' })),
      error: ValueError,
      message: 'badInput(x).error: expected a function, received undefined',
    }),
    badInput({
      name: 'itRejects of one case',
      call: () => itRejects(bad(badInput({ name: 'x', call: () => 0, error: ValueError, message: 'x' }))),
      error: ValueError,
      message: 'cases: expected an array of badInput() cases',
    }),
  ]);
});
