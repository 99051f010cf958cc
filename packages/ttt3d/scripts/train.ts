/**
 * Trains a TTTLRM on procedural multi-view scenes (see train-loop.ts).
 *
 *   pnpm --filter @tessera/ttt3d train -- --out weights/run --tiny            # cpu/wasm, under a minute
 *   pnpm --filter @tessera/ttt3d train -- --out weights/run --max-seconds 540 # default config
 *   ... --resume                                                              # continue from --out
 *
 * Flags: --out DIR, --tiny, --steps N, --max-seconds S, --resume, --lr X, --input-views N, --target-views N,
 * --lambda-depth X, --lambda-opacity X, --data-seed N, --save-every N, --backend cpu|wasm|webgpu,
 * --config '{"width":128,...}' (merged over the preset).
 */
import { initBackend } from '@tessera/tensor-core';
import type { TTTLRMConfig } from '../src/index.js';
import { type TrainOptions, train } from './train-loop.js';

/** The `--tiny` preset: runs end to end on the cpu backend in well under a minute. */
export const TINY: { config: Partial<TTTLRMConfig>; steps: number; inputViews: number; targetViews: number; sceneGaussians: number } = {
  config: {
    imageSize: 16,
    patchSize: 8,
    width: 32,
    depth: 2,
    heads: 1,
    attentionHeadDim: 16,
    fastHiddenRatio: 2,
    mlpRatio: 2,
    shDegree: 1,
  },
  steps: 30,
  inputViews: 3,
  targetViews: 2,
  sceneGaussians: 400,
};

export function parseTrainArgs(argv: readonly string[]): TrainOptions & { backend?: string } {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(a.slice(2), next);
      i++;
    } else flags.set(a.slice(2), true);
  }
  const known = [
    'out',
    'tiny',
    'steps',
    'max-seconds',
    'resume',
    'lr',
    'input-views',
    'target-views',
    'lambda-depth',
    'lambda-opacity',
    'data-seed',
    'save-every',
    'backend',
    'config',
    'scene-gaussians',
  ];
  for (const k of flags.keys())
    if (!known.includes(k)) throw new Error(`unknown flag --${k} (known: ${known.map((x) => `--${x}`).join(', ')})`);
  const num = (k: string): number | undefined => {
    const v = flags.get(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v === true || !Number.isFinite(n)) throw new Error(`--${k}: expected a number, received ${String(v)}`);
    return n;
  };
  const tiny = flags.has('tiny');
  const extra = flags.get('config');
  const config = { ...(tiny ? TINY.config : {}), ...(typeof extra === 'string' ? (JSON.parse(extra) as Partial<TTTLRMConfig>) : {}) };
  const out = flags.get('out');
  if (typeof out !== 'string') throw new Error('--out DIR is required');
  const opt = <T>(v: T | undefined, fallback: T | undefined): T | undefined => v ?? fallback;
  const backend = flags.get('backend');
  return {
    out,
    config,
    steps: num('steps') ?? (tiny ? TINY.steps : 2000),
    ...(num('max-seconds') !== undefined ? { maxSeconds: num('max-seconds') as number } : {}),
    resume: flags.has('resume'),
    ...(num('lr') !== undefined ? { lr: num('lr') as number } : {}),
    ...(opt(num('input-views'), tiny ? TINY.inputViews : undefined) !== undefined
      ? { inputViews: opt(num('input-views'), TINY.inputViews) as number }
      : {}),
    ...(opt(num('target-views'), tiny ? TINY.targetViews : undefined) !== undefined
      ? { targetViews: opt(num('target-views'), TINY.targetViews) as number }
      : {}),
    ...(opt(num('scene-gaussians'), tiny ? TINY.sceneGaussians : undefined) !== undefined
      ? { sceneGaussians: opt(num('scene-gaussians'), TINY.sceneGaussians) as number }
      : {}),
    ...(num('lambda-depth') !== undefined ? { lambdaDepth: num('lambda-depth') as number } : {}),
    ...(num('lambda-opacity') !== undefined ? { lambdaOpacity: num('lambda-opacity') as number } : {}),
    ...(num('data-seed') !== undefined ? { dataSeed: num('data-seed') as number } : {}),
    ...(num('save-every') !== undefined ? { saveEvery: num('save-every') as number } : {}),
    ...(typeof backend === 'string' ? { backend } : {}),
  };
}

/** Parses `argv`, initialises the backend (unless `backendReady`), trains, prints progress. */
export async function main(argv: readonly string[], backendReady = false): Promise<void> {
  const { backend, ...opts } = parseTrainArgs(argv);
  if (!backendReady) await initBackend((backend ?? 'auto') as 'auto' | 'cpu' | 'wasm' | 'webgpu');
  const every = Math.max(1, Math.round(opts.steps / 50));
  const entries = await train({
    ...opts,
    onStep: (e) => {
      if (e.step % every === 0 || e.step === 1) {
        console.log(
          `step ${e.step} ${e.seconds.toFixed(1)}s loss ${e.loss.toFixed(4)} psnr ${e.psnr.toFixed(2)} opacity ${e.opacity.toFixed(3)} (${e.scene})`,
        );
      }
    },
  });
  const last = entries.at(-1);
  console.log(
    last
      ? `stopped at step ${last.step} after ${last.seconds.toFixed(1)} s; saved to ${opts.out}`
      : `nothing to do; ${opts.out} is at its last step`,
  );
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('scripts/train.ts') || invoked.endsWith('scripts/train.js')) {
  await main(process.argv.slice(2));
}
