import { afterAll, beforeAll, describe, it } from 'vitest';
import type { BackendName } from '../backend/init-backend.js';
import { checkFunction } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';
import { testBackends } from './backends.js';

export interface DescribeBackendsOptions {
  /** Backends to run on; default all three. */
  backends?: readonly BackendName[];
}

const BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;

let skipNoticeShown = false;

/**
 * Runs a suite once per backend (cpu, wasm, webgpu), each with that backend active. WebGPU suites skip
 * with a visible notice when there is no adapter, or fail when TESSERA_REQUIRE_WEBGPU=1 (CI).
 */
export function describeBackends(name: string, fn: (backend: BackendName) => void, opts: DescribeBackendsOptions = {}): void {
  if (typeof name !== 'string') throw new ValueError(`name: expected a string, received ${describeValue(name)}`);
  checkFunction(fn, 'fn');
  checkOptions(opts, ['backends']);
  const asked = opts.backends;
  if (asked !== undefined && (!Array.isArray(asked) || asked.some((b) => !(BACKENDS as readonly string[]).includes(b)))) {
    throw new ValueError(`opts.backends: expected an array of ${BACKENDS.join(', ')}, received ${describeValue(asked)}`);
  }
  const { available, webgpu, requireWebGPU } = testBackends();
  for (const backend of asked ?? BACKENDS) {
    const title = `${name} [${backend}]`;
    if (!available.includes(backend)) {
      if (backend === 'webgpu' && requireWebGPU) {
        describe(title, () => {
          it('has a WebGPU adapter (TESSERA_REQUIRE_WEBGPU=1)', () => {
            throw new Error(`WebGPU is required but unavailable: ${webgpu.reason}`);
          });
        });
      } else {
        if (!skipNoticeShown) {
          skipNoticeShown = true;
          console.warn(`[tessera] skipping ${backend} suites: ${webgpu.reason ?? 'unavailable'}`);
        }
        describe.skip(title, () => fn(backend));
      }
      continue;
    }
    describe(title, () => {
      let previous = '';
      beforeAll(async () => {
        previous = tf.getBackend();
        await tf.setBackend(backend);
        await tf.ready();
      });
      afterAll(async () => {
        if (previous) await tf.setBackend(previous);
      });
      fn(backend);
    });
  }
}
