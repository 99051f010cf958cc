import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchSuite } from '@tessera/tensor-core/bench';
import { register } from 'tsx/esm/api';
import { benchFiles, packageDirs, workspaceRoot } from './discover.js';
import { parseArgs, runSuites } from './run-suites.js';

const HELP = `tessera-bench [dirs...] [--backend auto|webgpu|wasm|cpu] [--size full|quick] [--filter NAME] [--json FILE]

Runs every bench/*.bench.ts of the given package directories (default: every package of the
workspace) on one backend and prints workload, shape, ours, baseline and speedup.`;

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log(HELP);
} else {
  const dirs = args.dirs.length > 0 ? args.dirs.map((d) => resolve(d)) : packageDirs(workspaceRoot(process.cwd()));
  // a global loader (not tsImport's namespaced one) so bench files share this process's tensor-core
  register();
  const suites: BenchSuite[] = [];
  for (const file of dirs.flatMap(benchFiles)) {
    const mod = (await import(pathToFileURL(file).href)) as { default: BenchSuite };
    suites.push(mod.default);
  }
  if (suites.length === 0) throw new Error(`tessera-bench: no bench/*.bench.ts under ${dirs.join(', ')}`);
  await runSuites(suites, args);
}
