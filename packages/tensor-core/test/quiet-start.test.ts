/**
 * Start-up says nothing on stderr that the user did not ask for: no tfjs "Hi, looks like you are running
 * TensorFlow.js in Node.js" notice (it recommends tfjs-node, which Tessera does not use), and on a machine
 * without a WebGPU adapter none of Dawn's native lines ("Couldn't load Vulkan", "Found no drivers!"):
 * the adapter search runs in a child process whose stderr becomes the reason in `BackendChoice`.
 * Each case is a fresh Node process running tensor-core bundled from src/ (tfjs and Dawn external).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childNode } from './child-node.js';

const { bundle, run, remove } = childNode('quiet');
beforeAll(bundle);
afterAll(remove);

// Linux: a Vulkan loader pointed at no driver leaves Dawn without an adapter, as on a machine without a GPU
const NO_DRIVER = { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };

describe('quiet start-up', () => {
  it('a tensor made before and after initBackend("cpu") prints no tfjs notice', async () => {
    const r = await run(`
      import { initBackend, softmax, tf } from './core.mjs';
      const early = tf.tensor1d([1, 2]);                 // before any backend is chosen: tfjs makes the cpu one
      console.log((await early.data()).length);
      await initBackend('cpu');
      console.log((await softmax(tf.tensor2d([[1, 2]])).data()).length);
    `);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('2\n2\n');
    expect(r.stderr).toBe('');
  });

  it.runIf(process.platform === 'linux')(
    "initBackend('auto') without an adapter falls back to wasm with the reason, and prints nothing",
    async () => {
      const r = await run(
        `
      import { initBackend } from './core.mjs';
      const choice = await initBackend('auto');
      console.log(JSON.stringify(choice));
    `,
        NO_DRIVER,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const choice = JSON.parse(r.stdout);
      expect(choice.name).toBe('wasm');
      expect(choice.reason).toMatch(/^preference 'auto': webgpu unavailable: no adapter .*\(Dawn: .+\); using wasm$/);
    },
  );

  it.runIf(process.platform === 'linux')(
    "initBackend('webgpu') without an adapter rejects with a BackendError carrying Dawn's reason",
    async () => {
      const r = await run(
        `
      import { initBackend } from './core.mjs';
      try { await initBackend('webgpu'); console.log('started'); }
      catch (e) { console.log(e.name + ': ' + e.message); }
    `,
        NO_DRIVER,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^BackendError: backend: webgpu was requested \(preference 'webgpu'\) but is unavailable: no adapter/);
    },
  );
});
