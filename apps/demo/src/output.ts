import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Tensor, type TesseraError, writeFileAtomic } from '@tessera/tensor-core';

/** A part's error class (the CLI prints its one-line message and exits 2). */
export type PartErrorClass = new (message: string) => TesseraError;

function errorLine(e: unknown): string {
  return (e as Error).message.split('\n')[0] as string;
}

/** Before any work: an --out that cannot be made a directory is the user's error (`part: --out DIR: …`). */
export async function prepareOut(out: string, part: string, PartError: PartErrorClass): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new PartError(`${part}: --out ${out}: cannot create the directory: ${errorLine(e)}`);
  }
}

/** Reads an RGB image tensor as a Float32Array and frees it. */
export async function pixels(image: Tensor): Promise<Float32Array> {
  const data = (await image.data()) as Float32Array;
  image.dispose();
  return data;
}

/**
 * Writes a part's files into `out` all or nothing: each is written atomically into a hidden staging folder
 * inside `out` (`.part-pid-random`, so the renames stay on one file system), then renamed into `out`; on a
 * failure the staged and the already moved files are removed and `PartError` says
 * `part: --out DIR: cannot write the results: …`. Returns the paths written, in `files`' order.
 */
export async function writeStaged(
  out: string,
  part: string,
  files: readonly (readonly [name: string, bytes: Uint8Array])[],
  PartError: PartErrorClass,
): Promise<string[]> {
  const staging = join(out, `.${part}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const moved: string[] = [];
  try {
    await mkdir(staging);
    for (const [name, bytes] of files) await writeFileAtomic(join(staging, name), bytes);
    for (const [name] of files) {
      await rename(join(staging, name), join(out, name));
      moved.push(join(out, name));
    }
    await rmdir(staging);
    return moved;
  } catch (e) {
    await Promise.all(moved.map((p) => rm(p, { force: true })));
    await rm(staging, { recursive: true, force: true });
    throw new PartError(`${part}: --out ${out}: cannot write the results: ${errorLine(e)}`);
  }
}
