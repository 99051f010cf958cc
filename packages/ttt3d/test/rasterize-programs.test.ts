import { expect, it } from 'vitest';
import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, recordPrograms } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import { Gaussians } from '../src/gaussians/index.js';
import { rasterize } from '../src/rasterize/index.js';
import { randomGaussians } from './cases.js';

const FIELDS = ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const;
type Fields = [Tensor, Tensor, Tensor, Tensor, Tensor];

/** 30 Gaussians at 64×48 (12 tiles: one tile pass, the counted depth order), and a loss of all three outputs. */
function setup() {
  const g = randomGaussians({ count: 30, shDegree: 1, seed: 8, extent: 1, logScaleMin: -2.5, logScaleMax: -1.2 });
  const cam = Camera.fromLookAt([0.3, -0.2, -3.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 64, height: 48 });
  const wi = philoxUniform([48, 64, 3], { seed: 1 });
  const wd = philoxUniform([48, 64], { seed: 2 });
  const wa = philoxUniform([48, 64], { seed: 3 });
  const render = (...f: Fields) =>
    rasterize(new Gaussians({ means: f[0], logScales: f[1], quaternions: f[2], opacityLogits: f[3], sh: f[4] }), cam, {
      background: [0.2, 0.1, 0.4],
    });
  const loss = (r: ReturnType<typeof render>): Tensor =>
    tf.addN([tf.sum(tf.mul(r.image, wi)), tf.sum(tf.mul(r.depth, wd)), tf.sum(tf.mul(r.alpha, wa))]);
  const fields = FIELDS.map((f) => g[f]) as Fields;
  const dispose = (): void => {
    g.dispose();
    tf.dispose([wi, wd, wa]);
  };
  return { render, loss, fields, dispose };
}

describeBackends('rasterize memory', () => {
  it('frees the forward binning at once with no tape on', () => {
    const s = setup();
    const before = tf.memory().numTensors;
    const out = s.render(...s.fields);
    // image, depth and alpha: nothing else survives the call
    expect(tf.memory().numTensors - before).toBe(3);
    tf.dispose(out);
    expect(tf.memory().numTensors).toBe(before);
    s.dispose();
  });

  it('frees the binning a tape saved once its backward has run', () => {
    const s = setup();
    const before = tf.memory().numTensors;
    const grads = tf.grads((...f: Tensor[]) => s.loss(s.render(...(f as Fields))))(s.fields);
    expect(grads).toHaveLength(5);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    s.dispose();
  });
});

describeBackends(
  'rasterize programs',
  () => {
    // counted with recordPrograms: the rasteriser forward under a tape, then everything tf.grads runs after the loss
    // (the loss' own backward included: 6 programs). Before: 11 and 26 (the outputs by tfjs slice, mul, add and sub,
    // and their gradients; the backward binning again), 11 and 22 (taking the forward's binning)
    it('runs a forward in 8 programs and the backward of a loss of all three outputs in 18', () => {
      const s = setup();
      let forward: string[] = [];
      let loss = 0;
      const { programs, result } = recordPrograms(() =>
        tf.grads((...f: Tensor[]) => {
          const r = recordPrograms(() => s.render(...(f as Fields)));
          forward = r.programs.map((p) => p.name);
          const l = recordPrograms(() => s.loss(r.result));
          loss = l.programs.length;
          return l.result;
        })(s.fields),
      );
      tf.dispose(result);
      expect(forward).toEqual([
        'PreprocessProgram',
        'DepthRankProgram',
        'DuplicateProgram',
        'RadixScatterProgram',
        'CompositeProgram',
        'RenderOutputProgram',
        'RenderOutputProgram',
        'RenderOutputProgram',
      ]);
      const backward = programs.slice(forward.length + loss).map((p) => p.name);
      expect(backward).toHaveLength(18);
      expect(backward).not.toContain('PreprocessProgram');
      expect(backward).not.toContain('PadProgram');
      // one program per output the loss used, added by tfjs (2 BinaryOpPrograms)
      expect(backward.filter((name) => name === 'RenderOutputGradProgram')).toHaveLength(3);
      expect(backward.filter((name) => name.endsWith('BackwardProgram'))).toEqual(['CompositeBackwardProgram', 'GaussianBackwardProgram']);
      s.dispose();
    });
  },
  { backends: ['webgpu'] },
);
