import { longFirst, tesseraVitestConfig } from '@tessera/vitest-config';

// the longest files start first (a clean clone has no vitest cache of durations)
export default tesseraVitestConfig(import.meta.url, {
  test: { sequence: { sequencer: longFirst(['test/web.test.ts', 'test/lm.test.ts']) } },
});
