/**
 * Where the WebGPU binning switches algorithm (radix-sort.ts, scan.ts). The switches change dispatch counts, never
 * results: tests lower them to run every program on tiny scenes.
 * - rankSortMax: up to this many Gaussians the depth order is counted in one dispatch (depth-rank.program.ts,
 *   O(N²) comparisons); beyond, 4 radix passes and a scan (9 more programs). Timed on the H100 (2026-12-07) at
 *   10k Gaussians: the count took 0.289 ms of GPU time (~N²/3.5e11 s, not the N²/3e13 first estimated) and the
 *   radix path's programs 0.18 ms (each scatter ~28 µs at this size), but the forward's wall time was 0.36–0.37 ms
 *   with the count against 0.41 ms with the radix path (separate device calls), the extra programs' host time
 *   outweighing the GPU time saved; so the count keeps every N up to 16384. rankSortMaxSoftware replaces it on a CPU implementation of WebGPU (a fallback
 *   adapter: lavapipe, SwiftShader), which pays for work rather than dispatches: on lavapipe counting costs as much
 *   as the radix passes at ~700 Gaussians and 8× more at 10k.
 * - fusedPrefixMaxBlocks: up to this many radix blocks (of 1024 entries) a scatter finds its digits' offsets from
 *   the histogram itself (radix-scatter.program.ts 'fused', ≤ 256 reads per thread); beyond, a scan of the
 *   histogram (2 dispatches) does.
 * - scanFusedMaxBlocks: up to this many scan blocks each apply workgroup sums the earlier block sums itself
 *   (scan-apply.program.ts 'fused', ≤ 16 reads per thread); beyond, a recursive scan of the sums does.
 */
export const BINNING_LIMITS = { rankSortMax: 16384, rankSortMaxSoftware: 1024, fusedPrefixMaxBlocks: 256, scanFusedMaxBlocks: 4096 };
