/**
 * Entry bundled by ../shared/gpu/pack.sh for the lent GPU: every package's suites, statically
 * imported so esbuild can bundle them, run on WebGPU at full size.
 *   bash .gpu/run.sh gpu --json $OUT/h100.json [--filter NAME]
 */
import deltaRule from '../../../packages/linear-rnn/bench/delta-rule.bench.js';
import deltaRulePasses from '../../../packages/linear-rnn/bench/delta-rule-passes.bench.js';
import mamba3 from '../../../packages/linear-rnn/bench/mamba3.bench.js';
import mamba3Passes from '../../../packages/linear-rnn/bench/mamba3-passes.bench.js';
import bestOfK from '../../../packages/simplex-decoding/bench/best-of-k.bench.js';
import closedForms from '../../../packages/simplex-decoding/bench/closed-forms.bench.js';
import sampling from '../../../packages/simplex-decoding/bench/sampling.bench.js';
import philox from '../../../packages/tensor-core/bench/philox.bench.js';
import fit from '../../../packages/ttt3d/bench/fit.bench.js';
import rasterize from '../../../packages/ttt3d/bench/rasterize.bench.js';
import softmax from '../../../packages/tensor-core/bench/softmax.bench.js';
import { parseArgs, runSuites } from './run-suites.js';

const args = parseArgs(process.argv.slice(2));
await runSuites([softmax, philox, sampling, closedForms, bestOfK, deltaRule, deltaRulePasses, mamba3, mamba3Passes, rasterize, fit], {
  backend: 'webgpu',
  size: 'full',
  ...args,
});
