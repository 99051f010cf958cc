import { AbortError, Module, philoxUniform, type Tensor, TesseraError, tf, ValueError, type Variable } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import {
  distill,
  flowMatchingLoss,
  flowSample,
  flowSampleSpan,
  SparseAttention,
  type VelocityPrediction,
  velocityDistillationLoss,
} from '../src/index.js';

const C = 4;

/** u(x_t, t) = x_t W + t·b: a velocity model whose optimum is known (the teacher's W and b). */
class LinearVelocity extends Module {
  readonly w: Variable;
  readonly b: Variable;
  constructor(seed: number, zero = false) {
    super();
    this.w = this.param('w', zero ? tf.zeros([C, C]) : philoxUniform([C, C], { seed, low: -1, high: 1 }));
    this.b = this.param('b', zero ? tf.zeros([C]) : philoxUniform([C], { seed: seed + 1, low: -1, high: 1 }));
  }
  velocity(xt: Tensor, t: Tensor): VelocityPrediction {
    return tf.tidy(() => {
      const [b, l] = xt.shape as [number, number, number];
      const lin = tf.reshape(tf.matMul(tf.reshape(xt, [b * l, C]), this.w), [b, l, C]);
      return { velocity: tf.add(lin, tf.mul(tf.reshape(t, [b, 1, 1]), this.b)) };
    });
  }
}

/** x + attention(x): the shape of a DiT's attention residual, teacher dense and student sparse. */
class AttentionVelocity {
  constructor(readonly layer: SparseAttention) {}
  velocity(xt: Tensor): VelocityPrediction {
    return tf.tidy(() => {
      const r = this.layer.forward(xt);
      return { velocity: tf.add(xt, r.output), sparsity: r.sparsity };
    });
  }
  parameters(): Variable[] {
    return this.layer.parameters();
  }
}

const data = (b: number, l: number, seed: number) => philoxUniform([b, l, C], { seed, low: -1, high: 1 });

describeBackends('flow matching and velocity distillation', () => {
  it('draws x_t = (1 − t)·x0 + t·ε with t uniform in [0, 1) and ε standard normal, reproducibly', async () => {
    const x0 = data(8, 500, 3);
    const s = flowSample(x0, 7, 100);
    const again = flowSample(x0, 7, 100);
    const moved = flowSample(x0, 7, 100 + flowSampleSpan(x0.shape));
    const t = (await s.t.data()) as Float32Array;
    expect(Math.min(...t)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...t)).toBeLessThan(1);
    const expected = tf.add(tf.mul(tf.sub(1, tf.reshape(s.t, [8, 1, 1])), x0), tf.mul(tf.reshape(s.t, [8, 1, 1]), s.noise));
    await expectAllClose(s.xt, expected, { atol: 1e-6 });
    await expectAllClose(again.xt, s.xt, { atol: 0 });
    const noise = (await s.noise.data()) as Float32Array;
    const mean = noise.reduce((a, v) => a + v, 0) / noise.length;
    const variance = noise.reduce((a, v) => a + (v - mean) ** 2, 0) / noise.length;
    // 16 000 draws: the standard error of the mean is 0.008, of the variance 0.011
    expect(Math.abs(mean)).toBeLessThan(0.04);
    expect(Math.abs(variance - 1)).toBeLessThan(0.06);
    expect(((await moved.t.data()) as Float32Array)[0]).not.toBe(t[0]);
    tf.dispose([x0, s, again, moved, expected]);
  });

  it('flowMatchingLoss is the mean squared error to ε − x0; velocityDistillationLoss to the teacher, which gets no gradient', async () => {
    const teacher = new LinearVelocity(1);
    const student = new LinearVelocity(5);
    const x0 = data(3, 6, 9);
    const { t, noise, xt } = flowSample(x0, 4, 0);
    const fm = flowMatchingLoss(student, x0, { seed: 4 });
    const pred = student.velocity(xt, t).velocity;
    const fmExpected = tf.mean(tf.square(tf.sub(pred, tf.sub(noise, x0))));
    await expectAllClose(fm.loss, fmExpected, { atol: 1e-6, rtol: 1e-5 });
    const vd = velocityDistillationLoss(teacher, student, x0, { seed: 4 });
    const vdExpected = tf.mean(tf.square(tf.sub(pred, teacher.velocity(xt, t).velocity)));
    await expectAllClose(vd.loss, vdExpected, { atol: 1e-6, rtol: 1e-5 });
    await expectAllClose(vd.sparsity, 0, { atol: 0 });
    const { grads, value } = tf.variableGrads(
      () => velocityDistillationLoss(teacher, student, x0, { seed: 4 }).loss as tf.Scalar,
      [...teacher.parameters(), ...student.parameters()],
    );
    expect(Object.keys(grads).sort()).toEqual(
      student
        .parameters()
        .map((v) => v.name)
        .sort(),
    );
    tf.dispose([x0, t, noise, xt, fm, pred, fmExpected, vd, vdExpected, value, grads]);
    teacher.dispose();
    student.dispose();
  });

  it('distill drives a student to its teacher: the loss falls 100-fold and the weights match', async () => {
    const teacher = new LinearVelocity(1);
    const student = new LinearVelocity(0, true);
    const optimizer = tf.train.adam(0.05);
    const steps: number[] = [];
    const report = await distill({
      teacher,
      student,
      batches: (step) => data(8, 16, 1000 + step),
      steps: 150,
      optimizer,
      seed: 3,
      onStep: ({ step }) => void steps.push(step),
    });
    expect(steps).toEqual([...Array(150).keys()]);
    expect(report.losses).toHaveLength(150);
    expect(report.sparsity.every((s) => s === 0)).toBe(true);
    expect(report.losses[149]).toBeLessThan((report.losses[0] as number) / 100);
    await expectAllClose(student.w, teacher.w, { atol: 0.05 });
    await expectAllClose(student.b, teacher.b, { atol: 0.05 });
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('distills a sparse-attention student toward its dense teacher, reporting the sparsity it reached', async () => {
    const opts = { dModel: 8, heads: 2, bq: 16, bk: 16, topK: 0.25, topP: 0.3, seed: 11 } as const;
    const teacherLayer = new SparseAttention({ ...opts, mode: 'dense' });
    const studentLayer = new SparseAttention({ ...opts, mode: 'sparse' });
    studentLayer.loadStateDict(teacherLayer.stateDict());
    const teacher = new AttentionVelocity(teacherLayer);
    const student = new AttentionVelocity(studentLayer);
    const x0 = tf.tidy(() => tf.concat([data(2, 64, 21), data(2, 64, 22)], 2));
    const held = () => velocityDistillationLoss(teacher, student, x0, { seed: 99 });
    const before = held();
    const optimizer = tf.train.adam(0.01);
    const report = await distill({ teacher, student, batches: [x0], steps: 12, optimizer, seed: 5 });
    const after = held();
    const [b, a] = [(await before.loss.data())[0] as number, (await after.loss.data())[0] as number];
    expect(b).toBeGreaterThan(0);
    expect(a).toBeLessThan(b * 0.8);
    for (const s of report.sparsity) {
      expect(s).toBeGreaterThan(0.2);
      expect(s).toBeLessThan(1);
    }
    // the teacher is unchanged by the student's updates, although they started from shared data
    const fresh = new SparseAttention({ ...opts, mode: 'dense' });
    for (const [name, value] of Object.entries(fresh.stateDict()))
      await expectAllClose(teacherLayer.stateDict()[name] as Tensor, value, { atol: 0 });
    tf.dispose([x0, before, after]);
    optimizer.dispose();
    for (const m of [teacherLayer, studentLayer, fresh]) m.dispose();
  });

  it('leaks no tensors, takes ownership of generated batches and leaves an array of batches to its caller', async () => {
    const teacher = new LinearVelocity(1);
    const student = new LinearVelocity(2);
    const optimizer = tf.train.sgd(0.01);
    const fixed = [data(2, 3, 1), data(2, 3, 2)];
    async function* generated(): AsyncGenerator<Tensor> {
      for (let i = 0; ; i++) yield data(2, 3, 50 + i);
    }
    await expectNoLeaks(async () => {
      await distill({ teacher, student, batches: fixed, steps: 5, optimizer });
      await distill({ teacher, student, batches: (step) => data(2, 3, step), steps: 3, optimizer });
      await distill({ teacher, student, batches: generated(), steps: 3, optimizer });
    });
    expect(fixed.every((x) => !x.isDisposed)).toBe(true);
    tf.dispose(fixed);
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
  });

  it('stops on a non-finite loss before updating, and on an abort between steps', async () => {
    const teacher = new LinearVelocity(1);
    const student = new LinearVelocity(2);
    const optimizer = tf.train.sgd(0.01);
    const w = await student.w.data();
    const bad = tf.fill([2, 3, C], Number.NaN);
    const before = tf.memory().numTensors;
    await expect(distill({ teacher, student, batches: [bad], steps: 2, optimizer })).rejects.toThrow(
      new TesseraError("loss: expected a finite value at step 0, received NaN (the student's weights were not updated)"),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(await student.w.data()).toEqual(w);
    const controller = new AbortController();
    const seen: number[] = [];
    const run = distill({
      teacher,
      student,
      batches: (step) => data(2, 3, step),
      steps: 10,
      optimizer,
      signal: controller.signal,
      onStep: ({ step }) => {
        seen.push(step);
        if (step === 2) controller.abort(new Error('enough'));
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(seen).toEqual([0, 1, 2]);
    expect(tf.memory().numTensors).toBe(before);
    const ended = (function* () {
      yield data(2, 3, 1);
    })();
    await expect(distill({ teacher, student, batches: ended, steps: 3, optimizer })).rejects.toThrow(
      new ValueError('opts.batches: expected 3 batches, received an iterable that ended after 1'),
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(bad);
    optimizer.dispose();
    teacher.dispose();
    student.dispose();
  });
});
