#!/usr/bin/env node
// `pnpm demo [args]` from the repository root (pnpm runs this bin: the root package has no `demo` script,
// so pnpm prints no "> tessera@ demo" header of its own). Builds the demo and what it depends on with
// turbo (cached), quietly — its log is shown, on stderr, only if the build fails — then runs the CLI:
// stdout carries only what the demo prints, so `pnpm demo --json | jq` reads JSON alone.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const turbo = createRequire(`${root}package.json`).resolve('turbo/bin/turbo');
const child = spawn(process.execPath, [turbo, 'run', 'build', '--filter=@tessera/demo...', '--output-logs=errors-only'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
child.stdout.on('data', (chunk) => {
  log += chunk;
});
child.stderr.on('data', (chunk) => {
  log += chunk;
});
// a cached build takes a fraction of a second; say what is happening only when it takes longer
const notice = setTimeout(() => console.error('tessera-demo: building the packages it uses (turbo, cached after the first run)…'), 1500);
const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
clearTimeout(notice);
if (status !== 0) {
  process.stderr.write(log);
  console.error(`tessera-demo: the build failed (turbo exited with ${status})`);
  process.exit(1);
}
const { main } = await import('../dist/main.js');
// `pnpm demo -- --json` passes the `--` separator through; the CLI's own arguments follow it
const argv = process.argv.slice(2);
process.exitCode = await main(argv[0] === '--' ? argv.slice(1) : argv);
