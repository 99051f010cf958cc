import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkOptions } from '@tessera/tensor-core';
import type { BenchSuite } from '@tessera/tensor-core/bench';
import { register } from 'tsx/esm/api';
import { benchFiles, packageDirs, workspaceRoot } from './discover.js';

export interface LoadSuitesOptions {
  /** Package directories whose `bench/*.bench.ts` to load; default every package and app of the workspace. */
  dirs?: readonly string[];
  /** A path inside the workspace, to find its root when `dirs` is absent; default the working directory. */
  from?: string;
}

let registered = false;

/**
 * The bench suites `tessera-bench` runs, found by the same discovery (`packages/*` and `apps/*`, each
 * `bench/*.bench.ts`, sorted) and imported through tsx, for programs that run them with `runSuites`.
 */
export async function loadSuites(opts: LoadSuitesOptions = {}): Promise<BenchSuite[]> {
  checkOptions(opts, ['dirs', 'from']);
  const dirs = opts.dirs !== undefined ? opts.dirs.map((d) => resolve(d)) : packageDirs(workspaceRoot(opts.from ?? process.cwd()));
  if (!registered) {
    // a global loader (not tsImport's namespaced one) so bench files share this process's tensor-core
    register();
    registered = true;
  }
  const suites: BenchSuite[] = [];
  for (const file of dirs.flatMap(benchFiles)) {
    const mod = (await import(pathToFileURL(file).href)) as { default: BenchSuite };
    suites.push(mod.default);
  }
  if (suites.length === 0) throw new Error(`tessera-bench: no bench/*.bench.ts under ${dirs.join(', ')}`);
  return suites;
}
