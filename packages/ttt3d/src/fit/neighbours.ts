/**
 * Mean squared distance from each point to its `k` nearest other points (3DGS' `distCUDA2`, which sets a
 * new Gaussian's scale to the root of this). Points are `[N, 3]` row-major; a uniform grid with about one
 * point per cell keeps it near O(N·k) for spread-out points. With fewer than two points there is no
 * neighbour and the entry is `fallback`.
 */
export function meanSquaredNeighbourDistance(points: Float32Array, k: number, fallback: number): Float32Array {
  const n = points.length / 3;
  const out = new Float32Array(n).fill(fallback);
  const kk = Math.min(k, n - 1);
  if (kk < 1) return out;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, points[3 * i + a]!);
      hi[a] = Math.max(hi[a]!, points[3 * i + a]!);
    }
  }
  const span = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!);
  const cell = span > 0 ? span / Math.max(1, Math.ceil(Math.cbrt(n))) : 1;
  const dims = [0, 1, 2].map((a) => Math.floor((hi[a]! - lo[a]!) / cell) + 1) as [number, number, number];
  const cellOf = (i: number, a: 0 | 1 | 2): number => Math.min(dims[a] - 1, Math.floor((points[3 * i + a]! - lo[a]!) / cell));
  const cellIds = new Int32Array(n);
  const starts = new Int32Array(dims[0] * dims[1] * dims[2] + 1);
  for (let i = 0; i < n; i++) {
    const id = (cellOf(i, 2) * dims[1] + cellOf(i, 1)) * dims[0] + cellOf(i, 0);
    cellIds[i] = id;
    starts[id + 1] = starts[id + 1]! + 1;
  }
  for (let c = 1; c < starts.length; c++) starts[c] = starts[c]! + starts[c - 1]!;
  const fill = starts.slice(0, -1);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const id = cellIds[i]!;
    order[fill[id]!] = i;
    fill[id] = fill[id]! + 1;
  }
  const best = new Float64Array(kk);
  for (let i = 0; i < n; i++) {
    best.fill(Infinity);
    const c = [cellOf(i, 0), cellOf(i, 1), cellOf(i, 2)] as [number, number, number];
    const maxRing = Math.max(...dims);
    for (let r = 0; r <= maxRing; r++) {
      // every point outside ring r−1 is at least (r − 1)·cell away, so the search may stop
      if (r > 0 && ((r - 1) * cell) ** 2 >= best[kk - 1]!) break;
      for (let z = c[2] - r; z <= c[2] + r; z++) {
        if (z < 0 || z >= dims[2]) continue;
        for (let y = c[1] - r; y <= c[1] + r; y++) {
          if (y < 0 || y >= dims[1]) continue;
          for (let x = c[0] - r; x <= c[0] + r; x++) {
            if (x < 0 || x >= dims[0]) continue;
            if (Math.max(Math.abs(x - c[0]), Math.abs(y - c[1]), Math.abs(z - c[2])) !== r) continue;
            const id = (z * dims[1] + y) * dims[0] + x;
            for (let s = starts[id]!; s < starts[id + 1]!; s++) {
              const j = order[s]!;
              if (j === i) continue;
              const dx = points[3 * j]! - points[3 * i]!;
              const dy = points[3 * j + 1]! - points[3 * i + 1]!;
              const dz = points[3 * j + 2]! - points[3 * i + 2]!;
              insertSorted(best, dx * dx + dy * dy + dz * dz);
            }
          }
        }
      }
    }
    let sum = 0;
    for (let m = 0; m < kk; m++) sum += best[m]!;
    out[i] = sum / kk;
  }
  return out;
}

/** Inserts `d` into the ascending array `best` if it is smaller than the largest entry, dropping that one. */
function insertSorted(best: Float64Array, d: number): void {
  let m = best.length - 1;
  if (d >= best[m]!) return;
  while (m > 0 && best[m - 1]! > d) {
    best[m] = best[m - 1]!;
    m--;
  }
  best[m] = d;
}
