import { mkdir } from 'node:fs/promises';
import { type BackendChoice, initBackend, probeWebGPU, TesseraError, ValueError } from '@tessera/tensor-core';
import { type BackendArg, parseArgs } from './args.js';
import { BenchPartError, formatBench, runBench } from './bench/part.js';
import { formatCore, runCore } from './parts/core.js';
import { cliProgress, type Progress } from './progress.js';
import { formatSparse, runSparse, SparsePartError } from './sparse/part.js';
import { formatSplat, runSplat, SplatPartError } from './splat/part.js';
import { formatReconstruct, ReconstructPartError, runReconstruct } from './reconstruct/part.js';
import { formatBok, formatCompare, formatGenerate } from './lm/format.js';
import { LMWeightsError } from './lm/model.js';
import { LmPartError, lmBok, lmCompare, lmGenerate } from './lm/part.js';

export interface Io {
  /** The results: text, or JSON with --json. */
  out(text: string): void;
  /** Progress, notices and errors. */
  err(text: string): void;
  /** Progress bars (default: on stderr when it is a terminal and the output is not --json). */
  progress?: Progress;
  /** Text as it is generated, without a line break (default: none, the text comes with the results). */
  stream?(text: string): void;
}

const consoleIo: Io = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  stream: (t) => void process.stdout.write(t),
};

/** Software rasterisers behind a WebGPU adapter (Mesa's lavapipe/llvmpipe, SwiftShader, WARP). */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|warp/i;

/**
 * tensor-core's choice, except that `auto` (with no TESSERA_BACKEND) passes over a software WebGPU
 * adapter for WASM: Vulkan on the CPU runs the splat fit about 5× slower than WASM (216 s against 40 s
 * for the same 300 steps on 2 cores), so the tour would take many minutes. `--backend webgpu` still uses it.
 */
async function startBackend(preference: BackendArg): Promise<BackendChoice> {
  const env = process.env.TESSERA_BACKEND;
  if (preference === 'auto' && (env === undefined || env === '')) {
    const gpu = await probeWebGPU();
    if (gpu.ok && gpu.adapter !== undefined && SOFTWARE_ADAPTER.test(gpu.adapter)) {
      const wasm = await initBackend('wasm').catch(() => undefined);
      const chosen = wasm ?? (await initBackend('cpu'));
      return {
        name: chosen.name,
        reason: `preference 'auto': the WebGPU adapter is a software rasteriser (${gpu.adapter.split(':')[0]}), slower here than ${chosen.name}; --backend webgpu uses it anyway`,
      };
    }
  }
  return initBackend(preference);
}

/** A part's error that is the user's to fix (a path, a name, a value): one line, exit 2. */
function isUsageError(e: unknown): e is TesseraError {
  return (
    e instanceof SparsePartError ||
    e instanceof SplatPartError ||
    e instanceof ReconstructPartError ||
    e instanceof BenchPartError ||
    e instanceof LmPartError ||
    e instanceof LMWeightsError ||
    e instanceof ValueError
  );
}

/** The CLI: returns the process exit code (0 ok, 1 a part failed its own checks, 2 bad usage). */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed.kind === 'help') {
    io.out(parsed.text);
    return 0;
  }
  if (parsed.kind === 'usage') {
    io.err(`tessera-demo: ${parsed.message} (see --help)`);
    return 2;
  }
  const { args } = parsed;
  // with --json, stdout is the JSON document alone: everything else goes to stderr
  const say = args.json ? io.err : io.out;
  const progress = io.progress ?? cliProgress(args.json);
  if (args.out !== undefined) {
    // before any part runs: a tour should not spend a minute to fail on its output folder
    try {
      await mkdir(args.out, { recursive: true });
    } catch (e) {
      io.err(`tessera-demo: --out ${args.out}: cannot create the directory: ${(e as Error).message.split('\n')[0]}`);
      return 2;
    }
  }
  let backend: BackendChoice;
  try {
    backend = await startBackend(args.backend);
  } catch (e) {
    // a backend name the user gave (--backend, TESSERA_BACKEND) that is wrong or cannot start here
    if (e instanceof TesseraError) {
      io.err(`tessera-demo: ${e.message}`);
      return 2;
    }
    throw e;
  }
  say(`backend: ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ''} — ${backend.reason}`);
  const results: Record<string, unknown> = { backend };
  let ok = true;
  const out = args.out !== undefined ? { out: args.out } : {};
  for (const part of args.parts) {
    try {
      if (part === 'core') {
        if (args.json) say('[core] running');
        const r = await runCore(args.seed);
        results.core = r;
        ok &&= r.safetensorsRoundTrip && Math.abs(r.probabilitySum - 1) < 1e-5;
        if (!args.json) io.out(`\n[core]\n${formatCore(r)}`);
      }
      if (part === 'sparse') {
        say('[sparse] loading the committed teacher and students');
        const r = await runSparse({ seed: args.seed, ...out, progress });
        results.sparse = r;
        ok &&= r.ok;
        if (!args.json) io.out(`\n[sparse]\n${'skipped' in r ? r.skipped : formatSparse(r)}`);
      }
      if (part === 'splat') {
        say('[splat] fitting Gaussians to views of the bunny');
        const r = await runSplat({ seed: args.seed, ...args.splat, ...out, progress });
        results.splat = r;
        ok &&= r.ok;
        if (!args.json) io.out(`\n[splat]\n${formatSplat(r)}`);
      }
      if (part === 'reconstruct') {
        say(
          `[reconstruct] tttLRM: views of ${args.reconstruct.scene === 'procedural' ? 'a procedural scene' : 'the bunny'} in, Gaussians out`,
        );
        const r = await runReconstruct({ seed: args.seed, ...args.reconstruct, ...out, progress });
        results.reconstruct = r;
        ok &&= r.ok;
        if (!args.json) io.out(`\n[reconstruct]\n${formatReconstruct(r)}`);
      }
      if (part === 'bench') {
        say("[bench] the packages' benchmark suites, quick size");
        const r = await runBench({ ...args.bench, ...out, progress });
        results.bench = r;
        ok &&= r.ok;
        if (!args.json) io.out(`\n[bench]\n${formatBench(r)}`);
      }
      if (part === 'lm') {
        const { task, ...lm } = args.lm;
        const common = { seed: args.seed, ...lm };
        say(`[lm ${task}] the byte-level language model`);
        if (task === 'generate') {
          const streaming = !args.json && io.stream !== undefined;
          const r = await lmGenerate({ prompt: 'The ', ...common, ...(streaming ? { onText: (t: string) => io.stream?.(t) } : {}) });
          if (streaming && !('skipped' in r)) io.stream?.('\n');
          results.lm = r;
          if (!args.json) io.out(`\n[lm generate]\n${'skipped' in r ? r.skipped : formatGenerate(r)}`);
        } else if (task === 'compare') {
          if (lm.decoder !== undefined) throw new LmPartError('lm: --decoder: compare runs every decoder; drop the option');
          const r = await lmCompare({ prompt: 'The ', ...common });
          results.lm = r;
          if (!args.json) io.out(`\n[lm compare]\n${'skipped' in r ? r.skipped : formatCompare(r)}`);
        } else {
          if (lm.decoder !== undefined) throw new LmPartError('lm: --decoder: bok compares softmax with Best-of-K; drop the option');
          const { prompt, ...rest } = common;
          const r = await lmBok({ ...rest, ...(prompt !== undefined ? { prompts: [prompt] } : {}) });
          results.lm = r;
          if (!args.json) io.out(`\n[lm bok]\n${'skipped' in r ? r.skipped : formatBok(r)}`);
        }
      }
    } catch (e) {
      progress.stop();
      if (!isUsageError(e)) throw e;
      const line = e.message.split('\n')[0] as string;
      io.err(`tessera-demo: ${line.startsWith(`${part}:`) ? line : `${part}: ${line}`}`);
      return 2;
    }
  }
  if (args.json) io.out(JSON.stringify(results, null, 2));
  return ok ? 0 : 1;
}
