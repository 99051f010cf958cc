import { loadSuites } from './load-suites.js';
import { parseArgs, runSuites } from './run-suites.js';

const HELP = `tessera-bench [dirs...] [--backend auto|webgpu|wasm|cpu] [--size full|quick] [--filter NAME] [--json FILE]

Runs every bench/*.bench.ts of the given package directories (default: every package of the
workspace) on one backend and prints workload, shape, ours, baseline and speedup.`;

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log(HELP);
} else {
  const suites = await loadSuites(args.dirs.length > 0 ? { dirs: args.dirs } : {});
  await runSuites(suites, args);
}
