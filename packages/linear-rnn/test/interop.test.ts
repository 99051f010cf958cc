import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tensor, tf, yieldToEventLoop } from '@tessera/tensor-core';
import { describeBackends, expectAllClose } from '@tessera/tensor-core/testing';
import { describe, expect, it } from 'vitest';
import { type CausalLMState, DeltaNet, type DeltaRuleLayer, GatedDeltaNet, loadCausalLM, saveCheckpoint } from '../src/index.js';
import { type Fixture, fixtureErrors, get, interopFixtures, read } from './interop-fixtures.js';

/*
 * Every fixture folder under test/fixtures/fla (made by fla itself on the GPU machine, fixtures/make_fla_fixtures.py)
 * and test/fixtures/fla-transcribed (fixtures/fla_reference.py, a pure-torch transcription of fla) is checked the
 * same way: a folder with config.json { fla_layer, kwargs, state_layout } is one layer, any other config.json an
 * fla causal LM. Whichever folders exist are run; none at all is a failure. test/fixtures/README.md says what made
 * each folder. One bound for both: fla's fp32 path (fused_recurrent, fp32 fused norms) is float32 throughout; its
 * kernels are within 2.3e-5 of the float64 transcription (largest: lm-delta_net's logits; layers within 4.3e-6).
 */
const TOL = { atol: 1e-4, rtol: 1e-4 };

const { layers: LAYERS, models: MODELS } = interopFixtures(['fla', 'fla-transcribed'], 'fla_layer');

describe('interop fixtures', () => {
  it('finds at least one layer and one LM fixture', () => {
    expect(LAYERS.length).toBeGreaterThan(0);
    expect(MODELS.length).toBeGreaterThan(0);
  });
  it('fla made every case it was given (no errors.json)', () => {
    expect(fixtureErrors('fla')).toEqual([]);
  });
});

function buildLayer(f: Fixture): DeltaRuleLayer {
  const kwargs = f.config.kwargs as Record<string, never>;
  return f.config.fla_layer === 'DeltaNet' ? DeltaNet.fromFlaConfig(kwargs) : GatedDeltaNet.fromFlaConfig(kwargs);
}

describeBackends('interop: fla layers', () => {
  for (const f of LAYERS) {
    it(`${f.id}: loads fla's state dict unchanged and matches its output and final state`, async () => {
      const layer = buildLayer(f);
      const weights = read(f.dir, 'model.safetensors');
      const inputs = read(f.dir, 'inputs.safetensors');
      const outputs = read(f.dir, 'outputs.safetensors');
      try {
        layer.loadStateDict(weights);
        const { output, finalState } = layer.forward(get(inputs, 'x'));
        await expectAllClose(output, get(outputs, 'output'), { ...TOL, message: 'output' });
        // fla's DeltaNet state is [B, H, K, V]; its GatedDeltaNet kernel stores [B, HV, V, K] (state_v_first)
        const state = f.config.state_layout === 'BHVK' ? tf.transpose(finalState.recurrent, [0, 1, 3, 2]) : finalState.recurrent;
        await expectAllClose(state, get(outputs, 'final_state'), { ...TOL, message: 'final state' });
        tf.dispose([output, state, ...Object.values(finalState)]);
        // step equals forward token by token (the first 6 tokens of sequence 0)
        const x = get(inputs, 'x');
        const ref = layer.forward(tf.slice(x, [0, 0, 0], [1, 6, -1]));
        let st: ReturnType<DeltaRuleLayer['step']>['finalState'] | undefined;
        for (let t = 0; t < 6; t++) {
          const xt = tf.reshape(tf.slice(x, [0, t, 0], [1, 1, -1]), [1, -1]);
          const r = layer.step(xt, { initialState: st });
          const want = tf.reshape(tf.slice(ref.output, [0, t, 0], [1, 1, -1]), [1, -1]);
          await expectAllClose(r.output, want, { ...TOL, message: `step ${t}` });
          if (st) tf.dispose(Object.values(st));
          st = r.finalState;
          tf.dispose([xt, want, r.output]);
        }
        tf.dispose([ref.output, ...Object.values(ref.finalState), ...Object.values(st ?? {})]);
      } finally {
        layer.dispose();
        tf.dispose([...Object.values(weights), ...Object.values(inputs), ...Object.values(outputs)]);
      }
    });
  }
});

describeBackends('interop: fla causal LMs', () => {
  for (const f of MODELS) {
    it(`${f.id}: loadCausalLM gives fla's logits and its 32 greedy ids; step equals forward`, async () => {
      const model = await loadCausalLM(f.dir);
      const inputs = read(f.dir, 'inputs.safetensors');
      const outputs = read(f.dir, 'outputs.safetensors');
      try {
        const ids = get(inputs, 'input_ids');
        const logits = model.forward(ids);
        await expectAllClose(logits, get(outputs, 'logits'), { ...TOL, message: 'logits' });
        // greedy decoding through step, the way a sampler's step closure drives it
        const expected = Array.from(await get(outputs, 'greedy_ids').data());
        const promptLength = 8;
        const prompt = Array.from((await tf.slice(ids, [0, 0], [1, promptLength]).data()) as Int32Array);
        let state: CausalLMState | undefined;
        let next = -1;
        const got: number[] = [];
        const stepLogits: Tensor[] = [];
        for (let t = 0; t < promptLength + expected.length - 1; t++) {
          const id = t < promptLength ? (prompt[t] as number) : next;
          const r = model.step(id, state);
          if (state) tf.dispose(state.flatMap((s) => Object.values(s)));
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
        // step over the prompt equals forward's logits on it
        const stepped = tf.stack(stepLogits, 1);
        await expectAllClose(stepped, tf.slice(logits, [0, 0, 0], [1, promptLength, -1]), { ...TOL, message: 'step vs forward' });
        tf.dispose([logits, stepped, ...stepLogits, ...(state ?? []).flatMap((s) => Object.values(s))]);
      } finally {
        model.dispose();
        tf.dispose([...Object.values(inputs), ...Object.values(outputs)]);
      }
    });
  }
});

describe('interop: saveCheckpoint round trip', () => {
  for (const f of MODELS) {
    it(`${f.id}: export → reload is bit for bit, with fla's names`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-fla-'));
      const model = await loadCausalLM(f.dir);
      try {
        await saveCheckpoint(model, join(dir, 'out'));
        const written = read(join(dir, 'out'), 'model.safetensors');
        const original = read(f.dir, 'model.safetensors');
        // the same names as fla's file (a tied checkpoint has no lm_head.weight in either)
        expect(Object.keys(written).sort()).toEqual(Object.keys(original).sort());
        const again = await loadCausalLM(join(dir, 'out'));
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
