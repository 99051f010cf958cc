import { initBackend, tf, TesseraError } from '@tessera/tensor-core';
import { HELP, parseArgs } from './args.js';
import { formatCore, runCore } from './parts/core.js';

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** The CLI: returns the process exit code (0 ok, 1 a part failed its own checks, 2 bad usage). */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof TesseraError) {
      io.err(`tessera-demo: ${e.message}\n\n${HELP}`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    io.out(HELP);
    return 0;
  }
  tf.env().set('PROD', true);
  const backend = await initBackend(args.backend);
  const results: Record<string, unknown> = { backend };
  if (!args.json) io.out(`backend: ${backend.name}${backend.adapter ? ` (${backend.adapter})` : ''} — ${backend.reason}`);
  let ok = true;
  for (const part of args.parts) {
    if (part === 'core') {
      const r = await runCore(args.seed);
      results.core = r;
      ok &&= r.safetensorsRoundTrip && Math.abs(r.probabilitySum - 1) < 1e-5;
      if (!args.json) io.out(`\n[core]\n${formatCore(r)}`);
    }
  }
  if (args.json) io.out(JSON.stringify(results, null, 2));
  return ok ? 0 : 1;
}
