/**
 * Entry bundled by ../shared/gpu/pack.sh for the lent GPU: every package's suites, statically
 * imported so esbuild can bundle them, run on WebGPU at full size.
 *   bash .gpu/run.sh gpu --json $OUT/h100.json
 */
import softmax from '../../../packages/tensor-core/bench/softmax.bench.js';
import philox from '../../../packages/tensor-core/bench/philox.bench.js';
import { parseArgs, runSuites } from './run-suites.js';

const args = parseArgs(process.argv.slice(2));
await runSuites([softmax, philox], { backend: 'webgpu', size: 'full', ...args });
