import { type HostTensor, ValueError } from '@tessera/tensor-core';
import { EPS_2D, FAR_PLANE, MAX_ALPHA, MIN_ALPHA, MIN_TRANSMITTANCE, NEAR_PLANE, RADIUS_SIGMAS, SH_BASIS, TILE_SIZE } from './constants.js';
import { GRAD_HEAD } from './gaussian-backward.program.js';
import { type HostBackwardInput, fovLimits, type GaussianInput, type RasterAttrs, tileGrid } from './raster-attrs.js';

/*
 * The rasteriser on typed arrays, for the host-memory backends (cpu, wasm): the same algorithm as the WGSL
 * kernels, step for step — preprocess.program.ts (projection, conic, extent, tile rectangle, SH colour),
 * binning into per-tile lists sorted by depth (ties by Gaussian index, as the stable radix sort leaves
 * them), composite.program.ts (front-to-back blending with blend.wgsl.ts' skip and stop rules), and for the
 * gradient composite-backward.program.ts and gaussian-backward.program.ts. Memory is O(N + h·w + number of
 * Gaussian–tile intersections), where the dense reference needs O(N·h·w). Arithmetic is float64, rounded
 * to float32 where the WGSL path stores to a buffer (the preprocess output, the image).
 */

/**
 * Most Gaussian–tile intersections the host kernel lists (2²⁷: 512 MB of tile lists); a scene with more
 * is a ValueError rather than an allocation failure. The count is known exactly before anything is
 * allocated for it.
 */
export const MAX_HOST_INTERSECTIONS = 2 ** 27;

/** Above this σ, α = o·e^−σ < 1/255 for every opacity o ≤ 1 (ln 255 ≈ 5.54126): skipped without the exp. */
const SIGMA_SKIP = 5.5413;

/** Per-Gaussian screen-space quantities (preprocess.program.ts' PRE_* layout as separate arrays). */
interface Projected {
  n: number;
  u: Float32Array;
  v: Float32Array;
  conicA: Float32Array;
  conicB: Float32Array;
  conicC: Float32Array;
  opacity: Float32Array;
  /** `[N, 3]`. */
  color: Float32Array;
  depth: Float32Array;
  /** Tile rectangle [x0, x1) × [y0, y1), clamped to the grid; all 0 for a culled Gaussian. */
  rect: Int32Array;
}

/** The depth-sorted Gaussian list of every tile: tile t's entries are `list[start[t] … start[t + 1])`. */
interface TileLists {
  start: Int32Array;
  list: Int32Array;
}

/** Real SH basis at unit direction (x, y, z) into `out[0 … (degree+1)²)`, gsplat's order (sh-basis.wgsl.ts). */
function shBasis(x: number, y: number, z: number, degree: number, out: Float64Array): void {
  out[0] = SH_BASIS.c0;
  if (degree < 1) return;
  out[1] = -SH_BASIS.c1 * y;
  out[2] = SH_BASIS.c1 * z;
  out[3] = -SH_BASIS.c1 * x;
  if (degree < 2) return;
  const z2 = z * z;
  const fC1 = x * x - y * y;
  const fS1 = 2 * x * y;
  out[4] = SH_BASIS.c2a * fS1;
  out[5] = SH_BASIS.c2b * z * y;
  out[6] = SH_BASIS.c2c * z2 - SH_BASIS.c2d;
  out[7] = SH_BASIS.c2b * z * x;
  out[8] = SH_BASIS.c2a * fC1;
  if (degree < 3) return;
  const fC2 = x * fC1 - y * fS1;
  const fS2 = x * fS1 + y * fC1;
  const t3 = SH_BASIS.c3c * z2 + SH_BASIS.c3d;
  out[9] = SH_BASIS.c3a * fS2;
  out[10] = SH_BASIS.c3b * z * fS1;
  out[11] = t3 * y;
  out[12] = z * (SH_BASIS.c3e * z2 - SH_BASIS.c3f);
  out[13] = t3 * x;
  out[14] = SH_BASIS.c3b * z * fC1;
  out[15] = SH_BASIS.c3a * fC2;
}

/** ∂b_k/∂d of the basis above, `out[3k … 3k+3)` (sh-basis.wgsl.ts `shBasisGrad`). */
function shBasisGrad(x: number, y: number, z: number, degree: number, out: Float64Array): void {
  out.fill(0);
  if (degree < 1) return;
  out[4] = -SH_BASIS.c1;
  out[8] = SH_BASIS.c1;
  out[9] = -SH_BASIS.c1;
  if (degree < 2) return;
  const z2 = z * z;
  const fC1 = x * x - y * y;
  const fS1 = 2 * x * y;
  const set = (k: number, a: number, b: number, c: number): void => {
    out[3 * k] = a;
    out[3 * k + 1] = b;
    out[3 * k + 2] = c;
  };
  set(4, SH_BASIS.c2a * 2 * y, SH_BASIS.c2a * 2 * x, 0);
  set(5, 0, SH_BASIS.c2b * z, SH_BASIS.c2b * y);
  set(6, 0, 0, 2 * SH_BASIS.c2c * z);
  set(7, SH_BASIS.c2b * z, 0, SH_BASIS.c2b * x);
  set(8, SH_BASIS.c2a * 2 * x, -SH_BASIS.c2a * 2 * y, 0);
  if (degree < 3) return;
  // fC2 = x³ − 3xy², fS2 = 3x²y − y³
  const t3 = SH_BASIS.c3c * z2 + SH_BASIS.c3d;
  const dt3 = 2 * SH_BASIS.c3c * z;
  set(9, SH_BASIS.c3a * 6 * x * y, SH_BASIS.c3a * 3 * fC1, 0);
  set(10, SH_BASIS.c3b * 2 * y * z, SH_BASIS.c3b * 2 * x * z, SH_BASIS.c3b * fS1);
  set(11, 0, t3, dt3 * y);
  set(12, 0, 0, 3 * SH_BASIS.c3e * z2 - SH_BASIS.c3f);
  set(13, t3, 0, dt3 * x);
  set(14, SH_BASIS.c3b * 2 * x * z, -SH_BASIS.c3b * 2 * y * z, SH_BASIS.c3b * fC1);
  set(15, SH_BASIS.c3a * 3 * fC1, -SH_BASIS.c3a * 6 * x * y, 0);
}

/** Row-major rotation of the unit quaternion (w, x, y, z) into `r[0 … 9)`. */
function quatRotation(w: number, x: number, y: number, z: number, r: Float64Array): void {
  r[0] = 1 - 2 * (y * y + z * z);
  r[1] = 2 * (x * y - w * z);
  r[2] = 2 * (x * z + w * y);
  r[3] = 2 * (x * y + w * z);
  r[4] = 1 - 2 * (x * x + z * z);
  r[5] = 2 * (y * z - w * x);
  r[6] = 2 * (x * z - w * y);
  r[7] = 2 * (y * z + w * x);
  r[8] = 1 - 2 * (x * x + y * y);
}

/**
 * Camera-space covariance Σ_c = W R S Sᵀ Rᵀ Wᵀ of Gaussian i into `out` (row-major 3×3), with R from the
 * normalised quaternion; also leaves M = R S in `m` and R in `rot`.
 */
function cameraCovariance(
  view: readonly number[],
  qw: number,
  qx: number,
  qy: number,
  qz: number,
  s0: number,
  s1: number,
  s2: number,
  rot: Float64Array,
  m: Float64Array,
  out: Float64Array,
): void {
  quatRotation(qw, qx, qy, qz, rot);
  for (let i = 0; i < 3; i++) {
    m[3 * i] = (rot[3 * i] as number) * s0;
    m[3 * i + 1] = (rot[3 * i + 1] as number) * s1;
    m[3 * i + 2] = (rot[3 * i + 2] as number) * s2;
  }
  // W M, then (W M)(W M)ᵀ
  const wm = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      wm[3 * i + j] =
        (view[3 * i] as number) * (m[j] as number) +
        (view[3 * i + 1] as number) * (m[3 + j] as number) +
        (view[3 * i + 2] as number) * (m[6 + j] as number);
    }
  }
  for (let i = 0; i < 3; i++) {
    for (let k = 0; k < 3; k++) {
      out[3 * i + k] =
        (wm[3 * i] as number) * (wm[3 * k] as number) +
        (wm[3 * i + 1] as number) * (wm[3 * k + 1] as number) +
        (wm[3 * i + 2] as number) * (wm[3 * k + 2] as number);
    }
  }
}

/** Per Gaussian: preprocess.program.ts on the host. A culled Gaussian gets an empty tile rectangle. */
function preprocess(inputs: Record<GaussianInput, HostTensor>, attrs: RasterAttrs): Projected {
  const means = inputs.means.values;
  const logScales = inputs.logScales.values;
  const quats = inputs.quaternions.values;
  const logits = inputs.opacityLogits.values;
  const sh = inputs.sh.values;
  const n = inputs.means.shape[0] as number;
  const shK = inputs.sh.shape[1] as number;
  const { fx, fy, cx, cy, width, height, view, center, shDegree } = attrs;
  const [limXPos, limXNeg, limYPos, limYNeg] = fovLimits(attrs);
  const [t0, t1, t2] = [view[9] as number, view[10] as number, view[11] as number];
  const p: Projected = {
    n,
    u: new Float32Array(n),
    v: new Float32Array(n),
    conicA: new Float32Array(n),
    conicB: new Float32Array(n),
    conicC: new Float32Array(n),
    opacity: new Float32Array(n),
    color: new Float32Array(3 * n),
    depth: new Float32Array(n),
    rect: new Int32Array(4 * n),
  };
  const rot = new Float64Array(9);
  const m = new Float64Array(9);
  const covC = new Float64Array(9);
  const basis = new Float64Array(16);
  const coeffs = (shDegree + 1) * (shDegree + 1);
  for (let i = 0; i < n; i++) {
    const mx = means[3 * i] as number;
    const my = means[3 * i + 1] as number;
    const mz = means[3 * i + 2] as number;
    const px = (view[0] as number) * mx + (view[1] as number) * my + (view[2] as number) * mz + t0;
    const py = (view[3] as number) * mx + (view[4] as number) * my + (view[5] as number) * mz + t1;
    const pz = (view[6] as number) * mx + (view[7] as number) * my + (view[8] as number) * mz + t2;
    if (!(pz > NEAR_PLANE && pz < FAR_PLANE)) continue;
    const qw = quats[4 * i] as number;
    const qx = quats[4 * i + 1] as number;
    const qy = quats[4 * i + 2] as number;
    const qz = quats[4 * i + 3] as number;
    // a zero quaternion has no rotation: the Gaussian is not drawn (and gets no gradient)
    const qLen = Math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
    if (!(qLen > 0)) continue;
    cameraCovariance(
      view,
      qw / qLen,
      qx / qLen,
      qy / qLen,
      qz / qLen,
      Math.exp(logScales[3 * i] as number),
      Math.exp(logScales[3 * i + 1] as number),
      Math.exp(logScales[3 * i + 2] as number),
      rot,
      m,
      covC,
    );
    const rz = 1 / pz;
    const rz2 = rz * rz;
    const tx = pz * Math.min(limXPos, Math.max(-limXNeg, px * rz));
    const ty = pz * Math.min(limYPos, Math.max(-limYNeg, py * rz));
    // J = [[fx/z, 0, −fx·tx/z²], [0, fy/z, −fy·ty/z²]]; Σ' = J Σ_c Jᵀ
    const j00 = fx * rz;
    const j02 = -fx * tx * rz2;
    const j11 = fy * rz;
    const j12 = -fy * ty * rz2;
    const c00 = covC[0] as number;
    const c02 = covC[2] as number;
    const c11 = covC[4] as number;
    const c12 = covC[5] as number;
    const c22 = covC[8] as number;
    const c01 = covC[1] as number;
    const a = j00 * j00 * c00 + 2 * j00 * j02 * c02 + j02 * j02 * c22 + EPS_2D;
    const c = j11 * j11 * c11 + 2 * j11 * j12 * c12 + j12 * j12 * c22 + EPS_2D;
    const b = j00 * (j11 * c01 + j12 * c02) + j02 * (j11 * c12 + j12 * c22);
    const det = a * c - b * b;
    if (!(det > 0)) continue;
    // the extent is taken from the stored (float32) mean and opacity, the values the compositing reads
    const u = Math.fround(fx * px * rz + cx);
    const v = Math.fround(fy * py * rz + cy);
    const opacity = Math.fround(1 / (1 + Math.exp(-(logits[i] as number))));
    // opacity-aware half-extent k·sqrt(Σ'_axis), k² = 3.33² + 2 ln o: beyond it every α < 1/255 (constants.ts)
    const k2 = RADIUS_SIGMAS * RADIUS_SIGMAS + 2 * Math.log(opacity);
    if (!(k2 > 0)) continue;
    const rx = Math.sqrt(k2 * a);
    const ry = Math.sqrt(k2 * c);
    // the pixels whose centre (x + 0.5) lies in [u − rx, u + rx], clipped to the image; then the tiles holding them
    const xLo = Math.max(Math.ceil(u - rx - 0.5), 0);
    const xHi = Math.min(Math.floor(u + rx - 0.5), width - 1);
    const yLo = Math.max(Math.ceil(v - ry - 0.5), 0);
    const yHi = Math.min(Math.floor(v + ry - 0.5), height - 1);
    if (!(xLo <= xHi && yLo <= yHi)) continue;
    p.rect[4 * i] = Math.floor(xLo / TILE_SIZE);
    p.rect[4 * i + 1] = Math.floor(yLo / TILE_SIZE);
    p.rect[4 * i + 2] = Math.floor(xHi / TILE_SIZE) + 1;
    p.rect[4 * i + 3] = Math.floor(yHi / TILE_SIZE) + 1;
    p.u[i] = u;
    p.v[i] = v;
    p.conicA[i] = c / det;
    p.conicB[i] = -b / det;
    p.conicC[i] = a / det;
    p.opacity[i] = opacity;
    p.depth[i] = pz;
    const dx = mx - (center[0] as number);
    const dy = my - (center[1] as number);
    const dz = mz - (center[2] as number);
    const len = Math.sqrt(dx * dx + dy * dy + dz * dz);
    shBasis(dx / len, dy / len, dz / len, shDegree, basis);
    for (let ch = 0; ch < 3; ch++) {
      let sum = 0;
      for (let k = 0; k < coeffs; k++) sum += (basis[k] as number) * (sh[(i * shK + k) * 3 + ch] as number);
      p.color[3 * i + ch] = Math.max(sum + 0.5, 0);
    }
  }
  return p;
}

/** Number of Gaussian–tile intersections: the sum of the tile rectangles' areas. */
function intersections(p: Projected): number {
  const { n, rect } = p;
  let total = 0;
  for (let i = 0; i < n; i++) {
    total +=
      Math.max(0, (rect[4 * i + 2] as number) - (rect[4 * i] as number)) *
      Math.max(0, (rect[4 * i + 3] as number) - (rect[4 * i + 1] as number));
  }
  return total;
}

/**
 * The Gaussian–tile intersections the kernels list for a scene (the WGSL path's total, `order[N]`): the length of
 * the tile lists, which the sorts and the compositing walk. For tests and benchmark logs.
 */
export function countIntersections(inputs: Record<GaussianInput, HostTensor>, attrs: RasterAttrs): number {
  return intersections(preprocess(inputs, attrs));
}

/**
 * The per-tile lists the WGSL path builds with duplicate → radix sort → tile ranges: every Gaussian is
 * listed in each tile of its rectangle, and each list is ordered by float32 depth, ties by Gaussian index.
 * Visiting the Gaussians once in that (depth, index) order and appending to their tiles yields exactly
 * those lists.
 */
function binTiles(p: Projected, tiles: number, tilesX: number): TileLists {
  const { n, rect, depth } = p;
  const total = intersections(p);
  if (total > MAX_HOST_INTERSECTIONS) {
    throw new ValueError(
      `rasterize: expected at most ${MAX_HOST_INTERSECTIONS} Gaussian–tile intersections on the cpu/wasm kernel (MAX_HOST_INTERSECTIONS), received a scene with ${total} (render fewer or smaller Gaussians, or a smaller image)`,
    );
  }
  const start = new Int32Array(tiles + 1);
  const drawn: number[] = [];
  for (let i = 0; i < n; i++) {
    const x0 = rect[4 * i] as number;
    const y0 = rect[4 * i + 1] as number;
    const x1 = rect[4 * i + 2] as number;
    const y1 = rect[4 * i + 3] as number;
    if (x1 <= x0 || y1 <= y0) continue;
    drawn.push(i);
    for (let ty = y0; ty < y1; ty++) {
      for (let tx = x0; tx < x1; tx++) start[ty * tilesX + tx + 1] = (start[ty * tilesX + tx + 1] as number) + 1;
    }
  }
  for (let t = 0; t < tiles; t++) start[t + 1] = (start[t + 1] as number) + (start[t] as number);
  const order = Int32Array.from(drawn).sort((a, b) => (depth[a] as number) - (depth[b] as number) || a - b);
  const fill = start.slice(0, tiles);
  const list = new Int32Array(start[tiles] as number);
  for (const i of order) {
    const x0 = rect[4 * i] as number;
    const y0 = rect[4 * i + 1] as number;
    const x1 = rect[4 * i + 2] as number;
    const y1 = rect[4 * i + 3] as number;
    for (let ty = y0; ty < y1; ty++) {
      for (let tx = x0; tx < x1; tx++) {
        const t = ty * tilesX + tx;
        list[fill[t] as number] = i;
        fill[t] = (fill[t] as number) + 1;
      }
    }
  }
  return { start, list };
}

/** One tile's Gaussians copied into contiguous arrays, so the per-pixel loop reads them in order. */
class TileStage {
  u: Float64Array;
  v: Float64Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  o: Float64Array;
  /** r, g, b, depth per entry. */
  cz: Float64Array;
  id: Int32Array;
  count = 0;

  constructor(capacity: number) {
    this.u = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
    this.a = new Float64Array(capacity);
    this.b = new Float64Array(capacity);
    this.c = new Float64Array(capacity);
    this.o = new Float64Array(capacity);
    this.cz = new Float64Array(4 * capacity);
    this.id = new Int32Array(capacity);
  }

  load(p: Projected, lists: TileLists, tile: number): void {
    const from = lists.start[tile] as number;
    this.count = (lists.start[tile + 1] as number) - from;
    for (let k = 0; k < this.count; k++) {
      const g = lists.list[from + k] as number;
      this.id[k] = g;
      this.u[k] = p.u[g] as number;
      this.v[k] = p.v[g] as number;
      this.a[k] = p.conicA[g] as number;
      this.b[k] = p.conicB[g] as number;
      this.c[k] = p.conicC[g] as number;
      this.o[k] = p.opacity[g] as number;
      this.cz[4 * k] = p.color[3 * g] as number;
      this.cz[4 * k + 1] = p.color[3 * g + 1] as number;
      this.cz[4 * k + 2] = p.color[3 * g + 2] as number;
      this.cz[4 * k + 3] = p.depth[g] as number;
    }
  }
}

/** Longest tile list: the staging buffers' size. */
function longestList(lists: TileLists, tiles: number): number {
  let most = 0;
  for (let t = 0; t < tiles; t++) most = Math.max(most, (lists.start[t + 1] as number) - (lists.start[t] as number));
  return most;
}

/**
 * The forward on the host: preprocess, bin, then per pixel of every tile blend its depth-sorted list front
 * to back (composite.program.ts): α = min(0.99, o·e^−σ), skip σ < 0 or α < 1/255, stop before the Gaussian
 * that would bring T to ≤ 1e-4. Returns `[h, w, 5]`: Σ cαT (3), Σ zαT, T.
 */
export function rasterizeHost(inputs: Record<GaussianInput, HostTensor>, attrs: RasterAttrs): HostTensor {
  const { width, height } = attrs;
  const { tilesX, tilesY } = tileGrid(attrs);
  const tiles = tilesX * tilesY;
  const p = preprocess(inputs, attrs);
  const lists = binTiles(p, tiles, tilesX);
  const out = new Float32Array(height * width * 5);
  const s = new TileStage(longestList(lists, tiles));
  for (let tile = 0; tile < tiles; tile++) {
    const tileX0 = (tile % tilesX) * TILE_SIZE;
    const tileY0 = Math.floor(tile / tilesX) * TILE_SIZE;
    s.load(p, lists, tile);
    const count = s.count;
    for (let py = tileY0; py < Math.min(tileY0 + TILE_SIZE, height); py++) {
      for (let px = tileX0; px < Math.min(tileX0 + TILE_SIZE, width); px++) {
        const pxc = px + 0.5;
        const pyc = py + 0.5;
        let trans = 1;
        let r = 0;
        let g = 0;
        let b = 0;
        let depth = 0;
        for (let k = 0; k < count; k++) {
          const dx = (s.u[k] as number) - pxc;
          const dy = (s.v[k] as number) - pyc;
          const sigma = 0.5 * ((s.a[k] as number) * dx * dx + (s.c[k] as number) * dy * dy) + (s.b[k] as number) * dx * dy;
          if (sigma < 0 || sigma > SIGMA_SKIP) continue;
          const alpha = Math.min(MAX_ALPHA, (s.o[k] as number) * Math.exp(-sigma));
          if (alpha < MIN_ALPHA) continue;
          const next = trans * (1 - alpha);
          if (next <= MIN_TRANSMITTANCE) break;
          const w = alpha * trans;
          r += (s.cz[4 * k] as number) * w;
          g += (s.cz[4 * k + 1] as number) * w;
          b += (s.cz[4 * k + 2] as number) * w;
          depth += (s.cz[4 * k + 3] as number) * w;
          trans = next;
        }
        const o = (py * width + px) * 5;
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
        out[o + 3] = depth;
        out[o + 4] = trans;
      }
    }
  }
  return { shape: [height, width, 5], dtype: 'float32', values: out };
}

/** Partial gradients per Gaussian (composite-backward.program.ts' PARTIAL_WIDTH quantities). */
const NQ = 10;

/**
 * Per pixel, the forward's walk replayed with the same decisions; the colour, depth and transmittance
 * behind Gaussian k come from the forward's final values minus the running prefix, so
 * ∂(C, D, T_final)/∂αₖ = Tₖ(cₖ·gC + zₖ gD) − (S_k·gC + SD_k gD + T_final gT)/(1 − αₖ)
 * (composite-backward.program.ts). Sums into `acc[g · NQ + q]`: ∂mean2d (2), ∂conic (3), ∂opacity, ∂colour
 * (3), ∂depth.
 */
function compositeBackward(
  p: Projected,
  lists: TileLists,
  attrs: RasterAttrs,
  rendered: ArrayLike<number>,
  dOut: ArrayLike<number>,
  acc: Float64Array,
): void {
  const { width, height } = attrs;
  const { tilesX, tilesY } = tileGrid(attrs);
  const tiles = tilesX * tilesY;
  const s = new TileStage(longestList(lists, tiles));
  for (let tile = 0; tile < tiles; tile++) {
    const tileX0 = (tile % tilesX) * TILE_SIZE;
    const tileY0 = Math.floor(tile / tilesX) * TILE_SIZE;
    s.load(p, lists, tile);
    const count = s.count;
    for (let py = tileY0; py < Math.min(tileY0 + TILE_SIZE, height); py++) {
      for (let px = tileX0; px < Math.min(tileX0 + TILE_SIZE, width); px++) {
        const i = (py * width + px) * 5;
        const fR = rendered[i] as number;
        const fG = rendered[i + 1] as number;
        const fB = rendered[i + 2] as number;
        const fD = rendered[i + 3] as number;
        const fT = rendered[i + 4] as number;
        const gR = dOut[i] as number;
        const gG = dOut[i + 1] as number;
        const gB = dOut[i + 2] as number;
        const gD = dOut[i + 3] as number;
        const gT = dOut[i + 4] as number;
        const pxc = px + 0.5;
        const pyc = py + 0.5;
        let trans = 1;
        let r = 0;
        let g = 0;
        let b = 0;
        let depth = 0;
        for (let k = 0; k < count; k++) {
          const dx = (s.u[k] as number) - pxc;
          const dy = (s.v[k] as number) - pyc;
          const ca = s.a[k] as number;
          const cb = s.b[k] as number;
          const cc = s.c[k] as number;
          const sigma = 0.5 * (ca * dx * dx + cc * dy * dy) + cb * dx * dy;
          if (sigma < 0 || sigma > SIGMA_SKIP) continue;
          const op = s.o[k] as number;
          const vis = Math.exp(-sigma);
          const alpha = Math.min(MAX_ALPHA, op * vis);
          if (alpha < MIN_ALPHA) continue;
          const next = trans * (1 - alpha);
          if (next <= MIN_TRANSMITTANCE) break;
          const cr = s.cz[4 * k] as number;
          const cg = s.cz[4 * k + 1] as number;
          const cbl = s.cz[4 * k + 2] as number;
          const z = s.cz[4 * k + 3] as number;
          const w = alpha * trans;
          r += cr * w;
          g += cg * w;
          b += cbl * w;
          depth += z * w;
          const behind = (fR - r) * gR + (fG - g) * gG + (fB - b) * gB + (fD - depth) * gD + fT * gT;
          const dAlpha = trans * (cr * gR + cg * gG + cbl * gB + z * gD) - behind / (1 - alpha);
          const o = (s.id[k] as number) * NQ;
          acc[o + 6] = (acc[o + 6] as number) + w * gR;
          acc[o + 7] = (acc[o + 7] as number) + w * gG;
          acc[o + 8] = (acc[o + 8] as number) + w * gB;
          acc[o + 9] = (acc[o + 9] as number) + w * gD;
          // α = min(0.99, o·e^−σ): no gradient to o or σ where the clamp is active
          if (op * vis <= MAX_ALPHA) {
            const dSigma = -op * vis * dAlpha;
            acc[o] = (acc[o] as number) + dSigma * (ca * dx + cb * dy);
            acc[o + 1] = (acc[o + 1] as number) + dSigma * (cb * dx + cc * dy);
            acc[o + 2] = (acc[o + 2] as number) + 0.5 * dSigma * dx * dx;
            acc[o + 3] = (acc[o + 3] as number) + dSigma * dx * dy;
            acc[o + 4] = (acc[o + 4] as number) + 0.5 * dSigma * dy * dy;
            acc[o + 5] = (acc[o + 5] as number) + vis * dAlpha;
          }
          trans = next;
        }
      }
    }
  }
}

/** Per-call scratch of the per-Gaussian backward, allocated once per backward rather than per Gaussian. */
interface Scratch {
  rot: Float64Array;
  m: Float64Array;
  covC: Float64Array;
  /** 3×3 temporaries. */
  t0: Float64Array;
  t1: Float64Array;
  basis: Float64Array;
  basisGrad: Float64Array;
  /** The FOV clamp limits (raster-attrs.ts `fovLimits`). */
  lim: [number, number, number, number];
}

/** out = a·b for row-major 3×3 matrices (out must not alias a or b). */
function mul3(a: Float64Array | readonly number[], b: Float64Array | readonly number[], out: Float64Array): void {
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < 3; k++) {
      out[3 * r + k] =
        (a[3 * r] as number) * (b[k] as number) +
        (a[3 * r + 1] as number) * (b[3 + k] as number) +
        (a[3 * r + 2] as number) * (b[6 + k] as number);
    }
  }
}

/** out = aᵀ·b for row-major 3×3 matrices. */
function mul3tn(a: Float64Array | readonly number[], b: Float64Array | readonly number[], out: Float64Array): void {
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < 3; k++) {
      out[3 * r + k] =
        (a[r] as number) * (b[k] as number) + (a[3 + r] as number) * (b[3 + k] as number) + (a[6 + r] as number) * (b[6 + k] as number);
    }
  }
}

/**
 * Per Gaussian: the chain rule from the summed screen-space partials `acc[at … at + NQ)` back to the inputs
 * (gaussian-backward.program.ts, gsplat's projection VJPs): conic → Σ', Σ' = J Σ_c Jᵀ → Σ_c and J (the FOV
 * clamp deciding whether J's x/z, y/z terms reach x, y or only z), mean2d and depth → camera-space mean →
 * world mean, Σ_c = W Σ Wᵀ → M = R S → log-scales and the normalised quaternion → raw quaternion, sigmoid →
 * logit, and SH colour (clamp mask) → coefficients and, through the view direction, the mean.
 * Writes row i of `out` `[N, 11 + 3K]`.
 */
function gaussianBackward(
  inputs: Record<GaussianInput, HostTensor>,
  attrs: RasterAttrs,
  i: number,
  acc: Float64Array,
  at: number,
  s: Scratch,
  out: Float32Array,
): void {
  const shK = inputs.sh.shape[1] as number;
  const sh = inputs.sh.values;
  const row = i * (GRAD_HEAD + 3 * shK);
  const { fx, fy, view, center, shDegree } = attrs;
  const [limXPos, limXNeg, limYPos, limYNeg] = s.lim;
  const { rot, m, covC, t0, t1, basis, basisGrad } = s;
  const w = view;
  // recompute the forward
  const mx = inputs.means.values[3 * i] as number;
  const my = inputs.means.values[3 * i + 1] as number;
  const mz = inputs.means.values[3 * i + 2] as number;
  const px = (w[0] as number) * mx + (w[1] as number) * my + (w[2] as number) * mz + (view[9] as number);
  const py = (w[3] as number) * mx + (w[4] as number) * my + (w[5] as number) * mz + (view[10] as number);
  const pz = (w[6] as number) * mx + (w[7] as number) * my + (w[8] as number) * mz + (view[11] as number);
  const q0 = inputs.quaternions.values[4 * i] as number;
  const q1 = inputs.quaternions.values[4 * i + 1] as number;
  const q2 = inputs.quaternions.values[4 * i + 2] as number;
  const q3 = inputs.quaternions.values[4 * i + 3] as number;
  const qLen = Math.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3);
  const qw = q0 / qLen;
  const qx = q1 / qLen;
  const qy = q2 / qLen;
  const qz = q3 / qLen;
  const s0 = Math.exp(inputs.logScales.values[3 * i] as number);
  const s1 = Math.exp(inputs.logScales.values[3 * i + 1] as number);
  const s2 = Math.exp(inputs.logScales.values[3 * i + 2] as number);
  cameraCovariance(view, qw, qx, qy, qz, s0, s1, s2, rot, m, covC);
  const rz = 1 / pz;
  const rz2 = rz * rz;
  const rz3 = rz2 * rz;
  const tx = pz * Math.min(limXPos, Math.max(-limXNeg, px * rz));
  const ty = pz * Math.min(limYPos, Math.max(-limYNeg, py * rz));
  // J = [[j00, 0, j02], [0, j11, j12]]; JΣ_c rows (a0, a1, a2), (b0, b1, b2)
  const j00 = fx * rz;
  const j02 = -fx * tx * rz2;
  const j11 = fy * rz;
  const j12 = -fy * ty * rz2;
  const a0 = j00 * (covC[0] as number) + j02 * (covC[6] as number);
  const a1 = j00 * (covC[1] as number) + j02 * (covC[7] as number);
  const a2 = j00 * (covC[2] as number) + j02 * (covC[8] as number);
  const b0 = j11 * (covC[3] as number) + j12 * (covC[6] as number);
  const b1 = j11 * (covC[4] as number) + j12 * (covC[7] as number);
  const b2 = j11 * (covC[5] as number) + j12 * (covC[8] as number);
  const ca = a0 * j00 + a2 * j02 + EPS_2D;
  const cc = b1 * j11 + b2 * j12 + EPS_2D;
  const cb = a1 * j11 + a2 * j12;
  const invDet = 1 / (ca * cc - cb * cb);
  const i00 = cc * invDet;
  const i01 = -cb * invDet;
  const i11 = ca * invDet;
  // conic → dilated 2D covariance: G = −Σ'⁻¹ Ĝ Σ'⁻¹ with Ĝ = [[dA, dB/2], [dB/2, dC]] (the +0.3 passes it unchanged)
  const dA = acc[at + 2] as number;
  const dB = 0.5 * (acc[at + 3] as number);
  const dC = acc[at + 4] as number;
  const h00 = i00 * dA + i01 * dB;
  const h01 = i00 * dB + i01 * dC;
  const h10 = i01 * dA + i11 * dB;
  const h11 = i01 * dB + i11 * dC;
  const g00 = -(h00 * i00 + h01 * i01);
  const g01 = -(h00 * i01 + h01 * i11);
  const g10 = -(h10 * i00 + h11 * i01);
  const g11 = -(h10 * i01 + h11 * i11);
  // Σ' = J Σ_c Jᵀ: ∂Σ_c = Jᵀ G J into t0, ∂J = 2 G J Σ_c (only the entries J depends on)
  const jr0 = [j00, 0, j02];
  const jr1 = [0, j11, j12];
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < 3; k++) {
      t0[3 * r + k] =
        (jr0[r] as number) * (g00 * (jr0[k] as number) + g01 * (jr1[k] as number)) +
        (jr1[r] as number) * (g10 * (jr0[k] as number) + g11 * (jr1[k] as number));
    }
  }
  const dJ00 = 2 * (g00 * a0 + g01 * b0);
  const dJ02 = 2 * (g00 * a2 + g01 * b2);
  const dJ11 = 2 * (g10 * a1 + g11 * b1);
  const dJ12 = 2 * (g10 * a2 + g11 * b2);
  // camera-space mean: mean2d, depth, and the Jacobian's dependence on (x, y, z)
  const dU = acc[at] as number;
  const dV = acc[at + 1] as number;
  let dPx = fx * rz * dU;
  let dPy = fy * rz * dV;
  let dPz = -(fx * px * dU + fy * py * dV) * rz2 + (acc[at + 9] as number);
  if (px * rz <= limXPos && px * rz >= -limXNeg) dPx += -fx * rz2 * dJ02;
  else dPz += -fx * rz3 * dJ02 * tx;
  if (py * rz <= limYPos && py * rz >= -limYNeg) dPy += -fy * rz2 * dJ12;
  else dPz += -fy * rz3 * dJ12 * ty;
  dPz += -fx * rz2 * dJ00 - fy * rz2 * dJ11 + 2 * fx * tx * rz3 * dJ02 + 2 * fy * ty * rz3 * dJ12;
  let dMx = (w[0] as number) * dPx + (w[3] as number) * dPy + (w[6] as number) * dPz;
  let dMy = (w[1] as number) * dPx + (w[4] as number) * dPy + (w[7] as number) * dPz;
  let dMz = (w[2] as number) * dPx + (w[5] as number) * dPy + (w[8] as number) * dPz;
  // Σ_c = W Σ Wᵀ: ∂Σ = Wᵀ ∂Σ_c W (t1); Σ = M Mᵀ: ∂M = 2 ∂Σ M (t0)
  mul3tn(w, t0, t1);
  mul3(t1, w, t0);
  mul3(t0, m, t1);
  const scales = [s0, s1, s2];
  for (let j = 0; j < 3; j++) {
    const dScale =
      2 *
      ((t1[j] as number) * (rot[j] as number) +
        (t1[3 + j] as number) * (rot[3 + j] as number) +
        (t1[6 + j] as number) * (rot[6 + j] as number));
    out[row + 3 + j] = dScale * (scales[j] as number);
  }
  // M = R diag(s): ∂L/∂R_rk = 2 (∂Σ M)_rk s_k
  const g = (r: number, k: number): number => 2 * (t1[3 * r + k] as number) * (scales[k] as number);
  const dQw = 2 * (qx * (g(2, 1) - g(1, 2)) + qy * (g(0, 2) - g(2, 0)) + qz * (g(1, 0) - g(0, 1)));
  const dQx = 2 * (-2 * qx * (g(1, 1) + g(2, 2)) + qy * (g(0, 1) + g(1, 0)) + qz * (g(0, 2) + g(2, 0)) + qw * (g(2, 1) - g(1, 2)));
  const dQy = 2 * (-2 * qy * (g(0, 0) + g(2, 2)) + qx * (g(0, 1) + g(1, 0)) + qz * (g(1, 2) + g(2, 1)) + qw * (g(0, 2) - g(2, 0)));
  const dQz = 2 * (-2 * qz * (g(0, 0) + g(1, 1)) + qx * (g(0, 2) + g(2, 0)) + qy * (g(1, 2) + g(2, 1)) + qw * (g(1, 0) - g(0, 1)));
  // the normalisation q̂ = q / |q|
  const along = qw * dQw + qx * dQx + qy * dQy + qz * dQz;
  out[row + 6] = (dQw - qw * along) / qLen;
  out[row + 7] = (dQx - qx * along) / qLen;
  out[row + 8] = (dQy - qy * along) / qLen;
  out[row + 9] = (dQz - qz * along) / qLen;
  // SH colour: rgb = max(Σ bₖ shₖ + 0.5, 0), through the view direction to the mean
  const vx = mx - (center[0] as number);
  const vy = my - (center[1] as number);
  const vz = mz - (center[2] as number);
  const len = Math.sqrt(vx * vx + vy * vy + vz * vz);
  const ux = vx / len;
  const uy = vy / len;
  const uz = vz / len;
  shBasis(ux, uy, uz, shDegree, basis);
  shBasisGrad(ux, uy, uz, shDegree, basisGrad);
  const coeffs = (shDegree + 1) * (shDegree + 1);
  const base = i * shK * 3;
  let rawR = 0.5;
  let rawG = 0.5;
  let rawB = 0.5;
  for (let k = 0; k < coeffs; k++) {
    rawR += (basis[k] as number) * (sh[base + 3 * k] as number);
    rawG += (basis[k] as number) * (sh[base + 3 * k + 1] as number);
    rawB += (basis[k] as number) * (sh[base + 3 * k + 2] as number);
  }
  const dR = rawR > 0 ? (acc[at + 6] as number) : 0;
  const dG = rawG > 0 ? (acc[at + 7] as number) : 0;
  const dBl = rawB > 0 ? (acc[at + 8] as number) : 0;
  let ddx = 0;
  let ddy = 0;
  let ddz = 0;
  for (let k = 0; k < coeffs; k++) {
    const bk = basis[k] as number;
    out[row + GRAD_HEAD + 3 * k] = bk * dR;
    out[row + GRAD_HEAD + 3 * k + 1] = bk * dG;
    out[row + GRAD_HEAD + 3 * k + 2] = bk * dBl;
    const dot = (sh[base + 3 * k] as number) * dR + (sh[base + 3 * k + 1] as number) * dG + (sh[base + 3 * k + 2] as number) * dBl;
    ddx += dot * (basisGrad[3 * k] as number);
    ddy += dot * (basisGrad[3 * k + 1] as number);
    ddz += dot * (basisGrad[3 * k + 2] as number);
  }
  const dirDot = ux * ddx + uy * ddy + uz * ddz;
  dMx += (ddx - ux * dirDot) / len;
  dMy += (ddy - uy * dirDot) / len;
  dMz += (ddz - uz * dirDot) / len;
  out[row] = dMx;
  out[row + 1] = dMy;
  out[row + 2] = dMz;
  const opacity = 1 / (1 + Math.exp(-(inputs.opacityLogits.values[i] as number)));
  out[row + 10] = (acc[at + 5] as number) * opacity * (1 - opacity);
}

/**
 * The backward on the host: rebuild the forward's tile lists, replay every pixel (`compositeBackward`),
 * then chain each drawn Gaussian's summed partials back to its inputs. `[N, 11 + 3K]`: ∂means (3),
 * ∂logScales (3), ∂quaternions (4), ∂opacityLogits (1), ∂sh (3K); a Gaussian that is not drawn (culled,
 * or outside the image) gets zeros.
 */
export function rasterizeBackwardHost(inputs: Record<HostBackwardInput, HostTensor>, attrs: RasterAttrs): HostTensor {
  const n = inputs.means.shape[0] as number;
  const shK = inputs.sh.shape[1] as number;
  const { tilesX, tilesY } = tileGrid(attrs);
  const p = preprocess(inputs, attrs);
  const lists = binTiles(p, tilesX * tilesY, tilesX);
  const acc = new Float64Array(n * NQ);
  compositeBackward(p, lists, attrs, inputs.rendered.values, inputs.dy.values, acc);
  const width = GRAD_HEAD + 3 * shK;
  const out = new Float32Array(n * width);
  const scratch: Scratch = {
    rot: new Float64Array(9),
    m: new Float64Array(9),
    covC: new Float64Array(9),
    t0: new Float64Array(9),
    t1: new Float64Array(9),
    basis: new Float64Array(16),
    basisGrad: new Float64Array(48),
    lim: fovLimits(attrs),
  };
  const r = p.rect;
  for (let i = 0; i < n; i++) {
    if ((r[4 * i + 2] as number) <= (r[4 * i] as number) || (r[4 * i + 3] as number) <= (r[4 * i + 1] as number)) continue;
    gaussianBackward(inputs, attrs, i, acc, i * NQ, scratch, out);
  }
  return { shape: [n, width], dtype: 'float32', values: out };
}
