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
