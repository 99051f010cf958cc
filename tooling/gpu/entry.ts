/**
 * One bundle for every program the lent GPU runs (tfjs is inside a bundle once, and .gpu must stay small enough
 * to travel beside checkpoints and fixtures): `node .gpu/entry.mjs PROGRAM [flags...]`, PROGRAM one of
 *   train-sparse  apps/demo/gpu/train-sparse.ts   the sparse-attention distillation study
 *   train-lm      apps/demo/gpu/train-lm.ts       the demo's byte-level LMs
 *   train, eval   packages/ttt3d/gpu/*.ts         tttLRM training and evaluation
 *   reconstruct-probe  packages/ttt3d/gpu/reconstruct-probe.ts  where a tttLRM forward's wall time goes
 *   flash-probe   packages/sparse-attention/gpu/flash-probe.ts  the flash forward per tile, layout and cut loop
 *   bench         tooling/bench/src/gpu.ts        every bench suite on WebGPU at full size
 *   probe         tooling/gpu/probe.ts            the adapter's features and limits (JSON)
 * Built with `../shared/gpu/pack.sh tooling/gpu/entry.ts`; tooling/gpu/device-run.sh calls it.
 */
const programs: Record<string, () => Promise<unknown>> = {
  'train-sparse': () => import('../../apps/demo/gpu/train-sparse.js'),
  'train-lm': () => import('../../apps/demo/gpu/train-lm.js'),
  train: () => import('../../packages/ttt3d/gpu/train.js'),
  eval: () => import('../../packages/ttt3d/gpu/eval.js'),
  'reconstruct-probe': () => import('../../packages/ttt3d/gpu/reconstruct-probe.js'),
  'flash-probe': () => import('../../packages/sparse-attention/gpu/flash-probe.js'),
  bench: () => import('../bench/src/gpu.js'),
  probe: () => import('./probe.js'),
};
const name = process.argv[2] ?? '';
const load = programs[name];
if (!load) {
  console.error(`entry: expected a program (${Object.keys(programs).join(', ')}), received "${name}"`);
  process.exit(2);
}
// each program reads process.argv.slice(2) as its own flags
process.argv.splice(2, 1);
await load();
