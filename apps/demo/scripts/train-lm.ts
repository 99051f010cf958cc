/**
 * `pnpm --filter @tessera/demo train:lm [--mix hybrid] [--tiny] [--out DIR] …`: trains the demo's byte-level LM on the
 * Brown corpus on this machine's backend (src/lm/train.ts; the full runs are meant for a GPU: gpu/train-lm.ts).
 * `--tiny` runs the whole pipeline at smoke-test size in seconds on the CPU.
 */
import { trainLmMain } from '../src/lm/train-cli.js';

process.exitCode = await trainLmMain(process.argv.slice(2), { backend: 'auto', out: 'weights/lm' });
