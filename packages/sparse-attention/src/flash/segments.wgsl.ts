/**
 * How a flash program walks its key (or, in the dK/dV program, query) segments, shared by the three
 * flash programs. Dense mode (`uniforms.sparse == 0`) has one segment, the whole sequence; sparse mode
 * visits the blocks listed for the workgroup's block row (`num [rows]` valid entries of
 * `idx [rows, width]`, FlexAttention's kv_num_blocks / kv_indices or their transpose), block j covering
 * positions [j·size, min((j + 1)·size, length)).
 *
 * Loop bounds are read through `workgroupUniformLoad` so that WGSL's uniformity analysis accepts the
 * barriers inside the loops (values derived from `workgroupId` or storage reads are not provably uniform).
 */
export function segmentsWgsl(num: string, idx: string): string {
  return `
  var<workgroup> segCtl : vec2<i32>;
  var<workgroup> cntCtl : i32;

  // number of segments of block row \`row\` (1 in dense mode)
  fn segmentCount(row : i32) -> i32 {
    workgroupBarrier();
    if (localIndex == 0u) {
      var n = 1;
      if (uniforms.sparse != 0) { n = ${num}[row]; }
      cntCtl = n;
    }
    return workgroupUniformLoad(&cntCtl);
  }

  // [start, end) of segment n of block row \`row\` as this thread reads it (no barrier: not for loop bounds)
  fn segmentRange(row : i32, width : i32, n : i32, size : i32, length : i32) -> vec2<i32> {
    if (uniforms.sparse == 0) { return vec2<i32>(0, length); }
    let j = ${idx}[row * width + n];
    return vec2<i32>(j * size, min(j * size + size, length));
  }

  // [start, end) of segment n of block row \`row\`, blocks of \`size\` over \`length\` positions
  fn segment(row : i32, width : i32, n : i32, size : i32, length : i32) -> vec2<i32> {
    // every thread has read the previous segment before thread 0 overwrites it
    workgroupBarrier();
    if (localIndex == 0u) {
      var s = vec2<i32>(0, length);
      if (uniforms.sparse != 0) {
        let j = ${idx}[row * width + n];
        s = vec2<i32>(j * size, min(j * size + size, length));
      }
      segCtl = s;
    }
    return workgroupUniformLoad(&segCtl);
  }
`;
}

/** WGSL for the workgroup's flat index (`LINEAR_WORKGROUP_INDEX`) read back as a uniform value. */
export const UNIFORM_WORKGROUP_INDEX = `
  var<workgroup> wgCtl : i32;
  fn uniformWorkgroupIndex() -> i32 {
    workgroupBarrier();
    if (localIndex == 0u) { wgCtl = i32(linearWorkgroupIndex()); }
    return workgroupUniformLoad(&wgCtl);
  }
`;
