import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BOK_PRESETS,
  createSampler,
  generate,
  kkt,
  type KktObjective,
  type SamplerSpec,
  sampleN,
  type StepModel,
} from '@tessera/simplex-decoding';
import { checkOptions, TesseraError, type Tensor, tf } from '@tessera/tensor-core';
import { decode, encode } from './data.js';
import { checkpointFormat, type OpenedLM, openCheckpoint } from './checkpoint.js';
import { type ByteLM, LM_FILES, loadLM, type LMState, stateTensors, tidyState } from './model.js';

/** The committed weights (apps/demo/weights/lm/<mix>); absent until the GPU runs are committed. */
export const LM_WEIGHTS = fileURLToPath(new URL('../../weights/lm/', import.meta.url));
export const DEFAULT_MIX = 'hybrid';

export const DECODERS = ['greedy', 'softmax', 'topk', 'topp', 'minp', 'sparsemax', 'entmax', 'bok'] as const;
export type DecoderName = (typeof DECODERS)[number];

/** A bad prompt, decoder or weights folder: the CLI prints the one-line message and exits 2. */
export class LmPartError extends TesseraError {}

/** Decoder settings; each decoder reads the ones it uses. */
export interface DecoderSettings {
  temperature?: number;
  k?: number;
  p?: number;
  pMin?: number;
  lambda?: number;
  alpha?: number;
  /** Best-of-K's K. */
  bokK?: number;
}
const DEFAULTS = { temperature: 0.8, k: 20, p: 0.9, pMin: 0.1, lambda: 1, alpha: 1.5, bokK: 8 };

/** The sampler spec and the KKT objective (Best-of-K has none in `kkt`: its certificate is the objective gain) of a decoder. */
export function decoderSpec(name: string, s: DecoderSettings = {}): { spec: SamplerSpec; objective: KktObjective | undefined } {
  const o = { ...DEFAULTS, ...s };
  switch (name as DecoderName) {
    case 'greedy':
      return { spec: { greedy: true }, objective: { kind: 'greedy' } };
    case 'softmax':
      return { spec: { temperature: o.temperature }, objective: { kind: 'softmax', temperature: o.temperature } };
    case 'topk':
      return { spec: { temperature: o.temperature, topK: o.k }, objective: { kind: 'topK', k: o.k, temperature: o.temperature } };
    case 'topp':
      return { spec: { temperature: o.temperature, topP: o.p }, objective: { kind: 'topP', p: o.p, temperature: o.temperature } };
    case 'minp':
      return { spec: { temperature: o.temperature, minP: o.pMin }, objective: { kind: 'minP', pMin: o.pMin, temperature: o.temperature } };
    case 'sparsemax':
      return { spec: { regularizer: { kind: 'sparsemax', lambda: o.lambda } }, objective: { kind: 'sparsemax', lambda: o.lambda } };
    case 'entmax':
      return {
        spec: { regularizer: { kind: 'entmax', alpha: o.alpha, lambda: o.lambda } },
        objective: { kind: 'entmax', alpha: o.alpha, lambda: o.lambda },
      };
    case 'bok':
      return {
        spec: { temperature: o.temperature, regularizer: { kind: 'bestOfK', k: o.bokK, ...BOK_PRESETS.medium } },
        objective: undefined,
      };
    default:
      throw new LmPartError(`lm: --decoder: expected one of ${DECODERS.join(', ')}, received "${name}"`);
  }
}

/**
 * The model as simplex-decoding's `StepModel`: the first call prefills the prompt, later calls step one byte.
 * Each step disposes the state it was given (generate hands every state back exactly once); `release` frees the last.
 */
export function stepModel(model: ByteLM): StepModel<LMState> & { release(): void } {
  let last: LMState | undefined;
  return {
    step(ids, state) {
      if (state === undefined && last !== undefined) {
        // a new continuation (sampleN): the previous one's final state is no longer needed
        tf.dispose(stateTensors(last));
        last = undefined;
      }
      let r: { logits: Tensor; state: LMState };
      if (state === undefined) {
        const window = ids.slice(-model.config.context);
        const p = tidyState(() => {
          const out = model.prefill(tf.tensor2d([window], [1, window.length], 'int32'));
          return { logits: tf.reshape(tf.slice(out.logits, [0, window.length - 1, 0], [1, 1, -1]), [1, -1]), state: out.state };
        });
        r = p;
      } else {
        r = model.step(ids[ids.length - 1] as number, state);
        tf.dispose(stateTensors(state));
      }
      last = r.state;
      return r;
    },
    release() {
      tf.dispose(stateTensors(last));
      last = undefined;
    },
  };
}

function promptIds(prompt: unknown): number[] {
  if (typeof prompt !== 'string' || prompt.length === 0) {
    throw new LmPartError(`lm: --prompt: expected a non-empty string, received ${JSON.stringify(prompt)}`);
  }
  return Array.from(encode(prompt));
}

/** What a part returns before trained weights are committed. */
export interface LmSkipped {
  skipped: string;
  ok: true;
}

/**
 * The model to decode: a weights folder given by path (this demo's `train:lm` format, or an fla / mamba_ssm checkpoint,
 * told apart by its config.json), else the committed mix.
 */
async function openModel(dir: string | undefined, mix: string): Promise<OpenedLM | LmSkipped> {
  const where = dir ?? join(LM_WEIGHTS, mix);
  if (dir === undefined && !existsSync(join(where, LM_FILES.weights))) {
    return {
      skipped: existsSync(join(where, 'results.json'))
        ? `the weights of mix ${mix} are not committed (only its figures, ${join(where, 'results.json')}); train them with train:lm (apps/demo/README.md, section lm) and pass --weights`
        : `no trained LM in ${where} yet (made by the GPU runs: apps/demo/README.md, section lm — to be trained)`,
      ok: true,
    };
  }
  const found = dir === undefined ? undefined : await checkpointFormat(dir);
  if (found !== undefined && found.format !== 'tessera') return openCheckpoint(where, found.format, found.config);
  const model = await loadLM(where);
  return { format: 'tessera', adapter: () => stepModel(model) as StepModel<unknown> & { release(): void }, dispose: () => model.dispose() };
}

export interface GenerateLmOptions extends DecoderSettings {
  prompt: string;
  decoder?: DecoderName;
  maxTokens?: number;
  seed?: number;
  /** A weights folder (config.json + model.safetensors); default the committed `weights/lm/<mix>`. */
  dir?: string;
  mix?: string;
  /** Called with each generated piece of text as it arrives (streaming). */
  onText?: (text: string) => void;
}
const GEN_KEYS = [
  'prompt',
  'decoder',
  'maxTokens',
  'seed',
  'dir',
  'mix',
  'onText',
  'temperature',
  'k',
  'p',
  'pMin',
  'lambda',
  'alpha',
  'bokK',
] as const;

export interface GenerateLmResult {
  prompt: string;
  decoder: DecoderName;
  ids: number[];
  text: string;
  meanLogprob: number;
  ok: true;
}

/** `lm generate`: streams `maxTokens` bytes after `prompt` through simplex-decoding's `generate` with one decoder. */
export async function lmGenerate(opts: GenerateLmOptions): Promise<GenerateLmResult | LmSkipped> {
  const o = checkOptions(opts, GEN_KEYS);
  const ids = promptIds(o.prompt);
  const decoder = o.decoder ?? 'greedy';
  const { spec } = decoderSpec(decoder, o);
  const model = await openModel(o.dir, o.mix ?? DEFAULT_MIX);
  if ('skipped' in model) return model;
  const adapter = model.adapter();
  try {
    const out: number[] = [];
    let logprob = 0;
    let printed = 0;
    for await (const t of generate(adapter, ids, { sampler: createSampler(spec), maxTokens: o.maxTokens ?? 200, seed: o.seed ?? 0 })) {
      out.push(t.id);
      logprob += t.logprob;
      // stream whole UTF-8 characters only: a multi-byte character may arrive over several steps
      const text = decode(out);
      const safe = text.endsWith('\uFFFD') ? text.slice(0, -1) : text;
      if (safe.length > printed) {
        o.onText?.(safe.slice(printed));
        printed = safe.length;
      }
    }
    return { prompt: o.prompt, decoder, ids: out, text: decode(out), meanLogprob: out.length > 0 ? logprob / out.length : 0, ok: true };
  } finally {
    adapter.release();
    model.dispose();
  }
}

export interface CompareRow {
  decoder: DecoderName;
  support: number;
  entropy: number;
  /** max of KKT feasibility/stationarity/complementarity (undefined for Best-of-K: no closed-form certificate). */
  kktResidual: number | undefined;
  sample: string;
}

/** `lm compare`: each decoder's next-byte distribution after `prompt` (support, entropy in nats, KKT residual) and a sample. */
export async function lmCompare(
  opts: Omit<GenerateLmOptions, 'decoder' | 'onText'>,
): Promise<{ prompt: string; rows: CompareRow[]; ok: true } | LmSkipped> {
  const o = checkOptions(
    opts,
    GEN_KEYS.filter((k) => k !== 'decoder' && k !== 'onText'),
  );
  const ids = promptIds(o.prompt);
  const model = await openModel(o.dir, o.mix ?? DEFAULT_MIX);
  if ('skipped' in model) return model;
  const rows: CompareRow[] = [];
  try {
    const adapter = model.adapter();
    const first = await adapter.step(ids, undefined);
    adapter.release();
    const logits = first.logits;
    for (const decoder of DECODERS) {
      const { spec, objective } = decoderSpec(decoder, o);
      const sampler = createSampler(spec);
      const q = sampler.distribution(logits);
      const stats = tf.tidy(() => {
        const support = tf.sum(tf.cast(tf.greater(q, 0), 'float32'));
        const entropy = tf.neg(tf.sum(tf.mul(q, tf.log(tf.maximum(q, 1e-30)))));
        let residual: Tensor | undefined;
        if (objective !== undefined) {
          const r = kkt(q, logits, objective);
          residual = tf.max(tf.stack([tf.max(tf.abs(r.feasibility)), tf.max(tf.abs(r.stationarity)), tf.max(tf.abs(r.complementarity))]));
        }
        return { support, entropy, residual };
      });
      const [support, entropy, residual] = await Promise.all([stats.support.data(), stats.entropy.data(), stats.residual?.data()]);
      tf.dispose([q, stats.support, stats.entropy, ...(stats.residual ? [stats.residual] : [])]);
      const sampleAdapter = model.adapter();
      const out: number[] = [];
      try {
        for await (const t of generate(sampleAdapter, ids, { sampler, maxTokens: o.maxTokens ?? 40, seed: o.seed ?? 0 })) out.push(t.id);
      } finally {
        sampleAdapter.release();
      }
      rows.push({
        decoder,
        support: support[0] as number,
        entropy: entropy[0] as number,
        kktResidual: residual === undefined ? undefined : (residual[0] as number),
        sample: decode(out),
      });
    }
    logits.dispose();
    return { prompt: o.prompt, rows, ok: true };
  } finally {
    model.dispose();
  }
}

/** Words the `bok` verifier accepts: a continuation passes when it contains one of them as a whole word. */
export const BOK_WORDS = [
  'the',
  'and',
  'of',
  'to',
  'in',
  'that',
  'was',
  'he',
  'it',
  'for',
  'with',
  'as',
  'his',
  'on',
  'be',
  'at',
  'by',
  'had',
  'not',
  'are',
  'but',
  'from',
  'or',
  'have',
  'they',
  'which',
  'one',
  'you',
  'were',
  'her',
  'all',
  'she',
  'there',
  'would',
  'their',
  'we',
  'him',
  'been',
  'has',
  'when',
  'who',
  'will',
  'more',
  'no',
  'if',
  'out',
  'so',
  'said',
  'what',
  'up',
];

export interface BokLmOptions extends DecoderSettings {
  prompts?: string[];
  /** Samples per prompt, K. */
  samples?: number;
  maxTokens?: number;
  seed?: number;
  dir?: string;
  mix?: string;
  /** The verifier's word list (whole words, lower case). Default BOK_WORDS. */
  words?: string[];
}
const BOK_KEYS = [
  'prompts',
  'samples',
  'maxTokens',
  'seed',
  'dir',
  'mix',
  'words',
  'temperature',
  'k',
  'p',
  'pMin',
  'lambda',
  'alpha',
  'bokK',
] as const;

export interface BokLmResult {
  k: number;
  temperature: number;
  /** Per sampler: fraction of prompts with ≥ 1 of K samples passing (coverage), and the mean pass rate of single samples. */
  rows: { sampler: 'softmax' | 'bok'; coverage: number; passRate: number }[];
  ok: true;
}

export const BOK_PROMPTS = ['The man ', 'In the morning ', 'She said that ', 'It was a ', 'The city of ', 'When they '];

/**
 * `lm bok`: K continuations per prompt at high temperature (the paper's setting), plain softmax vs Best-of-K
 * (medium preset), each scored by a verifier ("contains a common English word as a whole word").
 */
export async function lmBok(opts: BokLmOptions = {}): Promise<BokLmResult | LmSkipped> {
  const o = checkOptions(opts, BOK_KEYS);
  const prompts = o.prompts ?? BOK_PROMPTS;
  for (const p of prompts) promptIds(p);
  const k = o.samples ?? 8;
  const temperature = o.temperature ?? 1.5;
  const words = new Set((o.words ?? BOK_WORDS).map((w) => w.toLowerCase()));
  const passes = (text: string) =>
    text
      .toLowerCase()
      .split(/[^a-z']+/)
      .slice(0, -1)
      .some((w) => words.has(w));
  const model = await openModel(o.dir, o.mix ?? DEFAULT_MIX);
  if ('skipped' in model) return model;
  try {
    const rows: BokLmResult['rows'] = [];
    for (const which of ['softmax', 'bok'] as const) {
      const spec: SamplerSpec =
        which === 'softmax' ? { temperature } : { temperature, regularizer: { kind: 'bestOfK', k, ...BOK_PRESETS.medium } };
      let covered = 0;
      let passed = 0;
      for (const [i, prompt] of prompts.entries()) {
        const adapter = model.adapter();
        try {
          const outs = await sampleN(adapter, promptIds(prompt), {
            n: k,
            sampler: createSampler(spec),
            maxTokens: o.maxTokens ?? 24,
            seed: (o.seed ?? 0) * 1000 + i,
            decode,
          });
          const ok = outs.map((c) => passes(c.text ?? decode(c.ids)));
          if (ok.some(Boolean)) covered++;
          passed += ok.filter(Boolean).length;
        } finally {
          adapter.release();
        }
      }
      rows.push({ sampler: which, coverage: covered / prompts.length, passRate: passed / (prompts.length * k) });
    }
    return { k, temperature, rows, ok: true };
  } finally {
    model.dispose();
  }
}
