import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { philoxUniform, type Tensor, TesseraError, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Camera, orbitCameras } from '../src/camera/index.js';
import { rasterize } from '../src/rasterize/index.js';
import { representativeCameras, TTTLRM, type TTTLRMConfig } from '../src/tttlrm/index.js';
import { disposeSample, makeSample, randomCameras, sceneAt } from '../scripts/data.js';
import { train } from '../scripts/train-loop.js';
import { TINY } from '../scripts/train.js';

// 16² views, 8² patches (4 tokens a view), width 32, 2 blocks, SH degree 1 (12 coefficients + 11 = 23 channels)
const CONFIG: Partial<TTTLRMConfig> = { ...TINY.config, farBound: 3 };
const cams = (n: number, elevation = 0.3): Camera[] => orbitCameras(n, { radius: 2, elevation, fov: 0.8, size: 16 });
const views = (n: number, seed: number): Tensor => philoxUniform([n, 16, 16, 3], { seed });

describeBackends('TTTLRM', (backend) => {
  let model: TTTLRM;
  beforeAll(() => {
    model = TTTLRM.fromConfig(CONFIG);
  });
  afterAll(() => model.dispose());

  it('decodes one Gaussian per virtual pixel with the activations in range', async () => {
    const input = cams(3);
    const virtual = cams(2, -0.2);
    const x = views(3, 1);
    const g = model.forward(x, input, { virtualViews: virtual });
    expect(g.count).toBe(2 * 16 * 16);
    expect(g.shDegree).toBe(1);
    expect(g.sh.shape).toEqual([512, 4, 3]);
    const [logScales, quats, logits, means] = await Promise.all([
      g.logScales.data(),
      g.quaternions.data(),
      g.opacityLogits.data(),
      g.means.data(),
    ]);
    for (const s of logScales) expect(s).toBeLessThanOrEqual(-1.2);
    for (const l of logits) {
      const o = 1 / (1 + Math.exp(-l));
      expect(o > 0 && o < 1).toBe(true);
    }
    for (let i = 0; i < g.count; i++) {
      const n = Math.hypot(quats[4 * i] as number, quats[4 * i + 1] as number, quats[4 * i + 2] as number, quats[4 * i + 3] as number);
      expect(Math.abs(n - 1)).toBeLessThan(1e-5);
    }
    // Gaussian i lies on the ray of its pixel: view v, patch (py, px), pixel (iy, ix) in the patch
    for (const i of [0, 37, 300, 511]) {
      const v = Math.floor(i / 256);
      const r = i % 256;
      const [patch, inner] = [Math.floor(r / 64), r % 64];
      const row = Math.floor(patch / 2) * 8 + Math.floor(inner / 8);
      const col = (patch % 2) * 8 + (inner % 8);
      const cam = virtual[v] as Camera;
      const o = cam.center();
      const p = [means[3 * i], means[3 * i + 1], means[3 * i + 2]] as number[];
      const depth = Math.hypot((p[0] as number) - o[0], (p[1] as number) - o[1], (p[2] as number) - o[2]);
      expect(depth).toBeGreaterThan(0);
      expect(depth).toBeLessThan(3);
      const proj = cam.project(p as [number, number, number]);
      expect(Math.abs(proj.u - (col + 0.5))).toBeLessThan(1e-3);
      expect(Math.abs(proj.v - (row + 0.5))).toBeLessThan(1e-3);
    }
    g.dispose();
    x.dispose();
  });

  it('reconstruct prunes by opacity and defaults the virtual views to the input cameras', async () => {
    const input = cams(2);
    const x = views(2, 2);
    const all = await model.reconstruct(x, input, { minOpacity: 0 });
    expect(all.count).toBe(2 * 256);
    const pruned = await model.reconstruct(x, input, { minOpacity: 0.12 });
    const opacities = Array.from(await all.opacityLogits.data(), (l) => 1 / (1 + Math.exp(-l)));
    expect(pruned.count).toBe(opacities.filter((o) => o >= 0.12).length);
    expect(pruned.count).toBeLessThan(all.count);
    tf.dispose(x);
    all.dispose();
    pruned.dispose();
  });

  it('one stream push equals reconstruct; a second push changes the scene', async () => {
    const input = cams(4);
    const x = views(4, 3);
    const one = await model.reconstruct(x, input, { minOpacity: 0 });
    const s = model.stream();
    s.push(x, input);
    const streamed = await s.gaussians({ minOpacity: 0 });
    for (const key of ['means', 'logScales', 'quaternions', 'opacityLogits', 'sh'] as const) {
      await expectAllClose(streamed[key], one[key], { atol: 1e-5, rtol: 1e-4 });
    }
    // two pushes are the authors' sequential ("ar") scan, not the one-chunk update: close to, but not equal to, it
    const s2 = model.stream();
    s2.push(tf.slice(x, [0, 0, 0, 0], [2, 16, 16, 3]), input.slice(0, 2));
    s2.push(tf.slice(x, [2, 0, 0, 0], [2, 16, 16, 3]), input.slice(2));
    expect(s2.cameras).toHaveLength(4);
    const two = await s2.gaussians({ minOpacity: 0 });
    expect(two.count).toBe(one.count);
    const diff = (await tf.max(tf.abs(tf.sub(two.sh, one.sh))).data())[0] as number;
    expect(diff).toBeGreaterThan(1e-6);
    tf.dispose(x);
    for (const g of [one, streamed, two]) g.dispose();
    s.dispose();
    s2.dispose();
  });

  // 100 pushes on cpu and wasm; 20 on webgpu, where lavapipe takes ~0.3 s a push
  it('keeps a constant tensor count over repeated pushes', async () => {
    const pushes = backend === 'webgpu' ? 20 : 100;
    const s = model.stream();
    const input = cams(1);
    const x = views(1, 4);
    s.push(x, input);
    const before = tf.memory().numTensors;
    for (let i = 0; i < pushes; i++) {
      s.push(x, input);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(tf.memory().numTensors).toBe(before);
    const g = await s.gaussians({ virtualViews: cams(1) });
    g.dispose();
    s.dispose();
    expect(tf.memory().numTensors).toBe(before - 3 * 2);
    x.dispose();
  });

  it('leaves no tensors behind in forward, reconstruct and a stream', async () => {
    const input = cams(2);
    const x = views(2, 5);
    await expectNoLeaks(async () => {
      model.forward(x, input).dispose();
      (await model.reconstruct(x, input)).dispose();
      const s = model.stream();
      s.push(x, input);
      (await s.gaussians()).dispose();
      s.dispose();
    });
    x.dispose();
  });

  it('gradients of a rendered loss reach every slow weight, finite and non-zero', async () => {
    const input = cams(2);
    const x = views(2, 6);
    const target = cams(1, 0.1)[0] as Camera;
    const { value, grads } = tf.variableGrads(() => {
      const g = model.forward(x, input);
      const r = rasterize(g, target, { background: [1, 1, 1] });
      return tf.add(tf.mean(tf.square(tf.sub(r.image, 0.5))), tf.mul(tf.mean(r.depth), 0.01)) as tf.Scalar;
    }, model.parameters());
    for (const [name, p] of model.namedParameters()) {
      const norm = (await tf.norm(grads[p.name] as Tensor).data())[0] as number;
      expect(Number.isFinite(norm) && norm > 0, `${name}: ${norm}`).toBe(true);
    }
    tf.dispose([x, value, ...Object.values(grads)]);
  });
});

describeBackends('TTTLRM config: virtualColour and scaleOffset', () => {
  it('virtual views that are the input cameras read the input images; a stream keeps them', async () => {
    const plain = TTTLRM.fromConfig(CONFIG);
    const coloured = TTTLRM.fromConfig({ ...CONFIG, virtualColour: true });
    const input = cams(3);
    const x = views(3, 7);
    const states = plain.encodeViews(x, input);
    const expected = plain.decodeViews(states, input, x);
    const g = coloured.forward(x, input);
    const without = plain.forward(x, input);
    for (const key of ['means', 'logScales', 'sh'] as const) await expectAllClose(g[key], expected[key], { atol: 1e-5, rtol: 1e-4 });
    // the colour channels change the decoded scene (same weights, same fast weights)
    expect((await tf.max(tf.abs(tf.sub(g.sh, without.sh))).data())[0]).toBeGreaterThan(1e-4);
    // explicit virtual views carry no colour, whatever the config
    const explicit = coloured.forward(x, input, { virtualViews: input });
    await expectAllClose(explicit.sh, without.sh, { atol: 1e-5, rtol: 1e-4 });
    // pushed in two batches, the stream's default virtual views see all pushed images, in order
    const [first, rest] = [tf.slice(x, [0, 0, 0, 0], [1, 16, 16, 3]), tf.slice(x, [1, 0, 0, 0], [2, 16, 16, 3])];
    const s = coloured.stream();
    s.push(first, input.slice(0, 1));
    s.push(rest, input.slice(1));
    const streamed = await s.gaussians({ minOpacity: 0 });
    const firstStates = plain.encodeViews(first, input.slice(0, 1));
    const twoPushStates = plain.encodeViews(rest, input.slice(1), firstStates);
    const twoPush = plain.decodeViews(twoPushStates, input, x);
    await expectAllClose(streamed.sh, twoPush.sh, { atol: 1e-5, rtol: 1e-4 });
    const before = tf.memory().numTensors;
    s.dispose();
    expect(tf.memory().numTensors).toBe(before - 3 * 2 - 1);
    tf.dispose([x, first, rest, ...states, ...firstStates, ...twoPushStates]);
    for (const r of [expected, g, without, explicit, streamed, twoPush]) r.dispose();
    plain.dispose();
    coloured.dispose();
  });

  it('virtualCount decodes from representative input cameras with their images, in forward, reconstruct and a stream', async () => {
    const coloured = TTTLRM.fromConfig({ ...CONFIG, virtualColour: true });
    const input = cams(6);
    const x = views(6, 11);
    const picked = representativeCameras(input, 3);
    expect(picked).toHaveLength(3);
    const states = coloured.encodeViews(x, input);
    const chosen = tf.gather(x, picked);
    const expected = coloured.decodeViews(
      states,
      picked.map((i) => input[i] as Camera),
      chosen,
    );
    const g = coloured.forward(x, input, { virtualCount: 3 });
    expect(g.count).toBe(3 * 256);
    for (const key of ['means', 'sh', 'opacityLogits'] as const) await expectAllClose(g[key], expected[key], { atol: 1e-5, rtol: 1e-4 });
    const r = await coloured.reconstruct(x, input, { virtualCount: 3, minOpacity: 0 });
    await expectAllClose(r.sh, expected.sh, { atol: 1e-5, rtol: 1e-4 });
    const s = coloured.stream();
    s.push(x, input);
    const streamed = await s.gaussians({ virtualCount: 3, minOpacity: 0 });
    await expectAllClose(streamed.sh, expected.sh, { atol: 1e-5, rtol: 1e-4 });
    // as many as the inputs, or more: every input camera, as without the option
    const every = coloured.forward(x, input, { virtualCount: 9 });
    const plain = coloured.forward(x, input);
    await expectAllClose(every.sh, plain.sh, { atol: 0, rtol: 0 });
    expect(() => coloured.forward(x, input, { virtualCount: 2, virtualViews: input })).toThrow(
      /opts.virtualCount: expected it without opts.virtualViews/,
    );
    expect(() => coloured.forward(x, input, { virtualCount: 0 })).toThrow(/opts.virtualCount/);
    await expect(coloured.reconstruct(x, input, { virtualCount: 1.5 })).rejects.toThrow(/opts.virtualCount/);
    s.dispose();
    tf.dispose([x, chosen, ...states]);
    for (const d of [expected, g, r, streamed, every, plain]) d.dispose();
    coloured.dispose();
  });

  it('config.maxVirtualViews caps the default virtual views, in forward, reconstruct and a stream; virtualCount overrides it', async () => {
    const capped = TTTLRM.fromConfig({ ...CONFIG, virtualColour: true, maxVirtualViews: 3 });
    const uncapped = TTTLRM.fromConfig({ ...CONFIG, virtualColour: true });
    const input = cams(6);
    const x = views(6, 13);
    expect([capped.virtualViewCount(6), capped.virtualViewCount(6, 5), capped.virtualViewCount(2), uncapped.virtualViewCount(6)]).toEqual([
      3, 5, 2, 6,
    ]);
    const expected = uncapped.forward(x, input, { virtualCount: 3 });
    const g = capped.forward(x, input);
    expect(g.count).toBe(3 * 256);
    await expectAllClose(g.sh, expected.sh, { atol: 0, rtol: 0 });
    const r = await capped.reconstruct(x, input, { minOpacity: 0 });
    await expectAllClose(r.means, expected.means, { atol: 0, rtol: 0 });
    const s = capped.stream();
    s.push(x, input);
    const streamed = await s.gaussians({ minOpacity: 0 });
    await expectAllClose(streamed.sh, expected.sh, { atol: 1e-5, rtol: 1e-4 });
    // an explicit count, or fewer inputs than the cap, decode every camera asked for
    const every = capped.forward(x, input, { virtualCount: 6 });
    const all = uncapped.forward(x, input);
    expect(every.count).toBe(6 * 256);
    await expectAllClose(every.sh, all.sh, { atol: 0, rtol: 0 });
    const two = tf.slice(x, [0, 0, 0, 0], [2, -1, -1, -1]);
    const fewer = capped.forward(two, input.slice(0, 2));
    expect(fewer.count).toBe(2 * 256);
    expect(() => TTTLRM.fromConfig({ ...CONFIG, maxVirtualViews: -1 })).toThrow(/config.maxVirtualViews: expected an integer ≥ 0/);
    expect(() => TTTLRM.fromConfig({ ...CONFIG, maxVirtualViews: 2.5 })).toThrow(/config.maxVirtualViews/);
    s.dispose();
    tf.dispose([x, two]);
    for (const d of [expected, g, r, streamed, every, all, fewer]) d.dispose();
    capped.dispose();
    uncapped.dispose();
  });

  it('scaleOffset shifts every unclamped log-scale, and the ceiling stays at −1.2', async () => {
    const base = TTTLRM.fromConfig(CONFIG);
    const shifted = TTTLRM.fromConfig({ ...CONFIG, scaleOffset: 4 });
    const input = cams(2);
    const x = views(2, 8);
    const a = base.forward(x, input);
    const b = shifted.forward(x, input);
    const [la, lb] = [await a.logScales.data(), await b.logScales.data()];
    let unclamped = 0;
    for (let i = 0; i < la.length; i++) {
      const raw = (la[i] as number) + 2.3;
      expect(lb[i]).toBeCloseTo(Math.min(raw - 4, -1.2), 4);
      if ((la[i] as number) < -1.2) unclamped++;
    }
    expect(unclamped).toBeGreaterThan(la.length / 2);
    tf.dispose(x);
    for (const m of [a, b, base, shifted]) m.dispose();
  });
});

describeBackends(
  'TTTLRM save / load',
  () => {
    it('round-trips the weights bit for bit and rejects a config mismatch', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tttlrm-'));
      const model = TTTLRM.fromConfig({ ...CONFIG, seed: 5 });
      await model.save(dir);
      const back = await TTTLRM.load(dir, { config: { ...CONFIG, seed: 5 } });
      expect(back.config).toEqual(model.config);
      const a = model.stateDict();
      const b = back.stateDict();
      expect(Object.keys(b)).toEqual(Object.keys(a));
      for (const key of Object.keys(a))
        expect(Buffer.from((b[key] as Tensor).dataSync().buffer)).toEqual(Buffer.from((a[key] as Tensor).dataSync().buffer));
      await expect(TTTLRM.load(dir, { config: { ...CONFIG, width: 64 } })).rejects.toThrow(/config mismatch: width is 32/);
      // weights that do not fit the stored config
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
      await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, depth: 3 }));
      await expect(TTTLRM.load(dir)).rejects.toBeInstanceOf(TesseraError);
      model.dispose();
      back.dispose();
      await rm(dir, { recursive: true });
    });
  },
  { backends: ['cpu'] },
);

describeBackends(
  'TTTLRM training (tiny)',
  () => {
    it('lowers the loss on a fixed scene and resumes from its checkpoint', async () => {
      const out = await mkdtemp(join(tmpdir(), 'tttlrm-train-'));
      const common = {
        out,
        config: TINY.config,
        inputViews: 2,
        targetViews: 1,
        sceneGaussians: 300,
        fixedSample: true,
        lr: 2e-3,
        saveEvery: 1000,
      };
      const log = await train({ ...common, steps: 8 });
      expect(log).toHaveLength(8);
      const first = log[0]?.loss as number;
      const last = log.at(-1)?.loss as number;
      expect(last).toBeLessThan(0.8 * first);
      const resumed = await train({ ...common, steps: 10, resume: true });
      expect(resumed.map((e) => e.step)).toEqual([9, 10]);
      expect((await readFile(join(out, 'log.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(10);
      // a new model decodes by default at most the views it trained on
      expect(JSON.parse(await readFile(join(out, 'weights', 'config.json'), 'utf8')).maxVirtualViews).toBe(2);
      await rm(out, { recursive: true });
    }, 30_000);

    it('starts a run from saved weights with fresh moments, carrying the step count and log on', async () => {
      const out = await mkdtemp(join(tmpdir(), 'tttlrm-init-'));
      const common = { config: TINY.config, inputViews: 2, targetViews: 1, sceneGaussians: 300, saveEvery: 1000 };
      await train({ ...common, out, steps: 3 });
      // the committed layout: weights beside state.json and train-log.jsonl
      const saved = join(out, 'weights');
      await writeFile(join(saved, 'state.json'), await readFile(join(out, 'state.json')));
      await writeFile(join(saved, 'train-log.jsonl'), await readFile(join(out, 'log.jsonl')));
      const next = join(out, 'next');
      // a config that would not fit the weights is not used: the saved one is
      const log = await train({ ...common, config: { ...TINY.config, width: 64 }, out: next, steps: 5, init: saved });
      expect(log.map((e) => e.step)).toEqual([4, 5]);
      expect((await readFile(join(next, 'log.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(5);
      expect(JSON.parse(await readFile(join(next, 'state.json'), 'utf8')).step).toBe(5);
      expect(JSON.parse(await readFile(join(next, 'weights', 'config.json'), 'utf8')).width).toBe(TINY.config.width);
      await expect(train({ ...common, out: join(out, 'x'), steps: 1, init: join(out, 'missing') })).rejects.toThrow();
      await rm(out, { recursive: true });
    }, 30_000);

    // the alpha (silhouette) term: a tiny run's first step, before any update, with two targets so the average counts
    const alphaRun = { config: TINY.config, inputViews: 2, targetViews: 2, sceneGaussians: 300, saveEvery: 1000, dataSeed: 3 };

    it('logs the alpha term as mean (alpha − alpha_gt)² over the targets, whatever its weight', async () => {
      const out = await mkdtemp(join(tmpdir(), 'tttlrm-alpha-'));
      const [entry] = await train({ ...alphaRun, out, steps: 1 });
      // independently: the untrained model's Gaussians and the true scene, each rendered at the target cameras, the
      // squared alpha difference averaged in float64 over every pixel of both targets
      const size = TINY.config.imageSize as number;
      const before = tf.memory().numTensors;
      const s = makeSample(3, 0, { size, inputViews: 2, targetViews: 2, sceneGaussians: 300, background: [1, 1, 1] });
      const scene = sceneAt(3, 0, 300).gaussians;
      const targets = randomCameras(4, size, 3 * 7919).slice(2);
      const model = new TTTLRM(TINY.config);
      const g = model.forward(s.inputs, s.inputCameras);
      let sum = 0;
      for (const cam of targets) {
        const pred = rasterize(g, cam, { background: [1, 1, 1] });
        const gt = rasterize(scene, cam, { background: [1, 1, 1] });
        const [a, b] = [await pred.alpha.data(), await gt.alpha.data()];
        for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
        tf.dispose([pred.image, pred.depth, pred.alpha, gt.image, gt.depth, gt.alpha]);
      }
      const expected = sum / (2 * size * size);
      expect(expected).toBeGreaterThan(1e-3);
      expect(entry?.alpha).toBeCloseTo(expected, 6);
      g.dispose();
      scene.dispose();
      model.dispose();
      disposeSample(s);
      // the sample's tensors, targetAlphas among them, are all disposed
      expect(tf.memory().numTensors).toBe(before);
      await rm(out, { recursive: true });
    }, 30_000);

    it('lambdaAlpha 0 leaves the run unchanged; λ > 0 adds exactly λ·alpha to the loss and changes the update', async () => {
      const out = await mkdtemp(join(tmpdir(), 'tttlrm-alpha-'));
      const run = (name: string, extra: { lambdaAlpha?: number }) => train({ ...alphaRun, out: join(out, name), steps: 2, ...extra });
      const none = await run('none', {});
      const zero = await run('zero', { lambdaAlpha: 0 });
      const half = await run('half', { lambdaAlpha: 0.5 });
      const strip = (log: typeof none) => log.map(({ seconds: _, ...e }) => e);
      expect(strip(zero)).toEqual(strip(none));
      const [n1, h1] = [none[0], half[0]] as [(typeof none)[0], (typeof none)[0]];
      // step 1 starts from the same weights: every logged term agrees, the loss differs by λ·alpha
      expect({ ...h1, seconds: 0, loss: 0 }).toEqual({ ...n1, seconds: 0, loss: 0 });
      expect(h1.loss - n1.loss).toBeCloseTo(0.5 * n1.alpha, 6);
      expect(n1.loss).toBeCloseTo(n1.mse + 0.01 * n1.depth + 0.01 * n1.opacity, 6);
      // the term is differentiated: the second step's weights, and so its alpha, differ
      expect(half[1]?.alpha).not.toBe(none[1]?.alpha);
      await rm(out, { recursive: true });
    }, 30_000);

    it('cycles through a list of input-view counts, one per step', async () => {
      const out = await mkdtemp(join(tmpdir(), 'tttlrm-views-'));
      const base = { out, config: TINY.config, targetViews: 1, sceneGaussians: 200, saveEvery: 1000 };
      const log = await train({ ...base, steps: 3, inputViews: [1, 2] });
      expect(log.map((e) => e.gaussians)).toEqual([256, 512, 256]);
      await expect(train({ ...base, steps: 1, inputViews: [] })).rejects.toThrow(/inputViews: expected at least one/);
      await expect(train({ ...base, steps: 1, inputViews: [2, 0] })).rejects.toThrow(/inputViews\[1\]/);
      await rm(out, { recursive: true });
    }, 30_000);
  },
  { backends: ['cpu'] },
);
