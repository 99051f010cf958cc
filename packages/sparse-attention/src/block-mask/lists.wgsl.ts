/**
 * WGSL for programs that run one workgroup per line (a block row or column) and must not run past the
 * last line: the backend folds grids wider than 65535 workgroups into two or three dimensions, so a few
 * trailing workgroups have no line. The line index is read through `workgroupUniformLoad` so that the
 * early return of those workgroups stays in uniform control flow (the barriers after it are legal).
 * Needs `LINEAR_WORKGROUP_INDEX`.
 */
export const UNIFORM_LINE_WGSL = `
  var<workgroup> lineShared : i32;
  fn uniformLine() -> i32 {
    if (localIndex == 0u) { lineShared = i32(linearWorkgroupIndex()); }
    return workgroupUniformLoad(&lineShared);
  }
`;

/** Items a thread tests per pass of `compactLine`: one bit each in a u32. */
const CHUNK = 32;

/**
 * WGSL `fn compactLine(line : i32, n : i32)`: writes to `result[line·n, (line + 1)·n)` the ascending
 * indices i < n with `kept(line, i)` (a function the program defines), then −1 up to n: one line of
 * FlexAttention's index lists. The workgroup takes the line in passes of `wg`·32 items; in a pass each
 * thread tests a contiguous run of at most 32 items into a bit mask, the runs' counts are prefix-summed
 * through `counts` (a workgroup array of ≥ `wg` u32), and each thread writes its kept items at its
 * offset, so the lists come out ordered without a sort. Call it from uniform control flow. `counts` may
 * alias memory that `kept` reads when n ≤ `wg`·32 (one pass): every thread has finished testing before
 * it is written.
 */
export function compactLineWgsl(wg: number, counts: string): string {
  // a run of len ≤ 32 items per thread and pass; the prefix sum is a loop over wg counts (wg ≤ 256)
  return `
  fn compactLine(line : i32, n : i32) {
    let tid = i32(localIndex);
    var written = 0;
    for (var seg = 0; seg < n; seg += ${wg * CHUNK}) {
      let len = (min(n - seg, ${wg * CHUNK}) + ${wg - 1}) / ${wg};
      let first = seg + tid * len;
      var bits = 0u;
      for (var m = 0; m < len; m++) {
        let i = first + m;
        if (i < n && kept(line, i)) { bits |= 1u << u32(m); }
      }
      workgroupBarrier();
      ${counts}[tid] = countOneBits(bits);
      workgroupBarrier();
      var before = 0u;
      var total = 0u;
      for (var t = 0; t < ${wg}; t++) {
        let c = ${counts}[t];
        total += c;
        if (t < tid) { before += c; }
      }
      var slot = written + i32(before);
      for (var m = 0; m < len; m++) {
        if ((bits & (1u << u32(m))) != 0u) {
          result[line * n + slot] = first + m;
          slot++;
        }
      }
      written += i32(total);
      workgroupBarrier();
    }
    for (var p = written + tid; p < n; p += ${wg}) { result[line * n + p] = -1; }
  }
`;
}
