import { KEY_WORDS } from './intersections.wgsl.js';
import { PRE_LAYOUT_WGSL } from './projection.wgsl.js';

/** Threads per scan workgroup; each handles SCAN_ITEMS consecutive elements. */
export const SCAN_THREADS = 256;
export const SCAN_ITEMS = 4;
/** Elements one scan workgroup covers. */
export const SCAN_BLOCK = SCAN_THREADS * SCAN_ITEMS;

/**
 * What a scan reads and writes: `element(i)` for i < uniforms.n (the programs supply 0 up to the scan length
 * uniforms.m = n + 1, so the last value is the total), and `store(i, v)` for each i < m, over the input
 * bindings `variables`; `outputSize(n)` sizes the result.
 */
export interface ScanSpec {
  key: string;
  variables: string[];
  wgsl: string;
  outputSize(n: number): number;
}

export const SCAN_UNIFORMS = 'n : i32, m : i32, base : i32,';

/** The plain scan: element i is x[base + i] (int32), the result the `[n + 1]` exclusive sums. */
export const PLAIN_SCAN: ScanSpec = {
  key: 'plain',
  variables: ['x'],
  wgsl: `
  fn element(i : i32) -> i32 { return x[uniforms.base + i]; }
  fn store(i : i32, v : i32) { result[i] = v; }`,
  outputSize: (n) => n + 1,
};

/**
 * The depth order of a large scene (intersections.wgsl.ts `order`) from the depth-sorted `[N, 2]` (depth bits,
 * Gaussian) entries: element r is the tile count of the Gaussian of depth rank r, and each store also writes that
 * Gaussian and its rank.
 */
export const ORDER_SCAN: ScanSpec = {
  key: 'order',
  variables: ['entries', 'pre'],
  wgsl: `
  ${PRE_LAYOUT_WGSL}
  fn element(r : i32) -> i32 { return i32(pre[entries[${KEY_WORDS} * r + 1] * PRE_STRIDE + PRE_COUNT]); }
  fn store(r : i32, v : i32) {
    result[r] = v;
    if (r < uniforms.n) {
      let g = entries[${KEY_WORDS} * r + 1];
      result[uniforms.n + 1 + r] = g;
      result[2 * uniforms.n + 1 + g] = r;
    }
  }`,
  outputSize: (n) => 3 * n + 1,
};

/** WGSL shared by the scan programs: the spec's element/store, and a workgroup prefix sum. */
export function scanWGSL(spec: ScanSpec): string {
  return `
  const SCAN_THREADS = ${SCAN_THREADS};
  const SCAN_ITEMS = ${SCAN_ITEMS};
  var<workgroup> scanShared : array<i32, ${SCAN_THREADS}>;
  ${spec.wgsl}

  fn elementOrZero(i : i32) -> i32 {
    if (i >= uniforms.n) { return 0; }
    return element(i);
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
}
