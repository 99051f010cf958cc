import { checkRange, describeValue, tf, ValueError } from '@tessera/tensor-core';
import type { Tensor } from '@tessera/tensor-core';
import type { Penalties } from './validate.js';

/** Token ids per row: the prompt (for the repetition penalty) and the tokens generated so far. */
export interface TokenHistory {
  /** `[B][…]` prompt ids; only the repetition penalty reads them (HF and vLLM count the prompt too). */
  promptIds?: readonly (readonly number[])[];
  /** `[B][…]` generated ids; every penalty reads them. */
  generatedIds?: readonly (readonly number[])[];
}

/** Checks a `[B][…]` id list: B rows of integers in [0, V). */
export function checkTokenIds(ids: readonly (readonly number[])[] | undefined, rows: number, vocab: number, name: string): void {
  if (ids === undefined) return;
  if (!Array.isArray(ids) || ids.length !== rows) {
    throw new ValueError(`${name}: expected ${rows} arrays of token ids (one per row), received ${describeValue(ids)}`);
  }
  ids.forEach((row, b) => {
    if (!Array.isArray(row)) throw new ValueError(`${name}[${b}]: expected an array of token ids, received ${describeValue(row)}`);
    row.forEach((id, i) => {
      checkRange(id, { min: 0, max: vocab - 1, integer: true }, `${name}[${b}][${i}]`);
    });
  });
}

/** A dense `[B, V]` float32 tensor of per-row counts, built from the sparse ids on the host. */
function countTensor(rowsOfIds: readonly (readonly number[])[], rows: number, vocab: number): Tensor {
  const indices: number[] = [];
  const counts: number[] = [];
  rowsOfIds.forEach((row, b) => {
    const tally = new Map<number, number>();
    for (const id of row) tally.set(id, (tally.get(id) ?? 0) + 1);
    for (const [id, n] of tally) {
      indices.push(b, id);
      counts.push(n);
    }
  });
  if (counts.length === 0) return tf.zeros([rows, vocab]);
  return tf.tidy(() => tf.scatterND(tf.tensor2d(indices, [counts.length, 2], 'int32'), tf.tensor1d(counts, 'float32'), [rows, vocab]));
}

/**
 * Penalties on raw logits `s: [B, V]`, in this order: repetition (Keskar et al. 2019 as Hugging Face's
 * RepetitionPenaltyLogitsProcessor applies it: s < 0 ? s·θ : s/θ on every token seen in the prompt or the
 * generated ids), then OpenAI's presence and frequency penalties, s − presence·1[c > 0] − frequency·c with
 * c the token's count among the generated ids only (vLLM draws the same prompt/output line).
 */
export function applyPenalties(s: Tensor, penalties: Penalties, history: TokenHistory): Tensor {
  const [rows, vocab] = s.shape as [number, number];
  const generated = history.generatedIds ?? Array.from({ length: rows }, () => []);
  return tf.tidy(() => {
    let out = s;
    if (penalties.repetition !== 1) {
      const prompt = history.promptIds ?? Array.from({ length: rows }, () => []);
      const seen = tf.greater(
        countTensor(
          prompt.map((p, b) => [...p, ...(generated[b] ?? [])]),
          rows,
          vocab,
        ),
        0,
      );
      const scaled = tf.where(tf.less(out, 0), tf.mul(out, penalties.repetition), tf.div(out, penalties.repetition));
      out = tf.where(seen, scaled, out);
    }
    if (penalties.presence !== 0 || penalties.frequency !== 0) {
      const counts = countTensor(generated, rows, vocab);
      const presence = tf.mul(tf.cast(tf.greater(counts, 0), 'float32'), penalties.presence);
      out = tf.sub(out, tf.add(presence, tf.mul(counts, penalties.frequency)));
    }
    return out === s ? tf.clone(s) : out;
  });
}
