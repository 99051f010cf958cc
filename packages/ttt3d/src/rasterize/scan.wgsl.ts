/** Threads per scan workgroup; each handles SCAN_ITEMS consecutive elements. */
export const SCAN_THREADS = 256;
export const SCAN_ITEMS = 4;
/** Elements one scan workgroup covers. */
export const SCAN_BLOCK = SCAN_THREADS * SCAN_ITEMS;

/**
 * WGSL shared by the scan programs: element i of the scanned sequence is x[i·stride + offset] for i < n
 * and 0 up to the scan length m (so a scan of length n + 1 ends with the total).
 */
export const SCAN_WGSL = `
  const SCAN_THREADS = ${SCAN_THREADS};
  const SCAN_ITEMS = ${SCAN_ITEMS};
  var<workgroup> scanShared : array<i32, ${SCAN_THREADS}>;

  fn element(i : i32) -> i32 {
    if (i >= uniforms.n) { return 0; }
    return i32(x[i * uniforms.stride + uniforms.offset]);
  }

  /** Exclusive prefix sum of v over the workgroup's threads (Hillis–Steele; call in uniform control flow). */
  fn workgroupExclusiveSum(v : i32) -> i32 {
    let t = i32(localIndex);
    var acc = v;
    scanShared[t] = acc;
    workgroupBarrier();
    for (var step = 1; step < SCAN_THREADS; step = step << 1u) {
      var add = 0;
      if (t >= step) { add = scanShared[t - step]; }
      workgroupBarrier();
      acc += add;
      scanShared[t] = acc;
      workgroupBarrier();
    }
    return acc - v;
  }
`;

export const SCAN_UNIFORMS = 'n : i32, stride : i32, offset : i32, m : i32,';
