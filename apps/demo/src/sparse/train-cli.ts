import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, type BackendPreference } from '@tessera/tensor-core';
import { type Phase, PHASES, runExperiment } from './experiment.js';

const USAGE = `usage: train-sparse [--out DIR] [--phase pretrain|finetune|eval|all] [--tiny] [--steps N]
       [--finetune-steps N] [--max-seconds S] [--reserve-seconds S] [--seed N] [--log-every N] [--timing] [--backend NAME]
Runs (or resumes) the sparse-attention distillation study in DIR (default weights/sparse-dit; with --tiny,
a folder under the system's temporary directory).
Without --steps, --max-seconds sizes the pretraining from a timing trial, leaving --reserve-seconds
to the later phases. A phase that would overrun --max-seconds saves its state and exits with code 3;
run again to continue.`;

function int(raw: string | undefined, name: string, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, received "${raw}"`);
  return n;
}

/**
 * The training command line shared by scripts/train-sparse.ts (local, default backend auto) and
 * gpu/train-sparse.ts (the lent GPU, webgpu). Returns the exit code: 0 done, 3 out of time (resume), 2 usage.
 */
export async function trainMain(
  argv: string[],
  defaults: { backend: BackendPreference; out: string; timing: boolean; afterInit?: (backend: string) => void },
): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  function parse() {
    return parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        phase: { type: 'string' },
        tiny: { type: 'boolean' },
        steps: { type: 'string' },
        'finetune-steps': { type: 'string' },
        'max-seconds': { type: 'string' },
        'reserve-seconds': { type: 'string' },
        seed: { type: 'string' },
        'log-every': { type: 'string' },
        timing: { type: 'boolean' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  }
  let phase: Phase;
  let steps: number | undefined;
  let finetuneSteps: number | undefined;
  let maxSeconds: number | undefined;
  let reserveSeconds: number | undefined;
  let seed: number | undefined;
  let logEvery: number | undefined;
  try {
    values = parse().values;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    phase = (values.phase ?? 'all') as Phase;
    if (!PHASES.includes(phase)) throw new Error(`--phase: expected one of ${PHASES.join(', ')}, received "${values.phase}"`);
    steps = int(values.steps, 'steps', 1);
    finetuneSteps = int(values['finetune-steps'], 'finetune-steps', 1);
    maxSeconds = int(values['max-seconds'], 'max-seconds', 1);
    reserveSeconds = int(values['reserve-seconds'], 'reserve-seconds', 0);
    seed = int(values.seed, 'seed', 0);
    logEvery = int(values['log-every'], 'log-every', 1);
  } catch (e) {
    console.error(`train-sparse: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const backend = await initBackend((values.backend ?? defaults.backend) as BackendPreference);
  console.log(`[sparse] backend ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ''}`);
  defaults.afterInit?.(backend.name);
  const status = await runExperiment({
    // a smoke run never lands in the committed weights folder unless asked to
    out: values.out ?? (values.tiny ? join(tmpdir(), 'tessera-sparse-tiny') : defaults.out),
    phase,
    tiny: values.tiny === true,
    ...(steps !== undefined ? { steps } : {}),
    ...(finetuneSteps !== undefined ? { training: { finetuneSteps } } : {}),
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    ...(reserveSeconds !== undefined ? { reserveSeconds } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(logEvery !== undefined ? { logEvery } : {}),
    timing: values.timing ?? defaults.timing,
    device: backend.adapter ?? backend.name,
  });
  console.log(`[sparse] complete phases: ${status.complete.join(', ') || 'none'}${status.done ? ' — results written' : ''}`);
  return phase === 'all' && !status.done ? 3 : 0;
}
