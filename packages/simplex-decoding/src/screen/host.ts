import type { HostTensor } from '@tessera/tensor-core';

/** `screenReference` on typed arrays: one read of each row, then a copy of it (or its +∞ limit). */
export function screenHost(z: HostTensor): HostTensor[] {
  const [rows, vocab] = z.shape as [number, number];
  const src = z.values as Float32Array;
  const out = new Float32Array(rows * vocab);
  const nanRows = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = src.subarray(r * vocab, (r + 1) * vocab);
    let infinite = false;
    let nan = false;
    let masked = 0;
    for (let i = 0; i < vocab; i++) {
      const v = row[i] as number;
      if (v === Number.POSITIVE_INFINITY) infinite = true;
      else if (v === Number.NEGATIVE_INFINITY) masked++;
      else if (Number.isNaN(v)) nan = true;
    }
    nanRows[r] = nan || masked === vocab ? 1 : 0;
    if (!infinite) {
      out.set(row, r * vocab);
      continue;
    }
    for (let i = 0; i < vocab; i++) out[r * vocab + i] = row[i] === Number.POSITIVE_INFINITY ? 0 : Number.NEGATIVE_INFINITY;
  }
  return [
    { shape: [rows, vocab], dtype: 'float32', values: out },
    { shape: [rows, 1], dtype: 'bool', values: nanRows },
  ];
}
