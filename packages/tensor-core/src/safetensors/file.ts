import type { Tensor } from '@tensorflow/tfjs-core';
import { describeValue, ValueError } from '../errors.js';
import { writeFileAtomic } from '../io/write-file-atomic.js';
import { readSafetensors } from './read.js';
import { type WriteSafetensorsOptions, writeSafetensors } from './write.js';

function checkPath(path: string): void {
  if (typeof path !== 'string' || path === '') {
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  }
}

/**
 * Writes tensors to a safetensors file at `path` (Node only) with `writeFileAtomic`, so no half-written
 * file is ever left. Arguments are validated (see `writeSafetensors`) before the filesystem is touched.
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, opts: WriteSafetensorsOptions = {}): Promise<void> {
  checkPath(path);
  await writeFileAtomic(path, await writeSafetensors(tensors, opts));
}

/** Reads a safetensors file from `path` (Node only); see `readSafetensors`. The caller owns the tensors. */
export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  checkPath(path);
  const fs = await import('node:fs/promises');
  return readSafetensors(await fs.readFile(path));
}
