/**
 * What the adapter offers (issue 15's first step): features (`shader-f16`, `subgroups`,
 * `chromium-experimental-subgroup-matrix`, …), the limits tfjs' kernels meet, and the adapter info, as one JSON object
 * on stdout (and in --json FILE).
 */
import { writeFile } from 'node:fs/promises';
import { initBackend } from '@tessera/tensor-core';

await initBackend('webgpu');
const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
if (!gpu) throw new Error('probe: navigator.gpu is missing after initBackend("webgpu")');
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('probe: no adapter');
const limits: Record<string, number> = {};
for (const key in adapter.limits) {
  const v = (adapter.limits as unknown as Record<string, unknown>)[key];
  if (typeof v === 'number') limits[key] = v;
}
const info = adapter.info as unknown as Record<string, unknown>;
const report = {
  info: Object.fromEntries(
    ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize'].map((k) => [k, info[k]]),
  ),
  features: [...adapter.features].sort(),
  limits,
};
console.log(JSON.stringify(report, null, 1));
const i = process.argv.indexOf('--json');
if (i >= 0 && process.argv[i + 1]) await writeFile(process.argv[i + 1] as string, JSON.stringify(report, null, 1));
