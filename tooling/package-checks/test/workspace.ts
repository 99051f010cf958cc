/**
 * The workspace as these checks see it: READMEs and their fenced blocks, package folders, and a way to
 * run a generated ES module as a program from inside a package, where `@tessera/*` imports resolve the
 * way a user's would (the package's own name through its `exports`, its dependencies through its
 * `node_modules`, all to built `dist/` files).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** This package's folder: it depends on every package, so the root README's examples run here. */
export const CHECKS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Languages whose blocks are programs to run; every other fence language (bash, text, …) is not run. */
export const RUNNABLE = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', mjs: 'js' } as const;

export interface FencedBlock {
  /** The fence's language word, lower-cased ('' for a bare fence). */
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Fenced code blocks of a Markdown text (CommonMark fences: ``` or ~~~, at most 3 spaces of indent). */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] as string;
      if (new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(line)) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    blocks.push({ lang: info.toLowerCase(), code: `${body.join('\n')}\n`, line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The root README and every `packages/*` and `apps/*` README, as paths relative to the root. */
export function readmes(): string[] {
  const found = ['README.md'];
  for (const group of ['packages', 'apps']) {
    const dir = join(ROOT, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (existsSync(join(dir, name, 'README.md'))) found.push(`${group}/${name}/README.md`);
    }
  }
  return found;
}

export function readText(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8');
}

/** The package folders (relative to the root) that hold a package.json. */
export function packageDirs(group: 'packages' | 'apps'): string[] {
  const dir = join(ROOT, group);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => `${group}/${name}`)
    .filter((d) => existsSync(join(ROOT, d, 'package.json')));
}

export function packageJson(dir: string): { name: string; dependencies?: Record<string, string> } & Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Writes `source` to a temporary `.mjs` file inside `dir` (absolute) and runs it with this Node, cwd
 * `dir`, asynchronously (the test worker's event loop stays free while the child computes).
 * Not under `node_modules`: Node resolves a package's own name only for files inside its folder proper.
 */
export async function runModule(dir: string, source: string, env: Record<string, string>, timeoutMs: number): Promise<RunResult> {
  const tmp = join(dir, '.package-checks');
  mkdirSync(tmp, { recursive: true });
  const file = join(tmp, `run-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, source);
  try {
    return await new Promise<RunResult>((done) => {
      execFile(
        process.execPath,
        [relative(dir, file)],
        { cwd: dir, env: childEnv(env), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const e = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
          done({
            code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
            signal: e?.signal ?? null,
            stdout: String(stdout),
            stderr: String(stderr),
          });
        },
      );
    });
  } finally {
    // only our file: removing the emptied folder raced a concurrent call between its mkdir and its write (ENOENT)
    rmSync(file, { force: true });
  }
}

/** The test process's environment without vitest's own variables, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VITEST') && k !== 'NODE_ENV') env[k] = v;
  return { ...env, ...extra };
}

/** The last `n` lines of a child's output, for failure messages. */
export function tail(text: string, n = 25): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}
