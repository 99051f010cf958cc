/**
 * The WebGPU device tensor-core creates in place of tfjs' own: `subgroups` requested where the adapter has
 * them (every shader module then enables them, tfjs' programs included), not with TESSERA_WEBGPU_SUBGROUPS=0.
 * The flag is read when the device is created, once a process, so the off case runs in a fresh Node process
 * (tensor-core bundled from src/, tfjs and Dawn external, as in quiet-start.test.ts).
 */
import { afterAll, expect, it } from 'vitest';
import { runProgram } from '../src/bench/index.js';
import { flatGrid, initBackend, tf, ValueError, type WebGPUProgram, webgpuStorageBufferLimit, webgpuSubgroups } from '../src/index.js';
import { describeBackends } from '../src/testing/index.js';
import { childNode } from './child-node.js';

const { run: runNode, remove } = childNode('webgpu-device');
afterAll(remove);

/** Writes each invocation's subgroup size, counted with subgroupAdd: compiles only where subgroups are enabled. */
class SubgroupSizeProgram implements WebGPUProgram {
  outputShape = [64];
  shaderKey = 'tessera_test_subgroup_size';
  variableNames: string[] = [];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout = flatGrid([64], 1).dispatchLayout;
  dispatch = flatGrid([64], 1).dispatch;
  getUserCode(): string {
    return `
  fn main(index : i32) {
    // the uniforms are read (as 0) so that the pipeline's automatic layout keeps the binding tfjs sets
    result[localIndex] = subgroupAdd(1.0) + f32(uniforms.outShape - uniforms.outShape);
  }`;
  }
}

describeBackends('the WebGPU device', (backend) => {
  it('has subgroups when the adapter does, and every shader module enables them', async () => {
    if (backend !== 'webgpu') return;
    const gpu = (globalThis as { navigator: { gpu: GPU } }).navigator.gpu;
    const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as GPUAdapter;
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    const offered = adapter.features.has('subgroups');
    expect(device.features.has('subgroups')).toBe(offered);
    // what tfjs' own factory asks for stays asked for
    expect(device.features.has('timestamp-query')).toBe(adapter.features.has('timestamp-query'));
    expect(device.limits.maxComputeWorkgroupStorageSize).toBe(adapter.limits.maxComputeWorkgroupStorageSize);
    const sg = webgpuSubgroups();
    expect(sg.enabled).toBe(offered);
    if (!offered) return;
    expect(sg.minSize).toBeGreaterThanOrEqual(4);
    expect(sg.maxSize).toBeGreaterThanOrEqual(sg.minSize);
    const sizes = Array.from(await runProgram(new SubgroupSizeProgram(), []).data());
    for (const size of sizes) {
      expect(size).toBeGreaterThanOrEqual(sg.minSize);
      expect(size).toBeLessThanOrEqual(sg.maxSize);
    }
  });

  it("requests the adapter's storage buffers per stage, and reports them", async () => {
    if (backend !== 'webgpu') {
      expect(webgpuStorageBufferLimit()).toBe(0);
      return;
    }
    const gpu = (globalThis as { navigator: { gpu: GPU } }).navigator.gpu;
    const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) as GPUAdapter;
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(adapter.limits.maxStorageBuffersPerShaderStage);
    expect(webgpuStorageBufferLimit()).toBe(adapter.limits.maxStorageBuffersPerShaderStage);
    expect(webgpuStorageBufferLimit()).toBeGreaterThanOrEqual(8);
  });

  it('reads timestamp queries unrounded (Dawn rounds them to 65.5 µs unless told not to)', async () => {
    if (backend !== 'webgpu') return;
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    if (!device.features.has('timestamp-query')) return;
    const passes = 4;
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * passes });
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < passes; i++) {
      encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } }).end();
    }
    const resolved = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = device.createBuffer({ size: 16 * passes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.resolveQuerySet(querySet, 0, 2 * passes, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16 * passes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const stamps = Array.from(new BigUint64Array(staging.getMappedRange().slice(0)));
    staging.unmap();
    for (const o of [querySet, resolved, staging]) o.destroy();
    // rounded, every stamp is a multiple of 65536 ns; eight unrounded ones all being so is a 2^-128 chance
    expect(stamps.some((t) => t % 65536n !== 0n)).toBe(true);
  });

  it('starts without subgroups under TESSERA_WEBGPU_SUBGROUPS=0, and softmax then takes the tree reduction', async () => {
    if (backend !== 'webgpu') return;
    const r = await runNode(
      `
      import { initBackend, philoxUniform, softmax, tf, webgpuSubgroups } from './core.mjs';
      await initBackend('webgpu');
      const x = philoxUniform([2, 20000], { seed: 3, low: -10, high: 10 });
      const diff = tf.max(tf.abs(tf.sub(softmax(x), tf.softmax(x))));
      console.log(JSON.stringify({
        subgroups: webgpuSubgroups(),
        device: tf.backend().device.features.has('subgroups'),
        diff: (await diff.data())[0],
      }));
    `,
      { TESSERA_WEBGPU_SUBGROUPS: '0' },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { subgroups: { enabled: boolean }; device: boolean; diff: number };
    expect(out.subgroups.enabled).toBe(false);
    expect(out.device).toBe(false);
    expect(out.diff).toBeLessThan(1e-6);
  });
});

it('rejects a malformed TESSERA_WEBGPU_SUBGROUPS before starting anything', async () => {
  const saved = process.env.TESSERA_WEBGPU_SUBGROUPS;
  process.env.TESSERA_WEBGPU_SUBGROUPS = 'off';
  try {
    await expect(initBackend('webgpu')).rejects.toThrow(ValueError);
    await expect(initBackend('auto')).rejects.toThrow('TESSERA_WEBGPU_SUBGROUPS: expected 0 or 1, received "off"');
  } finally {
    if (saved === undefined) delete process.env.TESSERA_WEBGPU_SUBGROUPS;
    else process.env.TESSERA_WEBGPU_SUBGROUPS = saved;
  }
});
