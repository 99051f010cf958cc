/**
 * Every fenced ```ts / ```js block of the root README and of every packages/* and apps/* README is a
 * complete ES module program: it runs here in a child Node process from a temporary file inside the
 * package that owns the README (the root README's from this package, which depends on all of them),
 * so `@tessera/*` imports resolve to the built packages as they would for a user. TypeScript blocks are
 * type-stripped by esbuild first (no type check: `tsc` checks the sources, this checks that the example
 * runs). A block fails on a non-zero exit, a signal or a timeout, or if it prints nothing.
 *
 * The child runs with TESSERA_BACKEND=cpu (fast, deterministic, no adapter needed; override with
 * TESSERA_EXAMPLES_BACKEND) and TESSERA_EXAMPLE_SIZE=small, which an example may read to shrink its sizes
 * (never to run a different example). Blocks in any other language (bash, sh, text) are not run.
 */
import { transform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { CHECKS_DIR, fencedBlocks, readmes, readText, ROOT, RUNNABLE, runModule, tail } from './workspace.js';
import { dirname, join } from 'node:path';

const BACKEND = process.env.TESSERA_EXAMPLES_BACKEND ?? 'cpu';
const BLOCK_TIMEOUT_MS = 100_000;

const all = readmes().map((path) => ({
  path,
  blocks: fencedBlocks(readText(path)).filter((b) => b.lang in RUNNABLE),
}));

describe('README examples', () => {
  it('finds the runnable blocks (the root README has one per package)', () => {
    const root = all.find((r) => r.path === 'README.md');
    expect(root?.blocks.length ?? 0).toBeGreaterThanOrEqual(4);
  });

  for (const { path, blocks } of all) {
    // a README's examples run from its own package; the root README's from this package
    const dir = path === 'README.md' ? CHECKS_DIR : join(ROOT, dirname(path));
    for (const block of blocks) {
      const lang = RUNNABLE[block.lang as keyof typeof RUNNABLE];
      it(`${path}:${block.line} (${block.lang}) runs`, { timeout: BLOCK_TIMEOUT_MS + 20_000 }, async () => {
        const where = `${path}:${block.line}`;
        let source = block.code;
        if (lang === 'ts') {
          try {
            source = (await transform(block.code, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: where })).code;
          } catch (e) {
            throw new Error(`${where}: the ts block does not parse: ${(e as Error).message}`);
          }
        }
        const r = await runModule(dir, source, { TESSERA_BACKEND: BACKEND, TESSERA_EXAMPLE_SIZE: 'small' }, BLOCK_TIMEOUT_MS);
        const how = r.signal
          ? `was killed by ${r.signal}${r.signal === 'SIGTERM' ? ` (timeout ${BLOCK_TIMEOUT_MS / 1000} s?)` : ''}`
          : `exited with code ${r.code}`;
        if (r.code !== 0 || r.signal) throw new Error(`${where}: the ${block.lang} block ${how}\n${tail(r.stderr || r.stdout)}`);
        if (r.stdout.trim() === '')
          throw new Error(`${where}: the ${block.lang} block ran but printed nothing (an example shows its result)`);
      });
    }
  }
});
