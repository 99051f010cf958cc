/**
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), bit-exact
 * with Random123's philox4x32 at 10 rounds: a 128-bit counter and a 64-bit key give four 32-bit words.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (16-bit limbs keep every partial exact in a double). */
export function mulhi32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const hl = ah * bl;
  const lh = al * bh;
  const cross = (ll >>> 16) + (hl & 0xffff) + (lh & 0xffff);
  return (ah * bh + (hl >>> 16) + (lh >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** One Philox-4x32 block: `counter` (4 words) and `key` (2 words) → 4 words, written into `out`. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = (counter[0] as number) >>> 0;
  let c1 = (counter[1] as number) >>> 0;
  let c2 = (counter[2] as number) >>> 0;
  let c3 = (counter[3] as number) >>> 0;
  let k0 = (key[0] as number) >>> 0;
  let k1 = (key[1] as number) >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** 2^-24: a word's top 24 bits scaled into [0, 1), exact in float32 on every backend. */
export const UNIFORM_SCALE = 1 / 16777216;

/** Splits a non-negative safe integer into its low and high 32-bit words. */
export function splitWords(value: number): [number, number] {
  return [value >>> 0, Math.floor(value / 4294967296) >>> 0];
}

/**
 * Uniform floats in [0, 1) for stream positions offset … offset+n−1 under `seed`. Position j is word
 * j mod 4 of the Philox block with counter (⌊j/4⌋ low, ⌊j/4⌋ high, 0, 0) and key (seed low, seed high),
 * so consecutive calls with advancing offsets continue one stream.
 */
export function philoxUniformArray(n: number, seed: number, offset: number): Float32Array {
  const out = new Float32Array(n);
  const key = splitWords(seed);
  const words = new Uint32Array(4);
  const counter = [0, 0, 0, 0];
  let i = 0;
  let block = Math.floor(offset / 4);
  let lane = offset % 4;
  while (i < n) {
    [counter[0], counter[1]] = splitWords(block) as [number, number];
    philox4x32(counter, key, words);
    for (; lane < 4 && i < n; lane++, i++) out[i] = ((words[lane] as number) >>> 8) * UNIFORM_SCALE;
    lane = 0;
    block++;
  }
  return out;
}
