import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { noProgress } from '../src/progress.js';

/** The CLI's Io, recording what reaches stdout and stderr, with progress bars off. */
export function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), progress: noProgress }, out, err };
}

/** A maker of fresh temporary directories named `prefix…`, all removed after the calling test file. Call at top level. */
export function scratchDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}

/** The 8 bytes every PNG starts with. */
export const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** The `element vertex N` count and the header's byte length of a binary .ply. */
export function plyHeader(bytes: Buffer): { count: number; headerBytes: number; properties: number } {
  const end = bytes.indexOf('end_header\n');
  const header = bytes.subarray(0, end).toString('latin1');
  expect(header.startsWith('ply\nformat binary_little_endian 1.0\n')).toBe(true);
  const count = Number(/element vertex (\d+)/.exec(header)?.[1]);
  return {
    count,
    headerBytes: end + 'end_header\n'.length,
    properties: header.split('\n').filter((l) => l.startsWith('property float')).length,
  };
}
