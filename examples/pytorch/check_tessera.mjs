// Loads a checkpoint written by train_fsdp.py in Tessera, checks it against PyTorch's logits (compare_logits.py), and
// generates from it. Run after `pnpm build`, here (Node), on the folder that came back from the GPU machine:
//   node examples/pytorch/check_tessera.mjs <ckpt_dir> [--logits FILE] [--backend cpu|wasm|webgpu] [--tokens N]
//        [--prompt TEXT] [--seed N] [--json FILE]
// Prints one JSON line; exit status 1 when the logits differ by more than 1e-3 relative (max |Tessera − PyTorch| /
// max |PyTorch|) or the greedy bytes differ.
//
// Outside this monorepo the two lines are plain imports:
//   const model = await loadCausalLM('runs/gdn-brown');                    // @tessera/linear-rnn
//   for await (const t of generate(toStepModel(model), promptIds, { sampler: createSampler({ temperature: 0.8 }), maxTokens: 200, seed: 0 })) …
// (`toStepModel`, from @tessera/linear-rnn, adapts the model's prefill / step to simplex-decoding's StepModel.)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// examples/ is no workspace package: resolve the built packages through the demo, which depends on all of them
const req = createRequire(join(root, 'apps/demo/package.json'));
const load = (name) => import(pathToFileURL(req.resolve(name)).href);
const { initBackend, loadSafetensors, tf } = await load('@tessera/tensor-core');
const { loadCausalLM, toStepModel } = await load('@tessera/linear-rnn');
const { createSampler, generate } = await load('@tessera/simplex-decoding');

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    logits: { type: 'string' },
    backend: { type: 'string', default: 'cpu' },
    tokens: { type: 'string', default: '200' },
    prompt: { type: 'string', default: 'The jury said it did find that ' },
    seed: { type: 'string', default: '0' },
    json: { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node examples/pytorch/check_tessera.mjs <ckpt_dir> [--logits FILE] [--backend cpu|wasm|webgpu] [--tokens N]');
  process.exit(2);
}
const dir = resolve(positionals[0]);
const REL_TOL = 1e-3;

const decode = (ids) => new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(ids));

const backend = await initBackend(opts.backend);
const model = await loadCausalLM(dir);
const report = { checkpoint: dir, backend: backend.name ?? opts.backend, layers: model.numLayers, vocab: model.vocabSize };

// 1. agreement with PyTorch on compare_logits.py's prompt: forward, then greedy decoding through step
const logitsPath = opts.logits ?? join(dir, 'logits.safetensors');
const ref = await loadSafetensors(logitsPath);
try {
  const ids = ref.input_ids;
  const ours = model.forward(ids);
  const [maxDiff, maxRef] = await Promise.all([
    tf.tidy(() => tf.max(tf.abs(tf.sub(ours, ref.logits)))).data(),
    tf.tidy(() => tf.max(tf.abs(ref.logits))).data(),
  ]);
  ours.dispose();
  report.max_abs_logit_diff = maxDiff[0];
  report.rel_logit_diff = maxDiff[0] / maxRef[0];

  const want = Array.from(await ref.greedy_ids.data());
  const adapter = toStepModel(model);
  const got = [];
  let input = Array.from(await ids.data());
  let state;
  for (let t = 0; t < want.length; t++) {
    const r = adapter.step(input, state);
    const id = (await tf.tidy(() => tf.argMax(r.logits, -1)).data())[0];
    r.logits.dispose();
    got.push(id);
    state = r.state;
    input = [id];
  }
  adapter.release();
  report.greedy_equal = got.length === want.length && got.every((id, i) => id === want[i]);
  report.greedy_text = decode(got);
} finally {
  tf.dispose(Object.values(ref));
}

// 2. sampling through simplex-decoding's generate
const adapter = toStepModel(model);
const out = [];
for await (const t of generate(adapter, Array.from(new TextEncoder().encode(opts.prompt)), {
  sampler: createSampler({ temperature: 0.8, topK: 40 }),
  maxTokens: Number(opts.tokens),
  seed: Number(opts.seed),
})) {
  out.push(t.id);
}
adapter.release();
model.dispose();
report.sample = opts.prompt + decode(out);
report.ok = report.rel_logit_diff <= REL_TOL && report.greedy_equal;

console.log(JSON.stringify(report));
if (opts.json) writeFileSync(opts.json, `${JSON.stringify(report, null, 1)}\n`);
process.exit(report.ok ? 0 : 1);
