import { expect, it } from 'vitest';
import { defineOp, scalarUniforms, type Tensor, tf, type WebGPUOutputsProgram, warmUpWebGPU } from '../src/index.js';
import { describeBackends, expectAllClose, expectNoLeaks, recordPrograms } from '../src/testing/index.js';

/** x + c and x · c in one dispatch, 64 elements a workgroup. */
class ShiftScaleProgram implements WebGPUOutputsProgram {
  shaderKey = 'tessera_test_shift_scale';
  outputNames = ['shifted', 'scaled'];
  variableNames = ['x'];
  workgroupSize = 64;
  workgroups: number;
  uniforms = 'size : i32, c : f32,';
  constructor(size: number) {
    this.workgroups = Math.ceil(size / 64);
  }
  getUserCode(): string {
    return `
  fn main(workgroup : i32, local : i32) {
    let i = workgroup * 64 + local;
    if (i < uniforms.size) {
      shifted[i] = x[i] + uniforms.c;
      scaled[i] = x[i] * uniforms.c;
    }
  }`;
  }
}

/** ⌊x⌋ as int32 and x − ⌊x⌋ as float32: outputs of two dtypes. */
class SplitFloorProgram implements WebGPUOutputsProgram {
  shaderKey = 'tessera_test_split_floor';
  outputNames = ['whole', 'fraction'];
  variableNames = ['x'];
  workgroupSize = 64;
  workgroups: number;
  uniforms = 'size : i32,';
  constructor(size: number) {
    this.workgroups = Math.ceil(size / 64);
  }
  getUserCode(): string {
    return `
  fn main(workgroup : i32, local : i32) {
    let i = workgroup * 64 + local;
    if (i < uniforms.size) {
      whole[i] = i32(floor(x[i]));
      fraction[i] = x[i] - floor(x[i]);
    }
  }`;
  }
}

const splitFloor = defineOp<'x', Record<string, never>, Tensor[]>({
  kernelName: 'TesseraTestSplitFloor',
  inputs: ['x'],
  outputs: 2,
  reference: ({ x }) => [tf.cast(tf.floor(x), 'int32'), tf.sub(x, tf.floor(x))],
  webgpu: ({ inputs: { x }, runOutputs }) => {
    const size = x.shape.reduce((a, b) => a * b, 1);
    return runOutputs(
      new SplitFloorProgram(size),
      [x],
      [{ shape: x.shape, dtype: 'int32' }, { shape: x.shape }],
      scalarUniforms('int32', [size]),
    );
  },
});

const shiftScale = defineOp<'x', { c: number }, Tensor[]>({
  kernelName: 'TesseraTestShiftScale',
  inputs: ['x'],
  outputs: 2,
  reference: ({ x }, { c }) => [tf.add(x, c), tf.mul(x, c)],
  webgpu: ({ inputs: { x }, attrs: { c }, runOutputs }) =>
    runOutputs(
      new ShiftScaleProgram(x.shape.reduce((a, b) => a * b, 1)),
      [x],
      [{ shape: x.shape }, { shape: x.shape }],
      [...scalarUniforms('int32', [x.shape.reduce((a, b) => a * b, 1)]), ...scalarUniforms('float32', [c])],
    ),
});

describeBackends(
  'runOutputs (a program writing several tensors)',
  () => {
    it('writes each output, over several workgroups, as one recorded program, compiled ahead by warmUpWebGPU', async () => {
      const x = tf.range(0, 150, 1, 'float32').reshape([3, 50]);
      const call = () => shiftScale({ x }, { c: 3 });
      await warmUpWebGPU(call);
      const { result, programs } = recordPrograms(call);
      expect(programs.map((p) => p.name)).toEqual(['ShiftScaleProgram']);
      const [shifted, scaled] = result as [Tensor, Tensor];
      expect(shifted.shape).toEqual([3, 50]);
      await expectAllClose(shifted, tf.add(x, 3));
      await expectAllClose(scaled, tf.mul(x, 3));
      await expectNoLeaks(call);
      tf.dispose([x, shifted, scaled]);
    });

    it('writes int32 outputs beside float32 ones, each of its dtype', async () => {
      // the values and expectations from the host: a failed submit would leave them all zeros alike
      const values = Array.from({ length: 70 }, (_, i) => -3.75 + i * 0.125);
      const x = tf.tensor2d(values, [7, 10]);
      const [whole, fraction] = splitFloor({ x }, {}) as [Tensor, Tensor];
      expect(whole.dtype).toBe('int32');
      expect(fraction.dtype).toBe('float32');
      // int32 storage: the values, not float bits read as integers
      expect(Array.from(await whole.data())).toEqual(values.map(Math.floor));
      await expectAllClose(
        fraction,
        values.map((v) => v - Math.floor(v)),
      );
      tf.dispose([x, whole, fraction]);
    });

    it('is timed by tf.profile under its class name', async () => {
      const x = tf.ones([10]);
      const info = await tf.profile(() => {
        tf.dispose(shiftScale({ x }, { c: 2 }));
      });
      expect(info.kernels.map((k) => k.name)).toContain('TesseraTestShiftScale');
      x.dispose();
    });
  },
  { backends: ['webgpu'] },
);
