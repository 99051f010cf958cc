/**
 * Each package's `sideEffects` (package.json) names the modules that register kernels when imported
 * (DESIGN.md); every other module may be dropped by a bundler when nothing of it is used. This checks
 * that the list is complete: importing a package's index through esbuild, which honours `sideEffects`
 * as webpack and Rollup do, registers the package's own kernels as importing it in Node does, where
 * every module runs. (A bundler drops a side-effect-free module together with the modules only it
 * imports, so the list must name the path to each `op.ts` too: the package index and the op folders'
 * `index.ts`, which import their `op.ts`.)
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { CHECKS_DIR, packageDirs, packageJson, runModule, tail } from './workspace.js';

/** Prints the sorted `backend:kernel` pairs of every registered Tessera kernel, and its gradients. */
const LIST_KERNELS = `
import { getGradient, getKernelsForBackend } from '@tensorflow/tfjs-core';
const names = new Set();
for (const backend of ['cpu', 'wasm', 'webgpu']) {
  for (const k of getKernelsForBackend(backend)) {
    if (!k.kernelName.startsWith('Tessera')) continue;
    names.add(backend + ':' + k.kernelName);
    if (getGradient(k.kernelName)) names.add('gradient:' + k.kernelName);
  }
}
console.log(JSON.stringify([...names].sort()));
`;

const dependencies = Object.keys(packageJson('tooling/package-checks').dependencies ?? {});
const packages = packageDirs('packages')
  .map((dir) => packageJson(dir).name)
  .filter((name) => dependencies.includes(name));

async function registered(source: string, label: string): Promise<string[]> {
  const r = await runModule(CHECKS_DIR, source, { TESSERA_BACKEND: 'cpu' }, 100_000);
  if (r.code !== 0) throw new Error(`${label} exited with code ${r.code}\n${tail(r.stderr)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as string[];
}

describe('sideEffects', () => {
  it('covers the packages this package depends on', () => {
    expect(packages).toContain('@tessera/tensor-core');
    expect(packages.length).toBeGreaterThanOrEqual(4);
  });

  let core: string[] = [];
  it('@tessera/tensor-core registers kernels when imported in Node', { timeout: 240_000 }, async () => {
    core = await registered(`import '@tessera/tensor-core';\n${LIST_KERNELS}`, "import '@tessera/tensor-core' in Node");
    expect(core).toContain('cpu:TesseraPhiloxUniform');
  });

  for (const name of packages) {
    it(`${name}: importing the bundled index registers every kernel of the package`, { timeout: 240_000 }, async () => {
      const entry = `import '${name}';\n${LIST_KERNELS}`;
      const inNode = await registered(entry, `import '${name}' in Node`);
      // the package's own kernels (tensor-core's register when the app imports tensor-core itself)
      const own = name === '@tessera/tensor-core' ? inNode : inNode.filter((k) => !core.includes(k));
      expect(own.length, `${name} registers no kernel at all`).toBeGreaterThan(0);
      const bundled = await build({
        stdin: { contents: entry, resolveDir: CHECKS_DIR, sourcefile: 'entry.mjs', loader: 'js' },
        bundle: true,
        write: false,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        // tfjs stays one external instance, as in an app; only Tessera's own modules are tree-shaken
        external: ['@tensorflow/*', 'webgpu'],
        logLevel: 'silent',
      });
      const source = bundled.outputFiles[0]?.text as string;
      const afterBundling = await registered(source, `the bundle of import '${name}'`);
      const dropped = own.filter((k) => !afterBundling.includes(k));
      expect(dropped, `kernels a bundler drops from ${name}: name the modules on the way to them in its package.json sideEffects`).toEqual(
        [],
      );
    });
  }
});
