import { createSampler, generate } from '@tessera/simplex-decoding';
import { readSafetensors, type Tensor, tf } from '@tessera/tensor-core';
import mixes from 'virtual:lm-mixes';
import { decode, encode } from '../../src/lm/data.js';
import { ByteLM, checkLMConfig, defaultConfig, type LMState } from '../../src/lm/model.js';
import { DECODERS, type DecoderName, type DecoderSettings, decoderSpec, stepModel } from '../../src/lm/part.js';
import { byId, nextFrame, numberInput, report } from './ui.js';

/** Loads a committed mix (served from the build's weights/lm/<mix>/), or builds the labelled untrained stand-in. */
async function openModel(): Promise<{ model: ByteLM; label: string; trained: boolean }> {
  const mix = mixes.includes('hybrid') ? 'hybrid' : mixes[0];
  if (mix !== undefined) {
    const base = `./lm/${mix}/`;
    const config = checkLMConfig(await (await fetch(`${base}config.json`)).json(), 'config.json');
    const weights = readSafetensors(new Uint8Array(await (await fetch(`${base}model.safetensors`)).arrayBuffer()));
    const model = new ByteLM(config);
    try {
      model.loadStateDict(weights);
    } finally {
      tf.dispose(Object.values(weights));
    }
    return { model, label: `trained mix “${mix}” (${config.layers.join(' + ')})`, trained: true };
  }
  // a small model of the same architecture, so streaming and the charts work before training
  const config = defaultConfig(['gdn', 'sparse-attn'], {
    dModel: 64,
    heads: 2,
    headDim: 32,
    mlpHidden: 128,
    context: 128,
    chunkSize: 16,
    mamba: { dState: 16, headDim: 32, expand: 2 },
    attention: { mode: 'sparse', bq: 16, bk: 16, topK: 0.25, topP: 0.9 },
  });
  return {
    model: new ByteLM(config),
    label: 'UNTRAINED: a tiny randomly initialised model (GatedDeltaNet + sparse attention) — its text is noise',
    trained: false,
  };
}

function settings(): DecoderSettings {
  return {
    temperature: numberInput('lm-temperature'),
    k: numberInput('lm-k'),
    p: numberInput('lm-p'),
    pMin: numberInput('lm-pmin'),
    lambda: numberInput('lm-lambda'),
    alpha: numberInput('lm-alpha'),
    bokK: numberInput('lm-bokk'),
  };
}

/** A byte as a short visible label. */
function byteLabel(b: number): string {
  if (b === 32) return '␠';
  if (b === 10) return '⏎';
  if (b >= 33 && b < 127) return String.fromCharCode(b);
  return `x${b.toString(16).padStart(2, '0')}`;
}

/** Each decoder's distribution over the next byte, drawn as its 8 most probable bytes. */
async function drawCharts(logits: Tensor, s: DecoderSettings): Promise<void> {
  const charts = byId('lm-charts');
  const cards: HTMLElement[] = [];
  for (const name of DECODERS) {
    const q = createSampler(decoderSpec(name, s).spec).distribution(logits);
    const values = Array.from(await q.data());
    q.dispose();
    const support = values.filter((v) => v > 0).length;
    const entropy = -values.reduce((acc, v) => acc + (v > 0 ? v * Math.log(v) : 0), 0);
    const top = values
      .map((v, i) => [v, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 8);
    const card = document.createElement('div');
    card.className = 'chart';
    const title = document.createElement('h4');
    title.textContent = `${name} · support ${support} · H ${entropy.toFixed(2)} nats`;
    card.append(title);
    for (const [v, i] of top) {
      const row = document.createElement('div');
      row.className = 'bar';
      const label = document.createElement('code');
      label.textContent = byteLabel(i);
      const bar = document.createElement('div');
      bar.style.width = `${Math.max(0.5, 100 * v)}%`;
      const pct = document.createElement('span');
      pct.textContent = `${(100 * v).toFixed(1)}%`;
      row.append(label, bar, pct);
      card.append(row);
    }
    cards.push(card);
  }
  charts.replaceChildren(...cards);
}

/** The LM panel: live token streaming with a decoder picker and settings, and per-decoder next-token charts. */
export async function mountLm(): Promise<void> {
  const status = byId('lm-status');
  const run = byId<HTMLButtonElement>('lm-run');
  const out = byId('lm-output');
  const count = byId('lm-count');
  const picker = byId<HTMLSelectElement>('lm-decoder');
  for (const d of DECODERS) picker.add(new Option(d, d));
  picker.value = 'topk';
  // ?tokens=N in the page's address sets the first run's length (a shareable setting; the browser test uses 20)
  const asked = new URLSearchParams(location.search).get('tokens');
  if (asked !== null) byId<HTMLInputElement>('lm-max').value = asked;
  const { model, label, trained } = await openModel();
  status.textContent = trained ? `Weights: ${label}` : `Weights: to be trained (none committed in apps/demo/weights/lm yet). ${label}.`;
  status.classList.toggle('untrained', !trained);

  const go = async (): Promise<void> => {
    run.disabled = true;
    const prompt = byId<HTMLInputElement>('lm-prompt').value;
    const s = settings();
    const decoder = picker.value as DecoderName;
    const maxTokens = numberInput('lm-max');
    out.replaceChildren(Object.assign(document.createElement('span'), { className: 'prompt', textContent: prompt }));
    const generated = document.createTextNode('');
    out.append(generated);
    const inner = stepModel(model);
    let lastState: LMState | undefined;
    // keep the final state: one more step after the stream gives the next token's logits for the charts
    const adapter = {
      ...inner,
      async step(...args: Parameters<typeof inner.step>) {
        const r = await inner.step(...args);
        lastState = r.state;
        return r;
      },
    };
    const ids = Array.from(encode(prompt));
    const bytes: number[] = [];
    const t0 = performance.now();
    try {
      if (ids.length === 0) throw new Error('Prompt: expected at least one character');
      for await (const tok of generate(adapter, ids, {
        sampler: createSampler(decoderSpec(decoder, s).spec),
        maxTokens,
        seed: numberInput('lm-seed'),
      })) {
        bytes.push(tok.id);
        const text = decode(bytes);
        generated.textContent = text.endsWith('\uFFFD') ? text.slice(0, -1) : text;
        report.tokens = bytes.length;
        out.dataset.tokens = String(bytes.length);
        count.textContent = `${bytes.length} tokens (bytes) · ${decoder} · ${((1000 * bytes.length) / (performance.now() - t0)).toFixed(1)} tokens/s on ${tf.getBackend()}`;
        await nextFrame();
      }
      const all = [...ids, ...bytes];
      const next = await inner.step(all, lastState);
      await drawCharts(next.logits, s);
      next.logits.dispose();
      byId('lm-dist-note').textContent = `after “${decode(all).slice(-24)}”`;
    } catch (e) {
      count.textContent = `error: ${(e as Error).message}`;
      throw e;
    } finally {
      inner.release();
      run.disabled = false;
    }
  };
  run.addEventListener('click', () => {
    go().catch((e: unknown) => console.error(e));
  });
  run.disabled = false;
  await go();
}
