import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tensor, tf, yieldToEventLoop } from '@tessera/tensor-core';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { loadMambaLM, Mamba3, type Mamba3State, type MambaLMState, type MambaSsmConfig, saveCheckpoint } from '../src/index.js';
import { fixtureErrors, get, interopFixtures, read } from './interop-fixtures.js';

/*
 * Every fixture folder under test/fixtures/mamba (made by mamba_ssm itself on the GPU machine,
 * fixtures/make_mamba_fixtures.py) and test/fixtures/mamba-transcribed (fixtures/mamba_reference.py, a pure-torch
 * transcription of mamba_ssm) is checked the same way: a folder whose config.json has `mamba_layer` is one Mamba3
 * module, any other config.json a MambaLMHeadModel. Whichever folders exist are run; none at all is a failure.
 * test/fixtures/README.md says what made each folder.
 */
const TOL = { atol: 1e-4, rtol: 1e-4 };

/*
 * Against mamba_ssm itself the SSM is bf16, not float32: mamba3_siso_combined casts B, C, x, the trap and angle
 * projections and z to bfloat16 whatever the module's dtype, and its kernels keep the angle cumsum, the rotated q /
 * scaled k and the output in bf16 (fixtures/mamba_reference.py lists each cast). Its math is Tessera's: the float64
 * transcription with those casts redone (`python3 fixtures/mamba_reference.py --explain test/fixtures/mamba`) gives
 * mamba_ssm's final v and angle exactly, k to 1e-6, the SSM state to 5e-8, where plain float64 (= Tessera, 2e-7)
 * is 1e-2 away. What is left is bf16 rounding (8 significant bits: a rounding moves a value by up to 2^-8 of it),
 * and, where a rounding lands on a tie, the GPU's own approximations (tanh.approx, a TF32 dot) can flip it; so the
 * bound is a fraction of the tensor's largest |value|, about twice the largest seen (test/fixtures/README.md):
 *   output 2^-7 (seen 0.0044 of max), ssm state 2^-6 (0.0074), k 2^-5 (0.0162: the bf16 angle is off by up to
 *   2^-6 rad in [4, 2π), which turns a rotated pair by that much), logits 2^-7 (0.0037).
 * v is x rounded to bf16 (seen 0.0038 relative, bound 2^-8): rtol 2^-7. The angle, a bf16 in [0, 2π), is within
 * 2^-6 (seen 0.0157, the bound plus tanh.approx): 2^-5, mod 2π.
 */
const MAMBA_SSM = { output: 2 ** -7, ssm: 2 ** -6, k: 2 ** -5, logits: 2 ** -7, vRtol: 2 ** -7, angle: 2 ** -5 };
/** The folder made by mamba_ssm (bf16 inside); the other is float64. */
const REAL = 'mamba';

const { layers: LAYERS, models: MODELS } = interopFixtures([REAL, 'mamba-transcribed'], 'mamba_layer');
const disposeState = (s: Mamba3State | undefined) => tf.dispose(Object.values(s ?? {}));
const isReal = (f: { id: string }) => f.id.startsWith(`${REAL}/`);

/** Every element within `fraction` of max |expected| (the bf16 bound above). */
async function expectCloseOfMax(actual: Tensor, expected: Tensor, fraction: number, message: string): Promise<void> {
  const scale = (await tf.max(tf.abs(expected)).data())[0] as number;
  await expectAllClose(actual, expected, { atol: fraction * scale, rtol: 0, message: `${message} (bound ${fraction} of ${scale})` });
}

/** Angles in [0, 2π): the difference taken mod 2π, so 2π − ε and ε agree. */
async function expectAnglesClose(actual: Tensor, expected: Tensor, atol: number): Promise<void> {
  const wrapped = tf.tidy(() => {
    const d = tf.sub(actual, expected);
    return tf.sub(d, tf.mul(2 * Math.PI, tf.round(tf.div(d, 2 * Math.PI))));
  });
  await expectAllClose(wrapped, tf.zerosLike(wrapped), { atol, rtol: 0, message: 'final angle state (mod 2π)' });
  wrapped.dispose();
}

describe('interop-mamba fixtures', () => {
  it('finds at least one layer and one LM fixture', () => {
    expect(LAYERS.length).toBeGreaterThan(0);
    expect(MODELS.length).toBeGreaterThan(0);
  });
  it('mamba_ssm made every case it was given (no errors.json)', () => {
    expect(fixtureErrors(REAL)).toEqual([]);
  });
});

describeBackends('interop: mamba_ssm Mamba3 layers', () => {
  for (const f of LAYERS) {
    it(`${f.id}: loads mamba_ssm's state dict unchanged and matches its output and final state`, async () => {
      const layer = Mamba3.fromMambaConfig(f.config.kwargs as MambaSsmConfig);
      const weights = read(f.dir, 'model.safetensors');
      const inputs = read(f.dir, 'inputs.safetensors');
      const outputs = read(f.dir, 'outputs.safetensors');
      try {
        layer.loadStateDict(weights);
        const x = get(inputs, 'x');
        const { output, finalState } = layer.forward(x);
        if (isReal(f)) {
          await expectCloseOfMax(output, get(outputs, 'output'), MAMBA_SSM.output, 'output');
          await expectCloseOfMax(finalState.ssm, get(outputs, 'final_ssm'), MAMBA_SSM.ssm, 'final ssm state');
          await expectCloseOfMax(finalState.k, get(outputs, 'final_k'), MAMBA_SSM.k, 'final k state');
          await expectAllClose(finalState.v, get(outputs, 'final_v'), { atol: 0, rtol: MAMBA_SSM.vRtol, message: 'final v state' });
          await expectAnglesClose(finalState.angle, get(outputs, 'final_angle'), MAMBA_SSM.angle);
        } else {
          await expectAllClose(output, get(outputs, 'output'), { ...TOL, message: 'output' });
          await expectAllClose(finalState.ssm, get(outputs, 'final_ssm'), { ...TOL, message: 'final ssm state' });
          await expectAllClose(finalState.k, get(outputs, 'final_k'), { ...TOL, message: 'final k state' });
          await expectAllClose(finalState.v, get(outputs, 'final_v'), { ...TOL, message: 'final v state' });
          await expectAnglesClose(finalState.angle, get(outputs, 'final_angle'), TOL.atol);
        }
        tf.dispose(output);
        disposeState(finalState);
        // step equals forward token by token (the first 6 tokens of sequence 0)
        const ref = layer.forward(tf.slice(x, [0, 0, 0], [1, 6, -1]));
        let st: Mamba3State | undefined;
        for (let t = 0; t < 6; t++) {
          const xt = tf.reshape(tf.slice(x, [0, t, 0], [1, 1, -1]), [1, -1]);
          const r = layer.step(xt, { initialState: st });
          const want = tf.reshape(tf.slice(ref.output, [0, t, 0], [1, 1, -1]), [1, -1]);
          await expectAllClose(r.output, want, { ...TOL, message: `step ${t}` });
          disposeState(st);
          st = r.finalState;
          tf.dispose([xt, want, r.output]);
        }
        tf.dispose(ref.output);
        disposeState(ref.finalState);
        disposeState(st);
      } finally {
        layer.dispose();
        tf.dispose([...Object.values(weights), ...Object.values(inputs), ...Object.values(outputs)]);
      }
    });
  }
});

describeBackends('interop: mamba_ssm MambaLMHeadModel', () => {
  for (const f of MODELS) {
    it(`${f.id}: loadMambaLM gives mamba_ssm's logits and its 32 greedy ids; step equals forward`, async () => {
      const model = await loadMambaLM(f.dir);
      const inputs = read(f.dir, 'inputs.safetensors');
      const outputs = read(f.dir, 'outputs.safetensors');
      try {
        const ids = get(inputs, 'input_ids');
        const logits = model.forward(ids);
        if (isReal(f)) await expectCloseOfMax(logits, get(outputs, 'logits'), MAMBA_SSM.logits, 'logits');
        else await expectAllClose(logits, get(outputs, 'logits'), { ...TOL, message: 'logits' });
        const expected = Array.from(await get(outputs, 'greedy_ids').data());
        const promptLength = 8;
        const prompt = Array.from((await tf.slice(ids, [0, 0], [1, promptLength]).data()) as Int32Array);
        let state: MambaLMState | undefined;
        let next = -1;
        const got: number[] = [];
        const stepLogits: Tensor[] = [];
        for (let t = 0; t < promptLength + expected.length - 1; t++) {
          const id = t < promptLength ? (prompt[t] as number) : next;
          const r = model.step(id, state);
          for (const s of state ?? []) disposeState(s);
          state = r.state;
          if (t < promptLength) stepLogits.push(r.logits);
          if (t >= promptLength - 1) {
            next = (await tf.argMax(r.logits, -1).data())[0] as number;
            got.push(next);
          }
          if (t >= promptLength) r.logits.dispose();
          if (t % 4 === 3) await yieldToEventLoop();
        }
        expect(got).toEqual(expected);
        const stepped = tf.stack(stepLogits, 1);
        await expectAllClose(stepped, tf.slice(logits, [0, 0, 0], [1, promptLength, -1]), { ...TOL, message: 'step vs forward' });
        tf.dispose([logits, stepped, ...stepLogits]);
        for (const s of state ?? []) disposeState(s);
      } finally {
        model.dispose();
        tf.dispose([...Object.values(inputs), ...Object.values(outputs)]);
      }
    });
  }
});

describe('interop-mamba: saveCheckpoint round trip', () => {
  for (const f of MODELS) {
    it(`${f.id}: export → reload is bit for bit, with mamba_ssm's names`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-mamba-'));
      const model = await loadMambaLM(f.dir);
      try {
        await saveCheckpoint(model, join(dir, 'out'));
        const written = read(join(dir, 'out'), 'model.safetensors');
        const original = read(f.dir, 'model.safetensors');
        // mamba_ssm's state_dict() names, lm_head.weight included when tied
        expect(Object.keys(written).sort()).toEqual(Object.keys(original).sort());
        for (const [name, t] of Object.entries(original)) {
          expect(Array.from(await get(written, name).data()), name).toEqual(Array.from(await t.data()));
        }
        const again = await loadMambaLM(join(dir, 'out'));
        try {
          const a = model.stateDict();
          const b = again.stateDict();
          for (const [name, t] of Object.entries(a)) {
            expect(Array.from(await get(b, name).data()), name).toEqual(Array.from(await t.data()));
          }
          expect(again.config).toEqual(model.config);
        } finally {
          again.dispose();
          tf.dispose([...Object.values(written), ...Object.values(original)]);
        }
      } finally {
        model.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
