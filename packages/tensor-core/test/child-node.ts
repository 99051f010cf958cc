/**
 * Fresh Node processes for tests of what happens once a process (start-up messages, the WebGPU device): tensor-core
 * bundled from src/ into a scratch folder inside the package (tfjs and Dawn external, so they resolve from its
 * node_modules), then scripts that import it as './core.mjs'.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ChildResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What `childNode` gives a test file. */
export interface ChildNode {
  /** Bundles tensor-core as core.mjs (once; `run` calls it too): a `beforeAll` keeps it out of a test's time. */
  bundle(): Promise<unknown>;
  /** Runs `script` (ESM, importing './core.mjs') in a fresh Node process, TESSERA_BACKEND unset, `env` added. */
  run(script: string, env?: Record<string, string>): Promise<ChildResult>;
  /** Removes the scratch folder (and the shared parent once empty). */
  remove(): void;
}

/** A scratch folder named `name` and the pid, for one test file. */
export function childNode(name: string): ChildNode {
  const tmp = join(pkg, '.package-checks', `${name}-${process.pid}`);
  let bundled: Promise<unknown> | undefined;
  const bundle = (): Promise<unknown> => {
    mkdirSync(tmp, { recursive: true });
    bundled ??= build({
      entryPoints: [join(pkg, 'src/index.ts')],
      outfile: join(tmp, 'core.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['@tensorflow/*', 'webgpu'],
      logLevel: 'silent',
    });
    return bundled;
  };
  const run = async (script: string, env: Record<string, string> = {}): Promise<ChildResult> => {
    await bundle();
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
  };
  const remove = (): void => {
    rmSync(tmp, { recursive: true, force: true });
    // the shared scratch folder goes too once no other run uses it
    if (existsSync(dirname(tmp)) && readdirSync(dirname(tmp)).length === 0) rmSync(dirname(tmp), { recursive: true, force: true });
  };
  return { bundle, run, remove };
}
