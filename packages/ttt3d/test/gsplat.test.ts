import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import {
  bunny,
  Camera,
  Gaussians,
  gaussiansFromGsplat,
  gaussiansToGsplat,
  loadGsplatCheckpoint,
  rasterize,
  saveGsplatCheckpoint,
} from '../src/index.js';

async function bits(t: tf.Tensor): Promise<number[]> {
  return Array.from(new Uint32Array((await t.data<'float32'>()).slice().buffer));
}

describe('gsplat checkpoints', () => {
  it('save → load is bit for bit, with gsplat names and layouts (SH degree 3)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttt3d-gsplat-'));
    const { gaussians: base } = bunny({ n: 200, seed: 3 });
    // degree 3 with random rest coefficients and unnormalised quaternions
    const g = new Gaussians({
      means: tf.clone(base.means),
      logScales: tf.clone(base.logScales),
      quaternions: tf.mul(tf.randomNormal([200, 4], 0, 1, 'float32', 1), 2.5),
      opacityLogits: tf.clone(base.opacityLogits),
      sh: tf.concat([tf.slice(base.sh, [0, 0, 0], [-1, 1, -1]), tf.randomNormal([200, 15, 3], 0, 0.3, 'float32', 2)], 1),
    });
    base.dispose();
    try {
      const path = join(dir, 'splats.safetensors');
      await saveGsplatCheckpoint(g, path);
      const raw = readSafetensors(readFileSync(path));
      expect(Object.keys(raw).sort()).toEqual(['means', 'opacities', 'quats', 'scales', 'sh0', 'shN']);
      expect(raw.sh0?.shape).toEqual([200, 1, 3]);
      expect(raw.shN?.shape).toEqual([200, 15, 3]);
      expect(raw.opacities?.shape).toEqual([200]);
      expect(await bits(raw.quats as tf.Tensor)).toEqual(await bits(g.quaternions)); // w, x, y, z as stored
      tf.dispose(Object.values(raw));
      for (const back of [await loadGsplatCheckpoint(path), await loadGsplatCheckpoint(readFileSync(path))]) {
        expect(back.shDegree).toBe(3);
        for (const f of ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const) {
          expect(await bits(back[f]), f).toEqual(await bits(g[f]));
        }
        back.dispose();
      }
    } finally {
      g.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('degree 0: shN is [N, 0, 3] on export and may be absent or empty on import', async () => {
    const g = new Gaussians({
      means: tf.zeros([2, 3]),
      logScales: tf.zeros([2, 3]),
      quaternions: tf.tensor2d([
        [1, 0, 0, 0],
        [1, 0, 0, 0],
      ]),
      opacityLogits: tf.zeros([2]),
      sh: tf.ones([2, 1, 3]),
    });
    const dict = gaussiansToGsplat(g);
    expect(dict.shN.shape).toEqual([2, 0, 3]);
    const a = gaussiansFromGsplat(dict);
    const { shN, ...noRest } = dict;
    const b = gaussiansFromGsplat(noRest);
    expect([a.shDegree, b.shDegree]).toEqual([0, 0]);
    tf.dispose([...Object.values(dict), ...Object.values(a.toTensors()), ...Object.values(b.toTensors())]);
    g.dispose();
    shN.dispose();
  });
});

describeBackends('gsplat → Gaussians renders as constructing them directly', () => {
  it('a hand-made 2-Gaussian splats dict (wxyz, log scales, logits, sh0/shN)', async () => {
    const wxyz = [
      [0.9, 0.1, -0.3, 0.2], // unnormalised, as gsplat stores them
      [2, 0, 0, 1],
    ];
    const rest = Array.from({ length: 2 * 3 * 3 }, (_, i) => 0.1 * Math.sin(i + 1));
    const dict = {
      means: tf.tensor2d([
        [0.1, 0, 0],
        [-0.2, 0.1, 0.3],
      ]),
      scales: tf.tensor2d([
        [-1.5, -2, -1.8],
        [-1.2, -1.6, -2.2],
      ]),
      quats: tf.tensor2d(wxyz),
      opacities: tf.tensor1d([1.2, -0.4]),
      sh0: tf.tensor3d([[[0.8, -0.2, 0.1]], [[-0.5, 0.6, 0.9]]]),
      shN: tf.tensor3d(rest, [2, 3, 3]),
    };
    const direct = new Gaussians({
      means: tf.clone(dict.means),
      logScales: tf.clone(dict.scales),
      quaternions: tf.tensor2d(wxyz),
      opacityLogits: tf.clone(dict.opacities),
      sh: tf.concat([dict.sh0, dict.shN], 1),
    });
    const loaded = gaussiansFromGsplat(dict);
    const cam = Camera.fromLookAt([0, 0, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 24, height: 20 });
    const a = rasterize(direct, cam);
    const b = rasterize(loaded, cam);
    try {
      await expectAllClose(b.image, a.image, { atol: 0, rtol: 0 });
      expect(Math.max(...(await a.alpha.data()))).toBeGreaterThan(0.1); // the Gaussians are in view
    } finally {
      tf.dispose([...Object.values(a), ...Object.values(b), ...Object.values(dict)]);
      direct.dispose();
      loaded.dispose();
    }
  });
});
