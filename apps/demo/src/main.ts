import { initBackend, TesseraError } from '@tessera/tensor-core';
import { parseArgs } from './args.js';
import { formatCore, runCore } from './parts/core.js';
import { formatSparse, runSparse, SparsePartError } from './sparse/part.js';

export interface Io {
  /** The results: text, or JSON with --json. */
  out(text: string): void;
  /** Progress, notices and errors. */
  err(text: string): void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

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
  let backend: Awaited<ReturnType<typeof initBackend>>;
  try {
    backend = await initBackend(args.backend);
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
  for (const part of args.parts) {
    if (part === 'core') {
      if (args.json) say('[core] running');
      const r = await runCore(args.seed);
      results.core = r;
      ok &&= r.safetensorsRoundTrip && Math.abs(r.probabilitySum - 1) < 1e-5;
      if (!args.json) io.out(`\n[core]\n${formatCore(r)}`);
    }
    if (part === 'sparse') {
      say('[sparse] loading the committed teacher and students');
      try {
        const r = await runSparse({ seed: args.seed, ...(args.out !== undefined ? { out: args.out } : {}), progress: io.err });
        results.sparse = r;
        ok &&= r.ok;
        if (!args.json) io.out(`\n[sparse]\n${'skipped' in r ? r.skipped : formatSparse(r)}`);
      } catch (e) {
        if (!(e instanceof SparsePartError)) throw e;
        io.err(`tessera-demo: ${e.message}`);
        return 2;
      }
    }
  }
  if (args.json) io.out(JSON.stringify(results, null, 2));
  return ok ? 0 : 1;
}
