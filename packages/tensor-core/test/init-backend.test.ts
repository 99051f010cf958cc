import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, initBackend, tf, ValueError } from '../src/index.js';
import { testBackends } from '../src/testing/index.js';

describe('initBackend', () => {
  const saved = process.env.TESSERA_BACKEND;
  afterEach(async () => {
    if (saved === undefined) delete process.env.TESSERA_BACKEND;
    else process.env.TESSERA_BACKEND = saved;
    await tf.setBackend('cpu');
  });

  it('starts the cpu and wasm backends when asked', async () => {
    delete process.env.TESSERA_BACKEND;
    expect(await initBackend('cpu')).toEqual({ name: 'cpu', reason: "preference 'cpu'" });
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('lets TESSERA_BACKEND override the preference and says so', async () => {
    process.env.TESSERA_BACKEND = 'cpu';
    const choice = await initBackend('wasm');
    expect(choice.name).toBe('cpu');
    expect(choice.reason).toMatch(/TESSERA_BACKEND=cpu/);
  });

  it('rejects unknown names, naming where they came from', async () => {
    delete process.env.TESSERA_BACKEND;
    await expect(initBackend('tpu' as never)).rejects.toThrow(ValueError);
    await expect(initBackend('tpu' as never)).rejects.toThrow(/preference: expected one of auto, webgpu, wasm, cpu, received "tpu"/);
    process.env.TESSERA_BACKEND = 'gpu';
    await expect(initBackend()).rejects.toThrow(/TESSERA_BACKEND: expected one of .*received "gpu"/);
  });

  it('picks webgpu under auto when an adapter exists, else wasm with the reason', async () => {
    delete process.env.TESSERA_BACKEND;
    const { webgpu } = testBackends();
    const choice = await initBackend('auto');
    if (webgpu.ok) {
      expect(choice).toMatchObject({ name: 'webgpu', adapter: webgpu.adapter });
    } else {
      expect(choice.name).toBe('wasm');
      expect(choice.reason).toContain(`webgpu unavailable: ${webgpu.reason}`);
    }
  });

  it('fails loudly when webgpu is requested but unavailable, and starts it otherwise', async () => {
    delete process.env.TESSERA_BACKEND;
    const { webgpu } = testBackends();
    if (webgpu.ok) {
      expect((await initBackend('webgpu')).name).toBe('webgpu');
      expect(tf.getBackend()).toBe('webgpu');
    } else {
      await expect(initBackend('webgpu')).rejects.toThrow(BackendError);
    }
  });
});
