/**
 * The CLI as a user runs it: a separate Node process (the entry bundled from src/cli.ts, the workspace
 * packages resolved from node_modules), its exit code, and what reaches stdout and stderr.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
// inside the package (not node_modules), so its dependencies resolve as for dist/cli.js
const tmp = join(pkg, '.package-checks', `cli-${process.pid}`);
const entry = join(tmp, 'cli.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = { ...process.env };
  delete base.TESSERA_BACKEND;
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { cwd: pkg, env: { ...base, ...env }, timeout: 100_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code as number) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

beforeAll(async () => {
  mkdirSync(tmp, { recursive: true });
  await build({
    entryPoints: [join(pkg, 'src/cli.ts')],
    outfile: entry,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  // the shared scratch folder goes too once no other run uses it
  if (readdirSync(dirname(tmp)).length === 0) rmSync(dirname(tmp), { recursive: true, force: true });
});

describe('tessera-demo (a child process)', () => {
  it('--backend=cpu --json: stdout is one JSON document, progress is on stderr, exit 0', async () => {
    const r = await cli(['core', '--backend=cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend.name).toBe('cpu');
    expect(report.core.safetensorsRoundTrip).toBe(true);
    expect(r.stderr).toMatch(/^backend: cpu/);
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tessera-demo \[options\] \[part\.\.\.\]/);
    expect(r.stderr).toBe('');
  });

  it('TESSERA_BACKEND=bogus: one line on stderr, exit 2, no stack trace', async () => {
    const r = await cli([], { TESSERA_BACKEND: 'bogus' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('tessera-demo: TESSERA_BACKEND: expected one of auto, webgpu, wasm, cpu, received "bogus"\n');
  });

  it('a bad option: one line on stderr, exit 2', async () => {
    const r = await cli(['--backend', 'tpu']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/argument 'tpu' is invalid/);
  });

  // Linux: pointing the Vulkan loader at no driver leaves Dawn without an adapter
  it.runIf(process.platform === 'linux')('--backend webgpu without an adapter: one line on stderr, exit 2', async () => {
    const none = { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
    const r = await cli(['--backend', 'webgpu'], none);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tessera-demo: backend: webgpu was requested \(preference 'webgpu'\) but is unavailable: no adapter/);
  });
});
