/**
 * Entry bundled by ../shared/gpu/pack.sh for the lent GPU: every suite the bench discovery finds
 * (statically imported through src/gpu-suites.generated.ts, which `pnpm build` writes, so esbuild can
 * bundle them), run on WebGPU at full size.
 *   pnpm build && ../shared/gpu/pack.sh tooling/bench/src/gpu.ts
 *   bash .gpu/run.sh gpu --json $OUT/h100.json [--filter NAME]
 */
import { suites } from './gpu-suites.generated.js';
import { parseArgs, runSuites } from './run-suites.js';

const args = parseArgs(process.argv.slice(2));
await runSuites(suites, {
  backend: 'webgpu',
  size: 'full',
  ...args,
});
