import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type Tensor } from '@tessera/tensor-core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** One fixture folder: its id (`folder/case`), path and parsed config.json. */
export interface Fixture {
  id: string;
  dir: string;
  config: Record<string, unknown>;
}

/**
 * The fixture cases under `test/fixtures/<folder>` for each of `folders` that exists (the real library's, made on the
 * GPU machine, and the PyTorch transcription's), split by whether config.json names a single layer under `layerKey`.
 */
export function interopFixtures(folders: readonly string[], layerKey: string): { layers: Fixture[]; models: Fixture[] } {
  const all: Fixture[] = folders
    .map((d) => join(ROOT, d))
    .filter((d) => existsSync(d))
    .flatMap((root) =>
      readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'config.json')))
        .sort()
        .map((name) => ({
          id: `${root.split('/').pop()}/${name}`,
          dir: join(root, name),
          config: JSON.parse(readFileSync(join(root, name, 'config.json'), 'utf8')) as Record<string, unknown>,
        })),
    );
  const isLayer = (f: Fixture) => typeof f.config[layerKey] === 'string';
  return { layers: all.filter(isLayer), models: all.filter((f) => !isLayer(f)) };
}

/**
 * The cases a generator recorded as failed in `test/fixtures/<folder>/errors.json` (make_fla_fixtures.py and
 * make_mamba_fixtures.py write it when a case raises, and delete it on a run where none does); [] without one.
 */
export function fixtureErrors(folder: string): string[] {
  const path = join(ROOT, folder, 'errors.json');
  return existsSync(path) ? Object.keys(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : [];
}

/** A fixture's safetensors file. */
export function read(dir: string, file: string): Record<string, Tensor> {
  return readSafetensors(readFileSync(join(dir, file)));
}

/** A named tensor of a fixture file; a missing one is an error naming it. */
export function get(dict: Record<string, Tensor>, name: string): Tensor {
  const t = dict[name];
  if (t === undefined) throw new Error(`fixture lacks ${name}`);
  return t;
}
