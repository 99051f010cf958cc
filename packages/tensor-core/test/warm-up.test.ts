import { expect, it } from 'vitest';
import { defineOp, flatGrid, scalarUniforms, type Tensor, tf, ValueError, type WebGPUProgram, warmUpWebGPU } from '../src/index.js';
import { describeBackends, expectAllClose } from '../src/testing/index.js';

/** y = x + c, under a shader key no other test uses, so its pipeline's state can be looked up. */
class ShiftProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'tessera_test_warm_up_shift';
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'c : f32,';
  size = true;
  constructor(shape: number[]) {
    this.outputShape = shape;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(shape, Math.ceil(shape.reduce((a, b) => a * b, 1) / 64)));
  }
  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      result[index] = x[index] + uniforms.c;
    }
  }`;
  }
}

const shift = defineOp<'x', { c: number }>({
  kernelName: 'TesseraTestWarmUpShift',
  inputs: ['x'],
  reference: ({ x }, { c }) => tf.add(x, c),
  webgpu: ({ inputs: { x }, attrs: { c }, run }) => run(new ShiftProgram(x.shape), [x], 'float32', scalarUniforms('float32', [c])),
});

function pipelineState(): 'absent' | 'pending' | 'ready' {
  const cache = (tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache;
  const key = Object.keys(cache).find((k) => k.startsWith('tessera_test_warm_up_shift'));
  if (key === undefined) return 'absent';
  return cache[key] instanceof Promise ? 'pending' : 'ready';
}

describeBackends(
  'warmUpWebGPU',
  () => {
    it('compiles the pipelines fn would run, dispatches nothing, frees what fn made; the op then runs', async () => {
      const x = tf.tensor1d([1, 2, 3]);
      expect(pipelineState()).toBe('absent');
      const before = tf.memory().numTensors;
      await warmUpWebGPU(() => shift({ x }, { c: 10 }));
      expect(pipelineState()).toBe('ready');
      expect(tf.memory().numTensors).toBe(before);
      expect(tf.env().getBool('WEBGPU_ENGINE_COMPILE_ONLY')).toBe(false);
      const y = shift({ x }, { c: 10 });
      await expectAllClose(y, [11, 12, 13]);
      tf.dispose([x, y]);
    });
  },
  { backends: ['webgpu'] },
);

describeBackends(
  'warmUpWebGPU elsewhere',
  () => {
    it('does nothing on host backends', async () => {
      const x = tf.tensor1d([1]);
      let calls = 0;
      await warmUpWebGPU(() => {
        calls++;
        return x;
      });
      expect(calls).toBe(0);
      x.dispose();
    });
  },
  { backends: ['cpu', 'wasm'] },
);

it('rejects what is not a function', async () => {
  await expect(warmUpWebGPU(3 as unknown as () => Tensor)).rejects.toThrow(ValueError);
  await expect(warmUpWebGPU(3 as unknown as () => Tensor)).rejects.toThrow('fn: expected a function, received 3');
});
