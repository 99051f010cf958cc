import { BackendError, describeValue, ValueError } from '../errors.js';
import { tf } from '../tf.js';
import { bindGroupCacheWanted } from './bind-group-cache.js';
import { subgroupsWanted } from './webgpu-device.js';
import { probeWebGPU } from './webgpu-provider.js';
import { installWasmMatMul } from './wasm-matmul.js';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export type BackendPreference = BackendName | 'auto';

export interface BackendChoice {
  name: BackendName;
  /** The WebGPU adapter, when `name` is 'webgpu'. */
  adapter?: string;
  /** Why this backend: what was asked for and what was unavailable on the way. */
  reason: string;
}

const PREFERENCES: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm', 'cpu'];

function envOverride(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.TESSERA_BACKEND;
  return value === undefined || value === '' ? undefined : value;
}

function parsePreference(value: string, source: string): BackendPreference {
  if ((PREFERENCES as readonly string[]).includes(value)) return value as BackendPreference;
  throw new ValueError(`${source}: expected one of ${PREFERENCES.join(', ')}, received ${describeValue(value)}`);
}

let wasmLoaded: Promise<void> | undefined;

/** Registers tfjs' WASM backend; in Node its .wasm files are read from node_modules, never fetched. */
export function loadWasm(): Promise<void> {
  wasmLoaded ??= import('@tensorflow/tfjs-backend-wasm').then(() => installWasmMatMul());
  return wasmLoaded;
}

async function activate(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendError(`backend: tfjs could not initialise '${name}'`);
  await tf.ready();
}

/**
 * Picks and initialises the tfjs backend. `auto` tries WebGPU (browser `navigator.gpu`, or Dawn through
 * the optional `webgpu` package in Node), then WASM, then CPU; the environment variable
 * `TESSERA_BACKEND` overrides `preference`. A backend named explicitly that cannot start throws a
 * `BackendError` rather than silently falling back.
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<BackendChoice> {
  const override = envOverride();
  const pref = override !== undefined ? parsePreference(override, 'TESSERA_BACKEND') : parsePreference(preference, 'preference');
  const asked = override !== undefined ? `TESSERA_BACKEND=${override}` : `preference '${pref}'`;

  if (pref === 'webgpu' || pref === 'auto') {
    // a malformed TESSERA_WEBGPU_SUBGROUPS or TESSERA_WEBGPU_BIND_GROUP_CACHE throws here, not inside tfjs' backend start
    subgroupsWanted();
    bindGroupCacheWanted();
    const gpu = await probeWebGPU();
    if (gpu.ok) {
      await activate('webgpu');
      return { name: 'webgpu', adapter: gpu.adapter as string, reason: `${asked}: a WebGPU adapter was found` };
    }
    if (pref === 'webgpu') throw new BackendError(`backend: webgpu was requested (${asked}) but is unavailable: ${gpu.reason}`);
    const why = `webgpu unavailable: ${gpu.reason}`;
    try {
      await loadWasm();
      await activate('wasm');
      return { name: 'wasm', reason: `${asked}: ${why}; using wasm` };
    } catch (e) {
      await activate('cpu');
      return { name: 'cpu', reason: `${asked}: ${why}; wasm unavailable: ${(e as Error).message}; using cpu` };
    }
  }
  if (pref === 'wasm') {
    try {
      await loadWasm();
      await activate('wasm');
    } catch (e) {
      throw new BackendError(`backend: wasm was requested (${asked}) but failed to start: ${(e as Error).message}`);
    }
    return { name: 'wasm', reason: `${asked}` };
  }
  await activate('cpu');
  return { name: 'cpu', reason: `${asked}` };
}

/** The name of the active backend as Tessera knows it. */
export function activeBackend(): string {
  return tf.getBackend();
}
