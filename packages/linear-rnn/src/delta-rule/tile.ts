/** Workgroup memory a delta-rule program may use: 32 KiB, what lavapipe and desktop GPUs offer (WebGPU's floor is 16 KiB). */
const WORKGROUP_FLOATS = 8192;

/** The largest key dimension the WGSL chunk kernels take; larger heads run the tfjs chunked form. */
export const MAX_KERNEL_DK = 256;

/**
 * Workgroups the sequential state pass aims for. Each holds a few warps that stage the chunk's Wᵀ and K
 * through workgroup memory, and every slice of a head repeats those loads; still, on the H100
 * (2026-12-07, B·H = 8, Dv = 64) 4-column slices (128 workgroups) ran the unsplit pass in 0.49 ms against 0.66 ms
 * for 8 columns (64) at L = 16384, and 0.128 against 0.169 ms at L = 4096.
 */
const TARGET_WORKGROUPS = 128;

/**
 * The prepare and output passes pad every chunk to this many tokens (their 256 threads each own a 4×4
 * tile of a 64×64 block) and use exactly WORKGROUP_FLOATS of workgroup memory for any C ≤ 64 and
 * Dk ≤ MAX_KERNEL_DK, so only the state pass bounds the chunk length.
 */
export const CHUNK_PAD = 64;

/** Threads of the state pass's split-sum workgroup that `chunkTile` picks (WebGPU's default limit per workgroup). */
const STATE_SPLIT_WORKGROUP = 256;

/** Threads of the state pass's unsplit workgroup, one per output. */
const STATE_UNSPLIT_WORKGROUP = 128;

/**
 * The most threads that share one output's sum in the state pass. At B·H = 8, Dk = Dv = C = 64 and
 * 4-column slices each of its two products per chunk has 64 vec4 outputs, so four threads per output fill
 * the 256 of a workgroup and cut each dependent chain of shared-memory loads and FMAs from 64 to 16 steps.
 */
const MAX_SPLIT = 4;

/**
 * How the three chunk passes tile one (b, h): `chunk` tokens per chunk (C), `slice` state columns per
 * workgroup of the state pass (a multiple of 4: each thread owns a vec4 of columns), `split`, the most
 * threads of the state pass that share one output's sum (1: one thread per output), and `threads`, the state
 * pass's workgroup size (at most the device's `maxComputeInvocationsPerWorkgroup`; WebGPU's default is 256).
 */
export interface ChunkTile {
  chunk: number;
  slice: number;
  split: number;
  threads: number;
}

/**
 * Threads per output of the state pass's two products for a tile: V' = U − W S (C·slice/4 vec4 outputs,
 * each a sum over Dk) and S += Kᵀ V' (Dk·slice/4 outputs, each a sum over C). Each is at most `tile.split`
 * and as many as keep every (output, part) pair on a thread of its own.
 */
export function stateSplits(tile: ChunkTile, dk: number): { values: number; state: number } {
  const per = (outputs: number): number => Math.max(1, Math.min(tile.split, Math.floor(tile.threads / outputs)));
  const groups = tile.slice / 4;
  return tile.split > 1 ? { values: per(tile.chunk * groups), state: per(dk * groups) } : { values: 1, state: 1 };
}

/** Floats of workgroup memory for the partial sums of a split state pass: the larger product's, 0 unsplit. */
export function statePartials(tile: ChunkTile, dk: number): number {
  const { values, state } = stateSplits(tile, dk);
  const groups = tile.slice / 4;
  return 4 * Math.max(values > 1 ? tile.chunk * groups * values : 0, state > 1 ? dk * groups * state : 0);
}

/**
 * Floats of workgroup memory the state pass declares for a tile: a C×Dk block (Wᵀ, then K) beside its state
 * slice, V' rows, γ' and the reset counts, and the partial sums of a split.
 */
export function stateFloats(tile: ChunkTile, dk: number): number {
  return tile.chunk * dk + dk * tile.slice + tile.chunk * tile.slice + 2 * tile.chunk + statePartials(tile, dk);
}

/**
 * Picks the tile. C is the longest chunk (≤ 64, fla's BT, and ≤ `chunkSize`, L) whose blocks fit the
 * workgroup memory of the state pass: a longer chunk halves the sequential pass's steps, for parallel
 * work per token that grows only as C(3Dk + 2Dv) + C²/3.
 * The state pass is the critical path and runs only B·H·⌈Dv/slice⌉ workgroups, so the slice is the
 * widest of 16, 8, 4 that still yields TARGET_WORKGROUPS of them (at B·H = 8, Dv = 64: 4 columns).
 * The split is the largest of MAX_SPLIT, 2, 1 whose partial sums still fit beside the chunk's blocks: the
 * chunk is chosen first, so a split never shortens it (and never changes the sums' terms, only their order);
 * 1 where neither product would split.
 */
export function chunkTile(batchHeads: number, dk: number, dv: number, chunkSize: number, length: number): ChunkTile {
  let slice = 16;
  while (slice > 4 && batchHeads * Math.ceil(dv / slice) < TARGET_WORKGROUPS) slice /= 2;
  let chunk = Math.min(CHUNK_PAD, chunkSize, length);
  const threads = STATE_SPLIT_WORKGROUP;
  while (chunk > 1 && stateFloats({ chunk, slice, split: 1, threads }, dk) > WORKGROUP_FLOATS) chunk--;
  let split = MAX_SPLIT;
  while (split > 1 && stateFloats({ chunk, slice, split, threads }, dk) > WORKGROUP_FLOATS) split /= 2;
  // where every product already has a thread per output (wide slices, long heads) the 128-thread program stays
  const { values, state: keys } = stateSplits({ chunk, slice, split, threads }, dk);
  return values > 1 || keys > 1 ? { chunk, slice, split, threads } : { chunk, slice, split: 1, threads: STATE_UNSPLIT_WORKGROUP };
}
