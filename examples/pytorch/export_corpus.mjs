// Exports the demo's Brown corpus split to plain text, once, for train_fsdp.py (the GPU machine has no Node packages).
//   node examples/pytorch/export_corpus.mjs [out_dir]        (default .peers/corpus; needs `pnpm build` first)
// Writes brown-train.txt and brown-heldout.txt: the very bytes the demo trains and evaluates on (apps/demo/src/lm/data.ts:
// tags stripped, one paragraph a line, every 20th document held out), so losses here and there compare.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = resolve(process.argv[2] ?? join(root, '.peers/corpus'));
const dataJs = join(root, 'apps/demo/dist/lm/data.js');

let data;
try {
  data = await import(pathToFileURL(dataJs).href);
} catch (err) {
  console.error(`export_corpus: cannot load the demo's data code (${dataJs}): ${err.message}`);
  console.error('build it first: npx --yes pnpm@10.34.8 build   (or: cd apps/demo && npx --yes pnpm@10.34.8 build)');
  process.exit(1);
}

const split = data.splitBrown();
mkdirSync(out, { recursive: true });
for (const [name, bytes] of [
  ['brown-train.txt', split.train],
  ['brown-heldout.txt', split.heldOut],
]) {
  const path = join(out, name);
  // tmp + rename: a killed run leaves no half-written corpus behind
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
}
console.log(
  JSON.stringify({
    out,
    train: { docs: split.trainDocs, bytes: split.train.length },
    heldOut: { docs: split.heldOutDocs, bytes: split.heldOut.length },
  }),
);
