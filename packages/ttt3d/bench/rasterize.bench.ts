import { tf, webgpuSubgroups } from '@tessera/tensor-core';
import type { HostTensor, Tensor } from '@tessera/tensor-core';
import { bench, type BenchResult, type BenchRow, compare, defineBench, kernelProfile, runKernel } from '@tessera/tensor-core/bench';
import { Camera } from '../src/camera/index.js';
import type { Gaussians } from '../src/gaussians/index.js';
import { countIntersections } from '../src/rasterize/host.js';
import { GaussianBackwardProgram } from '../src/rasterize/gaussian-backward.program.js';
import { type BackwardReduction, rasterizeBackwardWebGPU, rasterizeBackwardWith } from '../src/rasterize/kernel.js';
import { rasterizeBackwardOp, rasterizeOp } from '../src/rasterize/op.js';
import { randomGaussians } from '../test/cases.js';
import { PerThreadGaussianBackwardProgram } from '../test/gaussian-backward-per-thread.js';
import { type GaussianInput, rasterAttrs, type RasterAttrs } from '../src/rasterize/raster-attrs.js';
import { rasterizePackedReference } from '../src/rasterize/reference.js';
import { largestStorageBinding, maxStorageBinding } from '../src/rasterize/storage-bindings.js';

/** One measured configuration: image size and Gaussian count. */
interface Case {
  width: number;
  height: number;
  count: number;
  /** Whether the dense reference is cheap enough to time here (O(N·h·w) in N sequential steps). */
  reference: boolean;
}

/** One timed call per round for the dense reference: it takes seconds. */
const SLOW = { warmup: 1, warmupMs: 0, rounds: 3, iterations: 1 };

const SH_DEGREE = 3;

/** A seeded scene in front of the camera: Gaussians of a few pixels at 1080p (world-space log-scales −5 … −3.5). */
function scene(count: number): Gaussians {
  return randomGaussians({ count, shDegree: SH_DEGREE, seed: count, extent: 1.5, logScaleMin: -5, logScaleMax: -3.5 });
}

function camera(width: number, height: number): Camera {
  return Camera.fromLookAt([0.4, -0.3, -4.5], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width, height });
}

function inputsOf(g: Gaussians): Record<GaussianInput, Tensor> {
  return { means: g.means, logScales: g.logScales, quaternions: g.quaternions, opacityLogits: g.opacityLogits, sh: g.sh };
}

/** The WGSL binning's total of Gaussian–tile intersections: `order[N]` (intersections.wgsl.ts). */
async function totalIntersections(order: Tensor, n: number): Promise<number> {
  const total = tf.slice(order, [n], [1]);
  const value = (await total.data())[0] as number;
  total.dispose();
  return value;
}

async function hostInputs(inputs: Record<GaussianInput, Tensor>): Promise<Record<GaussianInput, HostTensor>> {
  const out = {} as Record<GaussianInput, HostTensor>;
  for (const [name, t] of Object.entries(inputs) as [GaussianInput, Tensor][]) {
    out[name] = { shape: t.shape, dtype: 'float32', values: (await t.data()) as Float32Array };
  }
  return out;
}

/** Intersection capacity for a case: every Gaussian of this scene covers at most ~16 tiles at 1080p. */
function attrsFor(c: Case): RasterAttrs {
  const tiles = Math.ceil(c.width / 16) * Math.ceil(c.height / 16);
  return rasterAttrs(camera(c.width, c.height), c.width, c.height, 3, Math.min(c.count * tiles, 16 * c.count + 65536));
}

/** The kernel the active backend runs: WGSL on WebGPU, the typed-array port (host.ts) on cpu and wasm. */
function kernelName(backend: string): string {
  return backend === 'webgpu' ? 'wgsl' : 'host';
}

async function measure(c: Case, backend: string, log: (m: string) => void, previous: Map<string, BenchResult>): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const kernel = kernelName(backend);
  const shape = `${c.width}x${c.height} N=${c.count}`;
  const g = scene(c.count);
  const inputs = inputsOf(g);
  const attrs = attrsFor(c);
  const pixels = c.width * c.height;
  // the host kernels take a second or more at the larger sizes: time one call per round there
  const timing = backend === 'webgpu' ? undefined : SLOW;
  log(`rasterize ${shape}`);
  const forward = await bench(`${kernel} forward`, () => rasterizeOp(inputs, attrs), timing);
  // the backward replays the forward's binning (pre, order, keys), as a gradient tape hands it over
  const [rendered, pre, order, keys] = rasterizeOp(inputs, attrs) as [Tensor, Tensor, Tensor, Tensor];
  const coverage = (await tf.mean(tf.slice(rendered, [0, 0, 4], [c.height, c.width, 1])).data())[0] as number;
  log(`  mean transmittance ${coverage.toFixed(3)}${Number.isNaN(coverage) ? ' (NaN: intersection capacity exceeded)' : ''}`);
  // the length of the tile lists the sorts and the compositing walk: the WGSL path's total (order[N]), recounted on the host
  const listed = backend === 'webgpu' ? await totalIntersections(order, c.count) : countIntersections(await hostInputs(inputs), attrs);
  log(`  Gaussian–tile intersections ${listed} (${(listed / c.count).toFixed(2)} per Gaussian)`);
  const dy = tf.tidy(() => tf.mul(tf.onesLike(rendered), 0.5));
  const backwardInputs = { ...inputs, rendered, dy, pre, order, keys };
  const backward = await bench(`${kernel} backward`, () => rasterizeBackwardOp(backwardInputs, attrs), timing);
  // bytes: the image written once and every Gaussian's parameters read once (a floor, not the real traffic)
  const bytes = 4 * (5 * pixels + c.count * (14 + 48));
  if (c.reference) {
    const refForward = await bench('dense reference forward', () => rasterizePackedReference(inputs, attrs), SLOW);
    rows.push(compare('rasterize forward', shape, 'dense tfjs reference', refForward, forward, { bytes }));
    const refBackward = await bench('dense reference backward', () => rasterizeBackwardOp.reference(backwardInputs, attrs), SLOW);
    rows.push(compare('rasterize backward', shape, 'autodiff of the reference', refBackward, backward));
  }
  // linearity in N: the same image with ten times fewer Gaussians
  const fewer = previous.get(`${c.width}x${c.height} N=${c.count / 10}`);
  if (fewer) rows.push(compare('rasterize forward', shape, `${kernel} forward, N/10`, fewer, forward, { bytes }));
  // the target: backward ≤ 3× forward (speedup ≥ 0.33)
  rows.push(compare('rasterize backward', shape, `${kernel} forward`, forward, backward));
  // where the time goes, program by program (GPU time from timestamp queries): the fixed-cost case and the largest
  if (backend === 'webgpu' && ((c.count === 10000 && c.width === 256) || (c.count === 1000000 && c.width === 1920))) {
    rows.push(...(await kernelProfile('rasterize forward', shape, () => rasterizeOp(inputs, attrs), { by: 'program', top: 8 })));
    rows.push(
      ...(await kernelProfile('rasterize backward', shape, () => rasterizeBackwardOp(backwardInputs, attrs), { by: 'program', top: 8 })),
    );
    // do the subgroup reductions in the compositing pay on this device, against the portable tree? Every Gaussian
    // through subgroupAdd, and skipping the Gaussians none of a subgroup's pixels took (transposing where the adapter
    // reports one subgroup size)
    const sg = webgpuSubgroups();
    if (sg.enabled) {
      const backward = (subgroups: BackwardReduction) => () =>
        runKernel((ctx) => rasterizeBackwardWith(ctx, subgroups), backwardInputs, attrs);
      const tree = await bench('backward, tree reduction', backward({ enabled: false, minSize: 0 }));
      const sub = await bench('backward, subgroup reduction', backward(sg));
      rows.push(compare('rasterize backward (subgroup reduction)', shape, 'tree reduction', tree, sub));
      const skip = await bench('backward, subgroup skip reduction', backward({ ...sg, skip: true }));
      rows.push(compare('rasterize backward (subgroup skip reduction)', shape, 'tree reduction', tree, skip));
      if (sg.minSize === sg.maxSize) {
        const added = await bench('backward, subgroup skip reduction (subgroupAdd)', backward({ ...sg, maxSize: 0, skip: true }));
        rows.push(compare('rasterize backward (subgroup skip reduction, subgroupAdd)', shape, 'tree reduction', tree, added));
      }
      // the tests run the variants at lavapipe's subgroup size (8) only: check them here at this device's
      const reference = backward({ enabled: false, minSize: 0 })();
      const scale = (await tf.max(tf.abs(reference)).data())[0] as number;
      for (const [name, variant] of [
        ['subgroup', sg],
        ['subgroup skip', { ...sg, skip: true }],
      ] as const) {
        const grads = backward(variant)();
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(grads, reference))));
        log(`  ${name} reduction: max |Δ gradient| against the tree ${((await diff.data())[0] as number) / scale} of max |gradient|`);
        tf.dispose([grads, diff]);
      }
      reference.dispose();
    }
    // the per-Gaussian pass through workgroup memory against the per-thread program it replaced (the tests' oracle),
    // the rest of the backward the same: the A/B the first GPU run of the staged pass needs
    const shK = inputs.sh.shape[1] as number;
    const perThread = await bench('backward, per-thread Gaussian pass', () =>
      runKernel(
        (ctx) =>
          rasterizeBackwardWebGPU({
            ...ctx,
            run: (program, programInputs, dtype, uniforms) =>
              ctx.run(
                program instanceof GaussianBackwardProgram ? new PerThreadGaussianBackwardProgram(c.count, shK) : program,
                programInputs,
                dtype,
                uniforms,
              ),
          }),
        backwardInputs,
        attrs,
      ),
    );
    rows.push(compare('rasterize backward (staged per-Gaussian pass)', shape, 'per-thread per-Gaussian pass', perThread, backward));
  }
  previous.set(shape, forward);
  tf.dispose([rendered, pre, order, keys, dy]);
  g.dispose();
  return rows;
}

/** WebGPU: the sizes, up to 1M Gaussians at 1080p; the dense reference only at N = 100. */
function webgpuCases(size: 'full' | 'quick'): Case[] {
  return size === 'full'
    ? [
        { width: 256, height: 256, count: 100, reference: true },
        ...[256, 512, 1080].flatMap((h) =>
          [1000, 10000, 100000, 1000000].map((count) => ({ width: h === 1080 ? 1920 : h, height: h, count, reference: false })),
        ),
      ]
    : [
        { width: 64, height: 64, count: 100, reference: true },
        { width: 64, height: 64, count: 1000, reference: false },
      ];
}

/**
 * cpu and wasm: the host kernels against the dense reference where it survives (N = 100: its N·h·w
 * memory is what fails at 20k Gaussians), then the README example's 20k Gaussians at 256² (target: the
 * forward under 2 s on one core) and its N/10 baseline.
 */
function hostCases(size: 'full' | 'quick'): Case[] {
  return size === 'full'
    ? [
        { width: 256, height: 256, count: 100, reference: true },
        { width: 256, height: 256, count: 2000, reference: false },
        { width: 256, height: 256, count: 20000, reference: false },
      ]
    : [
        { width: 64, height: 64, count: 100, reference: true },
        { width: 64, height: 64, count: 1000, reference: false },
      ];
}

/**
 * The Gaussian rasteriser, forward and backward, on a seeded random scene (SH degree 3), on the active
 * backend's tiled kernel (WGSL on WebGPU, host.ts on cpu and wasm). Rows compare it against the dense tfjs
 * reference where that is affordable, the forward against itself at a tenth of the Gaussians (cost should
 * grow ~linearly in N), and the backward against the forward (target ≤ 3×). WebGPU full: 256², 512²,
 * 1920×1080 with 1k–1M Gaussians (the reference at 256² with 100). cpu/wasm full: 256² with 100 (and the
 * reference), 2k and 20k. Quick: 64² with 100 (and the reference) and 1k.
 */
export default defineBench({
  name: 'rasterize',
  async run({ backend, size, log }) {
    const cases = backend === 'webgpu' ? webgpuCases(size) : hostCases(size);
    const rows: BenchRow[] = [];
    const previous = new Map<string, BenchResult>();
    const limit = maxStorageBinding();
    for (const c of cases) {
      // a software adapter (lavapipe: 128 MiB) binds less than the full sizes need: say so, rather than fail mid-run
      const largest = largestStorageBinding('backward', c.count, (SH_DEGREE + 1) ** 2, attrsFor(c).capacity, c.width, c.height);
      if (limit !== undefined && largest.bytes > limit) {
        log(
          `rasterize ${c.width}x${c.height} N=${c.count} skipped: ${largest.name} needs ${largest.bytes} bytes, above maxStorageBufferBindingSize ${limit}`,
        );
        continue;
      }
      rows.push(...(await measure(c, backend, log, previous)));
    }
    return rows;
  },
});
