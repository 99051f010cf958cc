import { longFirst, tesseraVitestConfig } from '@tessera/vitest-config';

// the longest files start first (a clean clone has no vitest cache of durations)
export default tesseraVitestConfig(import.meta.url, {
  test: { sequence: { sequencer: longFirst(['test/layers.test.ts', 'test/interop-mamba.test.ts', 'test/interop.test.ts']) } },
});
