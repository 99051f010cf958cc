import { type BackendPreference, describeValue, ValueError } from '@tessera/tensor-core';

export const PARTS = ['core'] as const;
export type Part = (typeof PARTS)[number];

export interface CliArgs {
  backend: BackendPreference;
  parts: Part[];
  seed: number;
  json: boolean;
  help: boolean;
}

export const HELP = `tessera-demo [part...] [options]

Runs the Tessera reference app on its embedded defaults: every part, or the parts named.

Parts:
  core        backend start-up, softmax/log-softmax kernels, Philox draws, safetensors round trip

Options:
  --backend B   auto (default) | webgpu | wasm | cpu; TESSERA_BACKEND overrides
  --seed N      seed for every random draw (default 0)
  --json        print the results as JSON instead of text
  -h, --help    this text
`;

const BACKENDS: readonly string[] = ['auto', 'webgpu', 'wasm', 'cpu'];

/** Parses the command line; unknown options and parts are errors naming them. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { backend: 'auto', parts: [], seed: 0, json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new ValueError(`${a}: expected a value, received nothing`);
      return v;
    };
    if (a === '--') continue;
    if (a === '-h' || a === '--help') args.help = true;
    else if (a === '--json') args.json = true;
    else if (a === '--backend') {
      const b = next();
      if (!BACKENDS.includes(b)) throw new ValueError(`--backend: expected one of ${BACKENDS.join(', ')}, received ${describeValue(b)}`);
      args.backend = b as BackendPreference;
    } else if (a === '--seed') {
      const raw = next();
      const seed = Number(raw);
      if (!Number.isSafeInteger(seed) || seed < 0) {
        throw new ValueError(`--seed: expected a non-negative integer, received ${describeValue(raw)}`);
      }
      args.seed = seed;
    } else if (a.startsWith('-'))
      throw new ValueError(`option: expected one of --backend, --seed, --json, --help, received ${describeValue(a)}`);
    else if ((PARTS as readonly string[]).includes(a)) args.parts.push(a as Part);
    else throw new ValueError(`part: expected one of ${PARTS.join(', ')}, received ${describeValue(a)}`);
  }
  if (args.parts.length === 0) args.parts = [...PARTS];
  return args;
}
