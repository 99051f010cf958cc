import type { Tensor } from '@tensorflow/tfjs-core';
import { describeValue, ValueError } from '../errors.js';
import { readSafetensors } from './read.js';
import { type WriteSafetensorsOptions, writeSafetensors } from './write.js';

function checkPath(path: string): void {
  if (typeof path !== 'string' || path === '') {
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  }
}

/**
 * Writes tensors to a safetensors file at `path` (Node only). The bytes go to a temporary file in the
 * same directory, which is fsynced and then renamed over `path`: a crash or error never leaves a
 * half-written file, and an existing file at `path` stays intact unless the write succeeds. Arguments
 * are validated (see `writeSafetensors`) before the filesystem is touched.
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, opts: WriteSafetensorsOptions = {}): Promise<void> {
  checkPath(path);
  const bytes = await writeSafetensors(tensors, opts);
  // Imported here, not at the top, so browser bundles of tensor-core never resolve Node built-ins.
  const fs = await import('node:fs/promises');
  const { randomBytes } = await import('node:crypto');
  // Same directory as `path`, so the rename stays on one filesystem and is atomic.
  const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined;
  let created = false;
  try {
    handle = await fs.open(temp, 'wx');
    created = true;
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, path);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    // only a file this call created: 'wx' fails on a name that is already taken
    if (created) await fs.rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** Reads a safetensors file from `path` (Node only); see `readSafetensors`. The caller owns the tensors. */
export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  checkPath(path);
  const fs = await import('node:fs/promises');
  return readSafetensors(await fs.readFile(path));
}
