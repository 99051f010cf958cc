import { loadWasm, type BackendName } from '../backend/init-backend.js';
import { probeWebGPU, type GpuProbe } from '../backend/webgpu-provider.js';
import { tf } from '../tf.js';

export interface TestBackends {
  available: BackendName[];
  webgpu: GpuProbe;
  /** Set by TESSERA_REQUIRE_WEBGPU=1: a missing adapter fails the WebGPU suites instead of skipping them. */
  requireWebGPU: boolean;
}

let prepared: TestBackends | undefined;

function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}

/**
 * Registers every backend this machine can run (cpu always, wasm, webgpu where an adapter exists). Call
 * once before suites are collected; the shared vitest setup file does.
 */
export async function prepareBackends(): Promise<TestBackends> {
  if (prepared) return prepared;
  // silences tfjs' Node-speed notice, which every test file would repeat
  tf.env().set('PROD', true);
  const available: BackendName[] = ['cpu'];
  await loadWasm();
  available.push('wasm');
  const webgpu = await probeWebGPU();
  if (webgpu.ok) available.push('webgpu');
  // TESSERA_TEST_BACKENDS=cpu,wasm narrows a local run (a quick loop while editing); CI never sets it
  const only = env('TESSERA_TEST_BACKENDS')
    ?.split(',')
    .map((b) => b.trim());
  if (only) available.splice(0, available.length, ...available.filter((b) => only.includes(b)));
  // tests outside describeBackends run on cpu, rather than on an uninitialised highest-priority backend
  await tf.setBackend('cpu');
  prepared = { available, webgpu, requireWebGPU: env('TESSERA_REQUIRE_WEBGPU') === '1' };
  return prepared;
}

/** The result of `prepareBackends`; throws if it has not run. */
export function testBackends(): TestBackends {
  if (!prepared) {
    throw new Error('testing: prepareBackends() has not run; add @tessera/vitest-config/setup to setupFiles');
  }
  return prepared;
}
