/** Bits per radix-sort pass and the resulting bucket count. */
export const RADIX_BITS = 4;
export const RADIX_BUCKETS = 1 << RADIX_BITS;
/** Threads per radix workgroup; each handles RADIX_ITEMS consecutive entries. */
export const RADIX_THREADS = 256;
export const RADIX_ITEMS = 4;
/** Entries one radix workgroup covers. */
export const RADIX_BLOCK = RADIX_THREADS * RADIX_ITEMS;

export const RADIX_UNIFORMS = 'n : i32, capacity : i32, word : i32, shift : u32, numBlocks : i32,';

/** The digit of entry e for this pass (RADIX_BUCKETS marks an entry past the stored list). */
export const RADIX_WGSL = `
  const RADIX_BUCKETS = ${RADIX_BUCKETS}u;
  const RADIX_ITEMS = ${RADIX_ITEMS};
  const RADIX_BLOCK = ${RADIX_BLOCK};

  fn digitOf(e : i32, stored : i32) -> u32 {
    if (e >= stored) { return RADIX_BUCKETS; }
    return (bitcast<u32>(keys[KEY_WORDS * e + uniforms.word]) >> uniforms.shift) & (RADIX_BUCKETS - 1u);
  }
`;
