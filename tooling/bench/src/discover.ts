import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The bench discovery shared by `tessera-bench` and the GPU entry: one rule, so no suite is missed. */

/** The workspace root above `from` (the folder holding pnpm-workspace.yaml). */
export function workspaceRoot(from: string): string {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('tessera-bench: run inside the Tessera workspace');
    dir = up;
  }
  return dir;
}

/** Every package and app folder of the workspace, sorted. */
export function packageDirs(root: string): string[] {
  return ['packages', 'apps']
    .map((group) => join(root, group))
    .filter((g) => existsSync(g))
    .flatMap((g) =>
      readdirSync(g)
        .sort()
        .map((d) => join(g, d)),
    );
}

/** A package's `bench/*.bench.ts` files, sorted. */
export function benchFiles(dir: string): string[] {
  const b = join(dir, 'bench');
  if (!existsSync(b)) return [];
  return readdirSync(b)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .map((f) => join(b, f));
}
