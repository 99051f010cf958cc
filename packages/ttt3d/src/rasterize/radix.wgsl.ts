import { KEY_WORDS, ORDER_WGSL } from './intersections.wgsl.js';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';

/** Bits per radix-sort pass and the resulting bucket count. */
export const RADIX_BITS = 8;
export const RADIX_BUCKETS = 1 << RADIX_BITS;
/** Threads per radix workgroup (one per bucket in the prefix step); each handles RADIX_ITEMS entries. */
export const RADIX_THREADS = 256;
export const RADIX_ITEMS = 4;
/** Entries one radix workgroup covers. */
export const RADIX_BLOCK = RADIX_THREADS * RADIX_ITEMS;

/**
 * What a radix pass sorts: entries of KEY_WORDS words (key, value), sorted by bits [shift, shift + 8) of the key.
 * - 'preDepth': the Gaussians themselves, read from the preprocess output — key the depth's float bits, value the
 *   index; `count` (= N) entries. The first pass of the depth sort, so no program has to copy them out first.
 * - 'depth': `[N, 2]` (depth bits, Gaussian) entries of the depth sort; `count` entries.
 * - 'tile': the intersection list (tile, Gaussian); min(total, capacity) entries, read from `order`.
 */
export type RadixSource = 'preDepth' | 'depth' | 'tile';

export const RADIX_UNIFORMS =
  'n : i32, capacity : i32, count : i32, shift : u32, numBlocks : i32, histBase : i32, tiles : i32, rangesBase : i32,';

/** Input bindings a radix program needs besides its own (`order` for the intersection list's length). */
export function radixSourceVariables(source: RadixSource): string[] {
  return source === 'tile' ? ['order'] : [];
}

/** WGSL of `source`: entryKey, entryValue, storedEntries; the digit of an entry; the workgroup's block limits. */
export function radixWGSL(source: RadixSource): string {
  const read =
    source === 'preDepth'
      ? `
  ${PRE_LAYOUT_WGSL}
  const KEY_WORDS = ${KEY_WORDS};
  fn entryKey(e : i32) -> u32 { return bitcast<u32>(keys[e * PRE_STRIDE + PRE_DEPTH]); }
  fn entryValue(e : i32) -> i32 { return e; }
  fn storedEntries() -> i32 { return uniforms.count; }`
      : `
  ${source === 'tile' ? ORDER_WGSL : `const KEY_WORDS = ${KEY_WORDS};`}
  fn entryKey(e : i32) -> u32 { return bitcast<u32>(keys[KEY_WORDS * e]); }
  fn entryValue(e : i32) -> i32 { return keys[KEY_WORDS * e + 1]; }
  fn storedEntries() -> i32 { return ${source === 'tile' ? 'storedIntersections()' : 'uniforms.count'}; }`;
  return `
  const RADIX_BUCKETS = ${RADIX_BUCKETS};
  const RADIX_THREADS = ${RADIX_THREADS};
  const RADIX_ITEMS = ${RADIX_ITEMS};
  const RADIX_BLOCK = ${RADIX_BLOCK};
  ${read}

  fn digitOf(key : u32) -> i32 {
    return i32((key >> uniforms.shift) & ${RADIX_BUCKETS - 1}u);
  }
`;
}
