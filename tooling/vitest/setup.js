// Registers cpu, wasm and (where an adapter exists) webgpu before any suite is collected, so that
// describeBackends knows synchronously which backends to run.
import { prepareBackends } from '@tessera/tensor-core/testing';
import { afterEach, beforeEach } from 'vitest';

await prepareBackends();

// Vitest's worker reports each test's start and end to the runner process over an RPC whose calls time
// out after 60 s (birpc's default; vitest 3.2 sets no other for its worker). The reply can only be read
// when this process's event loop is free, so a test that computes synchronously for 60 s wall-clock
// — a long cpu loop, or a large WGSL shader compiled by lavapipe inside tfjs' synchronous
// createComputePipeline — fails the run with `[vitest-worker]: Timeout calling "onTaskUpdate"` although
// every test passed. On a busy machine a test's wall time is several times its idle time, so this
// names every test that blocks the loop for more than half of that, while there is still room.
const WARN_MS = Number(process.env.TESSERA_BLOCK_WARN_MS ?? 30_000);
// the real timers, captured before any test can install fake ones
const { setInterval: realSetInterval } = globalThis;
let last = performance.now();
let longest = 0;
realSetInterval(() => {
  const now = performance.now();
  longest = Math.max(longest, now - last);
  last = now;
}, 100).unref();

beforeEach(() => {
  last = performance.now();
  longest = 0;
});

afterEach((context) => {
  const worst = Math.max(longest, performance.now() - last);
  if (worst > WARN_MS) {
    console.warn(
      `[tessera] "${context.task.name}" blocked the event loop for ${(worst / 1000).toFixed(1)} s without a break: vitest's worker RPC gives up at 60 s (Timeout calling "onTaskUpdate"). Shorten it, yield between steps, or split the WGSL program.`,
    );
  }
});
