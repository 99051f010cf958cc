import { describeValue, ValueError } from '../errors.js';

/**
 * Writes `bytes` to `path` (Node only) atomically: into a temporary file in the same directory, fsynced,
 * then renamed over `path`, so a crash or error never leaves a half-written file and an existing file at
 * `path` stays intact unless the write succeeds.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`bytes: expected a Uint8Array, received ${describeValue(bytes)}`);
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
