/** The largest head dimension the WGSL kernels take; larger heads run the tfjs reference. */
export const MAX_KERNEL_HEAD_DIM = 128;

/** A tile of `tq` queries × `tk` keys; every thread owns a 4×4 block of the scores. */
export interface FlashTile {
  tq: number;
  tk: number;
  /** Head dimension padded so the output columns split evenly over the tk/4 column groups (vec4 each). */
  dp: number;
  /** Forward only: K and V in separate buffers, loaded together (needs more than 32 KiB). */
  splitKv: boolean;
}

/** Workgroup memory the WebGPU spec guarantees beyond its 16 KiB default, and what Dawn gives on lavapipe and NVIDIA. */
export const PORTABLE_WORKGROUP_BYTES = 32768;

function padded(d: number, groups: number): number {
  const unit = 4 * groups;
  return Math.ceil(d / unit) * unit;
}

/**
 * Forward tiles, the first that fits the device's workgroup memory. Up to D = 64: 64 queries × 32 keys
 * (128 threads) with K and V in separate buffers (45 KiB at D = 64; the H100 offers 48 KiB through Dawn),
 * else 64 × 16 (64 threads, 27 KiB): at 32 keys and D = 64 the padded Qᵀ (17 KiB), Kᵀ/V and Pᵀ overrun
 * 32 KiB. Up to D = 128: 32 × 16 (32 threads) with split or shared K/V. Measured on the H100 (2026-12-06,
 * L = 16384): 64 × 32 split ran twice as fast as 64 × 16.
 */
export function forwardTile(d: number, workgroupBytes = PORTABLE_WORKGROUP_BYTES): FlashTile {
  const candidates: [number, number, boolean][] =
    d <= 64
      ? [
          [64, 32, true],
          [64, 16, false],
        ]
      : [
          [32, 16, true],
          [32, 16, false],
        ];
  for (const [tq, tk, splitKv] of candidates) {
    const tile: FlashTile = { tq, tk, dp: padded(d, tk / 4), splitKv };
    if (forwardBytes(d, tile) <= workgroupBytes) return tile;
  }
  throw new Error(`no flash tile for D = ${d} fits ${workgroupBytes} bytes of workgroup memory`);
}

/** Backward tiles (dQ and dK/dV programs): 32 × 32 (64 threads) up to D = 64, 16 × 16 up to D = 128. */
export function backwardTile(d: number): FlashTile {
  const t = d <= 64 ? 32 : 16;
  const tile: FlashTile = { tq: t, tk: t, dp: padded(d, t / 4), splitKv: false };
  checkBytes(Math.max(dqBytes(d, tile), dkvBytes(d, tile)), d);
  return tile;
}

/** Floats of a transposed tile of `rows` rows: `[D][rows/4 + 1]` vec4s (padded against bank conflicts). */
export function transposedFloats(d: number, rows: number): number {
  return 4 * d * (rows / 4 + 1);
}

/** Floats of the K/V tile buffer: Kᵀ (transposed) or V `[rows, dp]`. */
export function kvFloats(d: number, tile: FlashTile, rows = tile.tk): number {
  return Math.max(transposedFloats(d, rows), rows * tile.dp);
}

/** Bytes of workgroup memory the forward program declares for tile `t` (the tile tests pick split tiles that fit lavapipe by it). */
export function forwardBytes(d: number, t: FlashTile): number {
  const split = t.splitKv ? t.tk * t.dp + (t.tk * t.tq) / 4 : 0;
  return 4 * (transposedFloats(d, t.tq) + kvFloats(d, t) + t.tk * t.tq + split) + 32;
}

function dqBytes(d: number, t: FlashTile): number {
  return 4 * (2 * transposedFloats(d, t.tq) + kvFloats(d, t) + t.tk * t.tq) + 32;
}

function dkvBytes(d: number, t: FlashTile): number {
  return 4 * (2 * transposedFloats(d, t.tk) + kvFloats(d, t, t.tq) + t.tk * t.tq + 2 * t.tq) + 32;
}

function checkBytes(bytes: number, d: number): void {
  if (bytes > PORTABLE_WORKGROUP_BYTES) throw new Error(`flash tile for D = ${d} needs ${bytes} bytes of workgroup memory`);
}
