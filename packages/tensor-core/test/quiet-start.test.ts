/**
 * Start-up says nothing on stderr that the user did not ask for: no tfjs "Hi, looks like you are running
 * TensorFlow.js in Node.js" notice (it recommends tfjs-node, which Tessera does not use), and on a machine
 * without a WebGPU adapter none of Dawn's native lines ("Couldn't load Vulkan", "Found no drivers!"):
 * the adapter search runs in a child process whose stderr becomes the reason in `BackendChoice`.
 * Each case is a fresh Node process running tensor-core bundled from src/ (tfjs and Dawn external).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
// inside the package (not node_modules), so tfjs and webgpu resolve from its node_modules
const tmp = join(pkg, '.package-checks', `quiet-${process.pid}`);
const core = join(tmp, 'core.mjs');

async function run(script: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(tmp, `run-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const base = { ...process.env };
  delete base.TESSERA_BACKEND;
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: pkg, env: { ...base, ...env }, timeout: 100_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

beforeAll(async () => {
  mkdirSync(tmp, { recursive: true });
  await build({
    entryPoints: [join(pkg, 'src/index.ts')],
    outfile: core,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@tensorflow/*', 'webgpu'],
    logLevel: 'silent',
  });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  // the shared scratch folder goes too once no other run uses it
  if (readdirSync(dirname(tmp)).length === 0) rmSync(dirname(tmp), { recursive: true, force: true });
});

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
