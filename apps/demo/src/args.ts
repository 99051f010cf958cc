import { Argument, Command, CommanderError, Option } from 'commander';

export const PARTS = ['core', 'sparse'] as const;
export type Part = (typeof PARTS)[number];

const BACKENDS = ['auto', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendArg = (typeof BACKENDS)[number];

export interface CliArgs {
  backend: BackendArg;
  parts: Part[];
  seed: number;
  json: boolean;
  /** Directory for the parts' files (PNGs, JSON); none written without it. */
  out?: string;
}

/** What parsing the command line produced: arguments to run with, help text to print, or a usage error. */
export type Parsed = { kind: 'run'; args: CliArgs } | { kind: 'help'; text: string } | { kind: 'usage'; message: string };

function parseSeed(raw: string): number {
  const seed = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new CommanderError(2, 'tessera.seed', `option '--seed <n>': expected a non-negative integer, received "${raw}"`);
  }
  return seed;
}

/** The command line's grammar (commander). A fresh one per parse: commander keeps parsed state. */
function program(out: (text: string) => void): Command {
  return new Command('tessera-demo')
    .description('Runs the Tessera reference app on its embedded defaults: every part, or the parts named.')
    .addArgument(
      new Argument(
        '[part...]',
        'parts to run (default: all): core = backend start-up, softmax, Philox, safetensors; sparse = the sparse-attention distillation study',
      ).choices(PARTS),
    )
    .addOption(
      new Option('--backend <name>', 'the tfjs backend (TESSERA_BACKEND overrides it)')
        .choices(BACKENDS)
        .default('auto' satisfies BackendArg),
    )
    .addOption(new Option('--seed <n>', 'seed for every random draw').argParser(parseSeed).default(0))
    .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
    .option('--out <dir>', "directory for the parts' files (PNGs, JSON)")
    .helpOption('-h, --help', 'show this help')
    .addHelpText(
      'after',
      '\nExit codes: 0 every part passed its checks, 1 a part did not,\n2 bad usage (including a backend this machine cannot start).',
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: () => {}, outputError: () => {} });
}

/** The help text. */
export function helpText(): string {
  let text = '';
  program((t) => {
    text += t;
  }).outputHelp();
  return text.trimEnd();
}

/** Parses `argv` (the user's arguments, without node and the script); never exits the process. */
export function parseArgs(argv: readonly string[]): Parsed {
  let help = '';
  const cmd = program((text) => {
    help += text;
  });
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return { kind: 'help', text: help.trimEnd() };
    return { kind: 'usage', message: e.message.replace(/^error: /, '') };
  }
  const opts = cmd.opts<{ backend: BackendArg; seed: number; json?: boolean; out?: string }>();
  const named = cmd.processedArgs[0] as Part[] | undefined;
  return {
    kind: 'run',
    args: {
      backend: opts.backend,
      seed: opts.seed,
      json: opts.json === true,
      ...(opts.out !== undefined ? { out: opts.out } : {}),
      parts: named && named.length > 0 ? [...new Set(named)] : [...PARTS],
    },
  };
}
