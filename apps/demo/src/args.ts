import { Argument, Command, CommanderError, Option } from 'commander';
import { DECODERS, type DecoderName } from './lm/part.js';
import { SCENES, type SceneName } from './reconstruct/part.js';

export const PARTS = ['core', 'sparse', 'splat', 'bench', 'lm', 'reconstruct'] as const;
export type Part = (typeof PARTS)[number];

/** What `lm` does, named right after it (`lm generate`); generate by default. */
export const LM_TASKS = ['generate', 'compare', 'bok'] as const;
export type LmTask = (typeof LM_TASKS)[number];

const BACKENDS = ['auto', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendArg = (typeof BACKENDS)[number];

export interface CliArgs {
  backend: BackendArg;
  parts: Part[];
  seed: number;
  json: boolean;
  /** Directory for the parts' files (PNGs, JSON); none written without it. */
  out?: string;
  /** The splat part's settings that were given (the rest are its defaults). */
  splat: { steps?: number; imageSize?: number; views?: number };
  /** The bench part's suites, when given. */
  bench: { suites?: string[] | 'all' };
  /** The lm part's task and the settings that were given. */
  lm: { task: LmTask; prompt?: string; decoder?: DecoderName; maxTokens?: number; temperature?: number; mix?: string; dir?: string };
  /** The reconstruct part's settings that were given (`fitSteps` from --steps, `weights` from --weights). */
  reconstruct: { views?: number; stream?: boolean; virtualCount?: number; scene?: SceneName; fitSteps?: number; weights?: string };
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

function positiveInt(flag: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 1) {
      throw new CommanderError(2, 'tessera.int', `option '${flag}': expected a positive integer, received "${raw}"`);
    }
    return n;
  };
}

function positiveNumber(flag: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new CommanderError(2, 'tessera.number', `option '${flag}': expected a positive number, received "${raw}"`);
    }
    return n;
  };
}

function parseSuites(raw: string): string[] | 'all' {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0)
    throw new CommanderError(2, 'tessera.suites', `option '--suites <names>': expected suite names or all, received "${raw}"`);
  return names.length === 1 && names[0] === 'all' ? 'all' : names;
}

/** The command line's grammar (commander). A fresh one per parse: commander keeps parsed state. */
function program(out: (text: string) => void): Command {
  return new Command('tessera-demo')
    .description('Runs the Tessera reference app on its embedded defaults: every part, or the parts named.')
    .addArgument(
      new Argument(
        '[part...]',
        "parts to run (default: all): core = backend start-up, softmax, Philox, safetensors; sparse = the sparse-attention distillation study; splat = fit Gaussians to views of the bunny; bench = the packages' benchmark suites, ours vs baseline; lm [generate|compare|bok] = the byte-level language model decoded with the simplex samplers; reconstruct = the trained tttLRM turns views of the bunny or a procedural scene into Gaussians (one pass, or --stream), timed beside splat's fit for the same PSNR",
      ).choices([...PARTS, ...LM_TASKS]),
    )
    .addOption(
      new Option('--backend <name>', 'the tfjs backend (TESSERA_BACKEND overrides it)')
        .choices(BACKENDS)
        .default('auto' satisfies BackendArg),
    )
    .addOption(new Option('--seed <n>', 'seed for every random draw').argParser(parseSeed).default(0))
    .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
    .option('--out <dir>', "directory for the parts' files (PNG, GIF, .ply, JSON)")
    .addOption(
      new Option(
        '--steps <n>',
        'splat: optimisation steps (default 300); reconstruct: most steps of its splat baseline (default 100)',
      ).argParser(positiveInt('--steps <n>')),
    )
    .addOption(
      new Option('--image-size <px>', 'splat: side of the training and held-out images (default 64)').argParser(
        positiveInt('--image-size <px>'),
      ),
    )
    .addOption(
      new Option(
        '--views <n>',
        'splat: training views around the bunny (default 12); reconstruct: input views of tttLRM, 1–64 (default 8)',
      ).argParser(positiveInt('--views <n>')),
    )
    .option('--stream', 'reconstruct: push the views into tttLRM 4 at a time (streaming), the held-out PSNR after each push')
    .addOption(
      new Option(
        '--virtual-count <n>',
        "reconstruct: decode Gaussians from this many of the input views, 1–64 (default the weights' cap: 32 for the committed ones)",
      ).argParser(positiveInt('--virtual-count <n>')),
    )
    .addOption(
      new Option('--scene <name>', 'reconstruct: the scene (default bunny; procedural = held-out coloured primitives)').choices(SCENES),
    )
    .addOption(
      new Option(
        '--suites <names>',
        'bench: comma-separated suite names, or all (default philox,softmax,sampling,mamba3,rasterize)',
      ).argParser(parseSuites),
    )
    .option('--prompt <text>', 'lm: the prompt (default "The ")')
    .addOption(new Option('--decoder <name>', 'lm generate: the decoder (default greedy)').choices(DECODERS))
    .addOption(new Option('--max-tokens <n>', 'lm: bytes to generate (default 200)').argParser(positiveInt('--max-tokens <n>')))
    .addOption(new Option('--temperature <t>', 'lm: sampling temperature').argParser(positiveNumber('--temperature <t>')))
    .option('--mix <name>', 'lm: which trained layer mix to load (default hybrid)')
    .option(
      '--weights <dir>',
      'lm, reconstruct: a weights folder (config.json + model.safetensors) instead of the committed one — for lm also an fla or mamba_ssm checkpoint (byte-level); name the part it is for',
    )
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
  const opts = cmd.opts<{
    backend: BackendArg;
    seed: number;
    json?: boolean;
    out?: string;
    steps?: number;
    imageSize?: number;
    views?: number;
    suites?: string[] | 'all';
    prompt?: string;
    decoder?: DecoderName;
    maxTokens?: number;
    temperature?: number;
    mix?: string;
    weights?: string;
    stream?: boolean;
    virtualCount?: number;
    scene?: SceneName;
  }>();
  const words = (cmd.processedArgs[0] as (Part | LmTask)[] | undefined) ?? [];
  const named: Part[] = [];
  let task: LmTask = 'generate';
  for (const [i, word] of words.entries()) {
    if ((LM_TASKS as readonly string[]).includes(word)) {
      if (words[i - 1] !== 'lm') return { kind: 'usage', message: `'${word}' is a task of the lm part: write "lm ${word}"` };
      task = word as LmTask;
    } else named.push(word as Part);
  }
  const parts: Part[] = named.length > 0 ? [...new Set(named)] : [...PARTS];
  // --weights names one model's folder: it goes to the part that is run, and cannot serve both
  const forReconstruct = opts.weights !== undefined && parts.includes('reconstruct');
  if (forReconstruct && parts.includes('lm')) {
    return {
      kind: 'usage',
      message: `option '--weights <dir>': applies to one part, lm or reconstruct, and both would run: name the part (e.g. "reconstruct --weights ${opts.weights}")`,
    };
  }
  return {
    kind: 'run',
    args: {
      backend: opts.backend,
      seed: opts.seed,
      json: opts.json === true,
      ...(opts.out !== undefined ? { out: opts.out } : {}),
      parts,
      splat: {
        ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
        ...(opts.imageSize !== undefined ? { imageSize: opts.imageSize } : {}),
        ...(opts.views !== undefined ? { views: opts.views } : {}),
      },
      bench: opts.suites !== undefined ? { suites: opts.suites } : {},
      lm: {
        task,
        ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}),
        ...(opts.decoder !== undefined ? { decoder: opts.decoder } : {}),
        ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
        ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
        ...(opts.mix !== undefined ? { mix: opts.mix } : {}),
        ...(opts.weights !== undefined && !forReconstruct ? { dir: opts.weights } : {}),
      },
      reconstruct: {
        ...(opts.views !== undefined ? { views: opts.views } : {}),
        ...(opts.stream === true ? { stream: true } : {}),
        ...(opts.virtualCount !== undefined ? { virtualCount: opts.virtualCount } : {}),
        ...(opts.scene !== undefined ? { scene: opts.scene } : {}),
        ...(opts.steps !== undefined ? { fitSteps: opts.steps } : {}),
        ...(forReconstruct ? { weights: opts.weights } : {}),
      },
    },
  };
}
