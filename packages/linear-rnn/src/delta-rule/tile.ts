/** Workgroup memory a delta-rule program may use: 32 KiB, what lavapipe and desktop GPUs offer (WebGPU's floor is 16 KiB). */
const WORKGROUP_FLOATS = 8192;

/** The largest key dimension the WGSL chunk kernels take; larger heads run the tfjs chunked form. */
export const MAX_KERNEL_DK = 256;

/**
 * Workgroups the sequential state pass aims for. Each holds a few warps that stage the chunk's Wᵀ and K
 * through workgroup memory, and every slice of a head repeats those loads; still, on the H100
 * (2026-12-07, B·H = 8, Dv = 64) 4-column slices (128 workgroups) ran the pass in 0.49 ms against 0.66 ms
 * for 8 columns (64) at L = 16384, and 0.128 against 0.169 ms at L = 4096.
 */
const TARGET_WORKGROUPS = 128;

/**
 * The prepare and output passes pad every chunk to this many tokens (their 256 threads each own a 4×4
 * tile of a 64×64 block) and use exactly WORKGROUP_FLOATS of workgroup memory for any C ≤ 64 and
 * Dk ≤ MAX_KERNEL_DK, so only the state pass bounds the chunk length.
 */
export const CHUNK_PAD = 64;

/**
 * How the three chunk passes tile one (b, h): `chunk` tokens per chunk (C), `slice` state columns per
 * workgroup of the state pass (a multiple of 4: each thread owns a vec4 of columns).
 */
export interface ChunkTile {
  chunk: number;
  slice: number;
}

/**
 * Picks the tile. C is the longest chunk (≤ 64, fla's BT, and ≤ `chunkSize`, L) whose blocks fit the
 * workgroup memory of the state pass: a longer chunk halves the sequential pass's steps, for parallel
 * work per token that grows only as C(3Dk + 2Dv) + C²/3.
 * The state pass is the critical path and runs only B·H·⌈Dv/slice⌉ workgroups, so the slice is the
 * widest of 16, 8, 4 that still yields TARGET_WORKGROUPS of them (at B·H = 8, Dv = 64: 4 columns).
 */
export function chunkTile(batchHeads: number, dk: number, dv: number, chunkSize: number, length: number): ChunkTile {
  let slice = 16;
  while (slice > 4 && batchHeads * Math.ceil(dv / slice) < TARGET_WORKGROUPS) slice /= 2;
  let chunk = Math.min(CHUNK_PAD, chunkSize, length);
  // the state pass: a C×Dk block (Wᵀ, then K) beside its state slice, V' rows, γ' and the reset counts
  const state = (c: number): number => c * dk + dk * slice + c * slice + 2 * c;
  while (chunk > 1 && state(chunk) > WORKGROUP_FLOATS) chunk--;
  return { chunk, slice };
}
