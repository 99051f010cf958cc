import { COLLECT_WAT } from './collect.wat.js';
import { assembleWat } from './wat.js';

/**
 * Where the last `collectAtLeast` left the candidates, `ids[j]` and its logit `xs[j]`, j < its count, in
 * increasing id: the arrays it was given (JS pass) or views of the SIMD module's memory (valid until the
 * next call).
 */
export const collected: { ids: Int32Array; xs: Float32Array } = { ids: new Int32Array(0), xs: new Float32Array(0) };

/**
 * Appends to `ids`, from position `m`, the ids in [from, to) whose logit is ≥ `floor`, branch-free (every id is
 * written at the count and the count advances by the comparison's 0 or 1: the exit of a skip loop on ~150 scattered
 * candidates of 1024 was mispredicted each time). Returns the new count, or −1 for a range holding a NaN. Also the
 * block step of top-candidates.ts' `scanBlocks`.
 */
export function appendAtLeast(s: Float32Array, from: number, to: number, floor: number, ids: Int32Array, m: number): number {
  let nan = 0;
  let i = from;
  // four loads before their stores (a load after a store to a data-dependent index waited on it); a NaN
  // fails every comparison, so one NaN test of the four's sum (NaN also for +∞ with −∞: then the range is
  // checked value by value)
  for (; i + 4 <= to; i += 4) {
    const x0 = s[i] as number;
    const x1 = s[i + 1] as number;
    const x2 = s[i + 2] as number;
    const x3 = s[i + 3] as number;
    ids[m] = i;
    m += +(x0 >= floor);
    ids[m] = i + 1;
    m += +(x1 >= floor);
    ids[m] = i + 2;
    m += +(x2 >= floor);
    ids[m] = i + 3;
    m += +(x3 >= floor);
    nan |= +Number.isNaN(x0 + x1 + x2 + x3);
  }
  for (; i < to; i++) {
    const x = s[i] as number;
    ids[m] = i;
    m += +(x >= floor);
    nan |= +Number.isNaN(x);
  }
  return nan !== 0 && holdsNaN(s, from, to) ? -1 : m;
}

/** The row pass of `selectTopK` in JS: `appendAtLeast` over the row, then the candidates' logits gathered. */
function collectJs(s: Float32Array, floor: number, ids: Int32Array, xs: Float32Array): number {
  const m = appendAtLeast(s, 0, s.length, floor, ids, 0);
  if (m < 0) return m;
  // gathered four at a time (loads before stores, as above)
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const x0 = s[ids[j] as number] as number;
    const x1 = s[ids[j + 1] as number] as number;
    const x2 = s[ids[j + 2] as number] as number;
    const x3 = s[ids[j + 3] as number] as number;
    xs[j] = x0;
    xs[j + 1] = x1;
    xs[j + 2] = x2;
    xs[j + 3] = x3;
  }
  for (; j < m; j++) xs[j] = s[ids[j] as number] as number;
  return m;
}

function holdsNaN(s: Float32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (Number.isNaN(s[i] as number)) return true;
  return false;
}

/**
 * Entry b (16 bytes) of the SIMD pass' compaction table: the i8x16.swizzle that moves the four-byte lanes
 * set in the 4-bit mask b to the front, in order (the other bytes pick lane 0; what they write lies past
 * the count and is overwritten).
 */
const COMPACTION_TABLE_BYTES = 256;

function compactionTable(): Uint8Array {
  const table = new Uint8Array(COMPACTION_TABLE_BYTES);
  for (let mask = 0; mask < 16; mask++) {
    let to = 0;
    for (let lane = 0; lane < 4; lane++) {
      if ((mask & (1 << lane)) === 0) continue;
      for (let b = 0; b < 4; b++) table[16 * mask + 4 * to + b] = 4 * lane + b;
      to++;
    }
  }
  return table;
}

type CollectFn = (row: number, n: number, floor: number, ids: number, xs: number) => number;

/**
 * The SIMD module, instantiated on first use. Its memory: the table, then regions of `capacity` values for
 * the row, the ids and the logits, with views of each.
 */
let simd:
  | { collect: CollectFn; memory: WebAssembly.Memory; row: Float32Array; ids: Int32Array; xs: Float32Array; capacity: number }
  | undefined;

/**
 * Whether this engine runs the SIMD module, decided once: it validates (WebAssembly SIMD) and instantiates
 * (a content security policy without 'wasm-unsafe-eval' forbids compiling it).
 */
let simdSupported: boolean | undefined;

function supported(): boolean {
  if (simdSupported === undefined) {
    try {
      simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(assembleWat(COLLECT_WAT)) && simdFor(0) !== undefined;
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported;
}

/** The module with room for a row of `vocab` values and its outputs, each region padded by a vector. */
function simdFor(vocab: number): NonNullable<typeof simd> {
  const capacity = vocab + 4;
  if (simd === undefined) {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(assembleWat(COLLECT_WAT)), { env: { memory } });
    new Uint8Array(memory.buffer).set(compactionTable());
    const none = new Float32Array(0);
    simd = { collect: instance.exports.collect as CollectFn, memory, row: none, ids: new Int32Array(0), xs: none, capacity: 0 };
  }
  if (simd.capacity < capacity) {
    const pages = Math.ceil((COMPACTION_TABLE_BYTES + 12 * capacity - simd.memory.buffer.byteLength) / 65536);
    if (pages > 0) simd.memory.grow(pages);
    // growing detached the old views
    const { buffer } = simd.memory;
    simd.row = new Float32Array(buffer, COMPACTION_TABLE_BYTES, capacity);
    simd.ids = new Int32Array(buffer, simd.row.byteOffset + 4 * capacity, capacity);
    simd.xs = new Float32Array(buffer, simd.ids.byteOffset + 4 * capacity, capacity);
    simd.capacity = capacity;
  }
  return simd;
}

const bits = new Float32Array(1);
const bitsInt = new Int32Array(bits.buffer);

/**
 * The least float32 ≥ `floor` (a double; +∞ above the float32s): for a float32 x, x ≥ floor ⇔ x ≥ ceil32(floor),
 * so the SIMD pass compares in float32 what the JS pass compares in double.
 */
function ceil32(floor: number): number {
  bits[0] = floor;
  const y = bits[0] as number;
  if (y >= floor) return y;
  // y < floor: step up by one float32; the bit pattern steps away from zero for y > 0, toward it for y < 0
  if (y === 0) return 2 ** -149;
  bitsInt[0] = (bitsInt[0] as number) + (y > 0 ? 1 : -1);
  return bits[0] as number;
}

/**
 * Which row pass `collectAtLeast` takes: 'auto' (SIMD where WebAssembly SIMD runs, else JS), or one
 * forced — for the tests, which run both over the same rows.
 */
export const rowPass: { mode: 'auto' | 'js' | 'simd' } = { mode: 'auto' };

/**
 * The ids i of the row `s` with s[i] ≥ `floor` (a double) and their logits, in increasing id, left in
 * `collected`; returns how many, or −1 when the row holds a NaN. The JS pass writes them to `ids` and `xs`
 * (length ≥ V); the SIMD pass (collect.wat.ts) copies the row into its module's memory, four values a
 * step — on 1024-token rows ~1.7 → ~0.6 µs with the copy (Node 20, loaded 2-core VM).
 */
export function collectAtLeast(s: Float32Array, floor: number, ids: Int32Array, xs: Float32Array): number {
  if (rowPass.mode === 'js' || (rowPass.mode === 'auto' && !supported())) {
    collected.ids = ids;
    collected.xs = xs;
    return collectJs(s, floor, ids, xs);
  }
  const m = simdFor(s.length);
  m.row.set(s);
  collected.ids = m.ids;
  collected.xs = m.xs;
  return m.collect(m.row.byteOffset, s.length, ceil32(floor), m.ids.byteOffset, m.xs.byteOffset);
}
