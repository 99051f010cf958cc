/**
 * `pnpm --filter @tessera/demo train:sparse [--tiny] [--phase …] [--out DIR] …`: the sparse-attention
 * distillation study on this machine's backend (see src/sparse/experiment.ts; the full run is meant for a
 * GPU: gpu/train-sparse.ts). `--tiny` runs the whole pipeline at smoke-test size in seconds on the CPU.
 */
import { trainMain } from '../src/sparse/train-cli.js';

process.exitCode = await trainMain(process.argv.slice(2), { backend: 'auto', out: 'weights/sparse-dit', timing: false });
