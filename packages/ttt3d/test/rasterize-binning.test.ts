import { describe, expect, it } from 'vitest';
import { philoxUniform, tf } from '@tessera/tensor-core';
import type { HostTensor, Tensor, TensorInfo, WebGPUProgram } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, recordPrograms } from '@tessera/tensor-core/testing';
import { Camera } from '../src/camera/index.js';
import type { Gaussians } from '../src/gaussians/index.js';
import { BINNING_LIMITS } from '../src/rasterize/binning-limits.js';
import { rasterizeBackwardHost, rasterizeHost } from '../src/rasterize/host.js';
import { rasterizeBackwardWebGPU, rasterizeWebGPU } from '../src/rasterize/kernel.js';
import { rasterizeBackwardOp, rasterizeOp } from '../src/rasterize/op.js';
import { type RasterAttrs, rasterAttrs } from '../src/rasterize/raster-attrs.js';
import { randomGaussians } from './cases.js';

/**
 * The programs the WebGPU glue runs for one call, recorded without a GPU (shapes are all it reads). The backward is
 * given the forward's binning, or with `rebin` none (as after a host forward), so that it bins again.
 */
function programsOf(kernel: 'forward' | 'backward', n: number, shK: number, attrs: RasterAttrs, rebin = false): string[] {
  const names: string[] = [];
  const info = (shape: number[]): TensorInfo => ({ dataId: {}, shape, dtype: 'float32' });
  const inputs = {
    means: info([n, 3]),
    logScales: info([n, 3]),
    quaternions: info([n, 4]),
    opacityLogits: info([n]),
    sh: info([n, shK, 3]),
    rendered: info([attrs.height, attrs.width, 5]),
    dy: info([attrs.height, attrs.width, 5]),
    pre: info(rebin ? [0] : [n, 16]),
    order: info(rebin ? [0] : [3 * n + 1]),
    keys: info(rebin ? [0] : [2 * attrs.capacity]),
  };
  const ctx = {
    inputs,
    attrs,
    run: (program: WebGPUProgram, _inputs: TensorInfo[], dtype: 'float32' | 'int32'): TensorInfo => {
      names.push(program.constructor.name);
      return { dataId: {}, shape: program.outputShape, dtype };
    },
    runOutputs: (): TensorInfo[] => {
      throw new Error('the rasteriser runs no multi-output program');
    },
    dispose: () => {},
  };
  if (kernel === 'forward') rasterizeWebGPU(ctx);
  else rasterizeBackwardWebGPU(ctx);
  return names;
}

/** Attributes of an n-Gaussian render at w×h with the default intersection capacity. */
function attrsAt(w: number, h: number, n: number): RasterAttrs {
  const cam = Camera.fromLookAt([0.4, -0.3, -4.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: w, height: h });
  const tiles = Math.ceil(w / 16) * Math.ceil(h / 16);
  return rasterAttrs(cam, w, h, 3, Math.min(n * tiles, Math.max(16 * n, 65536)));
}

/** Runs fn with the binning limits changed, restoring them after. */
function withLimits<T>(limits: Partial<typeof BINNING_LIMITS>, fn: () => T): T {
  const saved = { ...BINNING_LIMITS };
  Object.assign(BINNING_LIMITS, limits);
  try {
    return fn();
  } finally {
    Object.assign(BINNING_LIMITS, saved);
  }
}

describe('rasterize WebGPU dispatches', () => {
  // the counts of a GPU: on a CPU adapter (these tests' lavapipe) the depth order is counted only up to 1024
  const gpu = { rankSortMaxSoftware: BINNING_LIMITS.rankSortMax };

  // the fixed cost of a small render is the chain of dispatches (issue 15: 62 forward, 63 backward before; the
  // backward binned again, 6 programs, until it took the forward's binning)
  it('renders N ≤ 16k at ≤ 256 tiles in 5 forward and 2 backward programs', () => {
    for (const n of [100, 10_000, 16_384]) {
      expect(withLimits(gpu, () => programsOf('forward', n, 16, attrsAt(256, 256, n)))).toEqual([
        'PreprocessProgram',
        'DepthRankProgram',
        'DuplicateProgram',
        'RadixScatterProgram',
        'CompositeProgram',
      ]);
      expect(withLimits(gpu, () => programsOf('backward', n, 16, attrsAt(256, 256, n)))).toEqual([
        'CompositeBackwardProgram',
        'GaussianBackwardProgram',
      ]);
      // given no binning (a host forward), it bins again
      expect(withLimits(gpu, () => programsOf('backward', n, 16, attrsAt(256, 256, n), true))).toEqual([
        'PreprocessProgram',
        'DepthRankProgram',
        'DuplicateProgram',
        'RadixScatterProgram',
        'CompositeBackwardProgram',
        'GaussianBackwardProgram',
      ]);
    }
  });

  it('sorts larger scenes in 4 depth passes and one pass per byte of the tile ids', () => {
    const count = (n: number, w: number, h: number) => withLimits(gpu, () => programsOf('forward', n, 16, attrsAt(w, h, n))).length;
    // 100k: 4 × (histogram + scatter) + 2-dispatch order scan; 1M at 1080p: the histograms need scans too
    expect(count(100_000, 256, 256)).toBe(16);
    expect(count(1_000_000, 256, 256)).toBe(24);
    expect(count(1_000_000, 1920, 1080)).toBe(29);
    // the backward redoes only the tile ranges' search (binning again: 30)
    expect(withLimits(gpu, () => programsOf('backward', 1_000_000, 16, attrsAt(1920, 1080, 1_000_000)))).toEqual([
      'TileRangesProgram',
      'CompositeBackwardProgram',
      'GaussianBackwardProgram',
    ]);
    expect(withLimits(gpu, () => programsOf('backward', 1_000_000, 16, attrsAt(1920, 1080, 1_000_000), true)).length).toBe(30);
  });
});

/** A scene with ties: every third Gaussian shares a depth plane (the camera looks down +z from z = −4). */
function scene(): Gaussians {
  return randomGaussians({ count: 1100, shDegree: 1, seed: 33, extent: 1.2, logScaleMin: -3.6, logScaleMax: -2.2 });
}

describeBackends(
  'rasterize binning',
  () => {
    it('counts the programs it runs as the recorded glue does', async () => {
      const g = randomGaussians({ count: 30, shDegree: 1, seed: 4, extent: 1, logScaleMin: -2.5, logScaleMax: -1.5 });
      const attrs = attrsAt(40, 30, 30);
      const { result, programs } = recordPrograms(() => rasterizeOp({ ...g.toTensors() }, attrs));
      tf.dispose(result);
      expect(programs.map((p) => p.name)).toEqual(programsOf('forward', 30, 4, attrs));
      g.dispose();
    });

    // every program variant runs here: the counted and the radix depth order (histograms and scatters from `pre` and
    // from entries), scatter offsets fused or from a scan (single-block, fused and recursive scans), one tile pass
    // writing the ranges or two passes and a search; all must leave the same lists, so the same bits
    for (const [label, w, h] of [
      ['one tile pass', 64, 48],
      ['two tile passes', 272, 256],
    ] as const) {
      it(`renders and differentiates bit for bit alike on every binning path (${label})`, async () => {
        const g = scene();
        const means = tf.tidy(() => {
          const z = tf.round(tf.mul(tf.slice(g.means, [0, 2], [-1, 1]), 2));
          return tf.concat([tf.slice(g.means, [0, 0], [-1, 2]), tf.div(z, 2)], 1);
        });
        const cam = Camera.fromLookAt([0, 0, -4], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: w, height: h });
        const attrs = rasterAttrs(cam, w, h, 1, 65536);
        const inputs = { ...g.toTensors(), means };
        const dy = philoxUniform([h, w, 5], { seed: 6, low: -1, high: 1 });
        const runAll = (): [Tensor, Tensor] => {
          const [rendered, pre, order, keys] = rasterizeOp(inputs, attrs) as [Tensor, Tensor, Tensor, Tensor];
          const grads = rasterizeBackwardOp({ ...inputs, rendered, dy, pre, order, keys }, attrs);
          tf.dispose([pre, order, keys]);
          return [rendered, grads];
        };
        const counted = { rankSortMax: 2048, rankSortMaxSoftware: 2048 };
        const [image, grads] = withLimits(counted, runAll);
        // the backward given no binning (as after a host forward) bins again, to the same lists
        const none = tf.tidy(() => ({ pre: tf.zeros([0]), order: tf.zeros([0], 'int32'), keys: tf.zeros([0], 'int32') }));
        const rebinned = withLimits(counted, () => rasterizeBackwardOp({ ...inputs, rendered: image, dy, ...none }, attrs));
        await expectAllClose(rebinned, grads, { atol: 0, rtol: 0, message: 'backward binning again' });
        tf.dispose([rebinned, none.pre, none.order, none.keys]);
        // the host kernel (typed arrays, float64) follows the same rules: the lists are right, not only alike (a wrong
        // list is off by O(0.1); at 272×256 float32 rounding flips an α ≥ 1/255 test at a pixel or two, hence 1e-3)
        const host: Record<string, HostTensor> = {};
        for (const [name, t] of Object.entries({ ...inputs, rendered: image, dy })) {
          host[name] = { shape: t.shape, dtype: 'float32', values: (await t.data()) as Float32Array };
        }
        const hostInputs = host as Parameters<typeof rasterizeBackwardHost>[0];
        await expectAllClose(image, rasterizeHost(hostInputs, attrs).values as Float32Array, { atol: 1e-3 });
        const hostGrads = rasterizeBackwardHost(hostInputs, attrs).values as Float32Array;
        const scale = Math.max(...Array.from(hostGrads, Math.abs));
        await expectAllClose(grads, hostGrads, { atol: 1e-3 * scale });
        for (const limits of [
          { rankSortMax: 0, rankSortMaxSoftware: 0 },
          { rankSortMax: 0, rankSortMaxSoftware: 0, fusedPrefixMaxBlocks: 0 },
          { rankSortMax: 0, rankSortMaxSoftware: 0, fusedPrefixMaxBlocks: 0, scanFusedMaxBlocks: 1 },
        ]) {
          const [image2, grads2] = withLimits(limits, runAll);
          await expectAllClose(image2, image, { atol: 0, rtol: 0, message: `forward ${JSON.stringify(limits)}` });
          await expectAllClose(grads2, grads, { atol: 0, rtol: 0, message: `backward ${JSON.stringify(limits)}` });
          tf.dispose([image2, grads2]);
        }
        tf.dispose([image, grads, dy, means]);
        g.dispose();
      });
    }
  },
  { backends: ['webgpu'] },
);
