import { describeValue, ValueError, writeFileAtomic } from '@tessera/tensor-core';
import type { Gaussians } from '../gaussians/gaussians.js';
import { decodePly } from './decode.js';
import { encodePly } from './encode.js';

/**
 * Writes `g` as a standard 3DGS .ply (`encodePly`) to `path` (Node only), atomically: a temporary file
 * in the same directory is fsynced and renamed over `path`, so no half-written file is ever left.
 */
export async function writePly(path: string, g: Gaussians): Promise<void> {
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  await writeFileAtomic(path, await encodePly(g));
}

/** Reads a 3DGS .ply from `path` (Node only); see `decodePly`. The caller owns the returned Gaussians. */
export async function readPly(path: string): Promise<Gaussians> {
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  const fs = await import('node:fs/promises');
  return decodePly(await fs.readFile(path));
}
