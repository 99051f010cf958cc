import type { BackendName } from '../backend/init-backend.js';
import { checkFunction } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import type { BenchRow } from './report.js';

export interface BenchContext {
  backend: BackendName;
  /**
   * 'full' runs the shapes the issues name (GPU runs); 'quick' shrinks them for CPU/WASM and smoke
   * runs, where full shapes would take minutes.
   */
  size: 'full' | 'quick';
  log(message: string): void;
}

/** What a `bench/*.bench.ts` file default-exports. */
export interface BenchSuite {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** Identity helper that types a bench file's default export. */
export function defineBench(suite: BenchSuite): BenchSuite {
  checkOptions(suite, ['name', 'run'], 'suite');
  if (typeof suite.name !== 'string' || suite.name === '')
    throw new ValueError(`suite.name: expected a non-empty string, received ${describeValue(suite.name)}`);
  checkFunction(suite.run, 'suite.run');
  return suite;
}
