// Shared vitest configuration for every Tessera package: `export default tesseraVitestConfig(import.meta.url)`.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer } from 'vitest/node';

const here = dirname(fileURLToPath(import.meta.url));
const coreSrc = resolve(here, '../../packages/tensor-core/src');

/**
 * @param {string} configUrl import.meta.url of the package's vitest.config
 * @param {import('vitest/config').UserConfig} [overrides]
 */
export function tesseraVitestConfig(configUrl, overrides = {}) {
  const root = dirname(fileURLToPath(configUrl));
  // CI asks for a JSON report per package (TESSERA_REPORT_DIR), collected by .ci/run
  const reportDir = process.env.TESSERA_REPORT_DIR;
  const reporters = reportDir ? ['default', 'json'] : ['default'];
  return defineConfig({
    ...overrides,
    resolve: {
      // One copy of tensor-core in every test process, from source: kernels register once, and a
      // package's tests do not depend on a stale dist/.
      alias: existsSync(coreSrc)
        ? [
            { find: /^@tessera\/tensor-core\/testing$/, replacement: join(coreSrc, 'testing/index.ts') },
            { find: /^@tessera\/tensor-core\/bench$/, replacement: join(coreSrc, 'bench/index.ts') },
            { find: /^@tessera\/tensor-core$/, replacement: join(coreSrc, 'index.ts') },
          ]
        : [],
    },
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: [join(here, 'setup.js')],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      // One process per test file (tfjs' engine, kernel registry and WebGPU device are process-global),
      // at most two at a time. Measured on 2 cores, lavapipe's shader cache cold: linear-rnn's tests
      // cost the same CPU time in one shared process as in two isolated ones (~195 s; compiling WGSL
      // dominates), so a second worker halves the wall time and, beside five busy processes, takes
      // 4/7 of the machine instead of 1/3; a single test's wall time grows only from 3× to 3.5× its
      // idle time. What fails under load is a single long synchronous stretch (setup.js names them),
      // which no pool setting removes.
      pool: 'forks',
      poolOptions: { forks: { maxForks: 2, minForks: 1 } },
      // Tinypool (vitest 3's pool) recycles each file's worker and only then starts the next one; the
      // recycle waits `teardownTimeout` for the old process to exit, and past it rejects the chain that
      // would have started the replacement. With both workers lost that way, the remaining files never
      // run and vitest exits 0 with no error (reproduced with teardownTimeout: 1). A process holding a
      // lavapipe device took 12 s to exit beside five CPU-bound processes, over the 10 s default: allow
      // minutes, so a slow exit only waits.
      teardownTimeout: 300_000,
      reporters,
      outputFile: reportDir ? { json: join(root, '.reports', 'vitest.json') } : undefined,
      ...overrides.test,
    },
  });
}

/**
 * A sequencer that starts the named test files first (in the order given), then the rest in vitest's order. Vitest
 * runs the longest files first only once its cache knows their durations; a clean clone (CI) has no cache and runs the
 * largest files first, so a long browser or training test could start last and leave one worker idle at the end.
 * @param {string[]} names paths relative to the package, e.g. 'test/web.test.ts'
 */
export function longFirst(names) {
  return class LongFirst extends BaseSequencer {
    /** @param {import('vitest/node').TestSpecification[]} files */
    async sort(files) {
      const sorted = await super.sort(files);
      const rank = (/** @type {import('vitest/node').TestSpecification} */ f) => {
        const i = names.findIndex((n) => f.moduleId.endsWith(`/${n}`));
        return i < 0 ? names.length : i;
      };
      return [...sorted].sort((a, b) => rank(a) - rank(b));
    }
  };
}
