import { DtypeError, FormatError, ShapeError, type Tensor, TesseraError, tf, ValueError } from '@tessera/tensor-core';
import { badInput, describeBackends, itRejects } from '@tessera/tensor-core/testing';
import { afterAll, beforeAll, describe } from 'vitest';
import { Camera, orbitCameras, pluckerRays } from '../src/camera/index.js';
import { fitGaussians, type FitOptions } from '../src/fit/index.js';
import { type FastWeights, fastWeightApply, fastWeightColumnNorms, fastWeightUpdate, lactLearningRates } from '../src/lact/index.js';
import { dcToRgb, Gaussians, rgbToDc, shCoefficients, shDegreeOf } from '../src/gaussians/index.js';
import { decodePng, encodePng, loadPng, psnr, savePng, ssim } from '../src/image/index.js';
import { decodePly, encodePly, plyProperties, readPly, writePly } from '../src/ply/index.js';
import { gaussiansFromGsplat, gaussiansToGsplat, loadGsplatCheckpoint, saveGsplatCheckpoint } from '../src/gsplat/index.js';
import { rasterize, rasterizeReference, type RasterizeOptions } from '../src/rasterize/index.js';
import { bunny, coloredPrimitives, texturedSphere } from '../src/scenes/index.js';
import { LaCTBlock } from '../src/lact-block/index.js';
import { TTTLRM } from '../src/tttlrm/index.js';
import { adam7Scanlines, blobs, DEGREE1, frontCamera, HAND_ROWS, handPly, pngBytes } from './cases.js';

/*
 * One table per public function: each row is a bad input, the error class it must raise, and a fragment
 * of the message (argument, expectation, received value). `itRejects` also checks that a rejected call
 * leaves no tensor behind.
 */

const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const PARAMS = { fx: 100, fy: 80, cx: 50, cy: 40, width: 100, height: 80, worldToCamera: IDENTITY };
type Params = ConstructorParameters<typeof Camera>[0];
const cameraWith = (over: Record<string, unknown>): Camera => new Camera({ ...PARAMS, ...over } as Params);
const withEntry = (i: number, v: number): number[] => IDENTITY.map((x, k) => (k === i ? v : x));

describe('Camera (constructor)', () => {
  itRejects([
    badInput({
      name: 'no params',
      call: () => new Camera(undefined as unknown as Params),
      error: ValueError,
      message: 'params: expected {',
    }),
    badInput({
      name: 'params that are not an object',
      call: () => new Camera(3 as unknown as Params),
      error: ValueError,
      message: 'params: expected an options object',
    }),
    badInput({
      name: 'a misspelt field',
      call: () => cameraWith({ witdh: 3 }),
      error: ValueError,
      message: 'params.witdh: expected one of the known options',
    }),
    badInput({
      name: 'a non-finite matrix entry',
      call: () => cameraWith({ worldToCamera: withEntry(5, Number.NaN) }),
      error: ValueError,
      message: 'worldToCamera[5]: expected a finite number, received NaN',
    }),
    badInput({
      name: 'a scaled rotation',
      call: () => cameraWith({ worldToCamera: withEntry(0, 2) }),
      error: ValueError,
      message: 'worldToCamera: expected its top-left 3×3 to be a proper rotation',
    }),
    badInput({ name: 'a reflection', call: () => cameraWith({ worldToCamera: withEntry(0, -1) }), error: ValueError, message: 'det = -1' }),
    badInput({
      name: 'a last row other than [0, 0, 0, 1]',
      call: () => cameraWith({ worldToCamera: withEntry(12, 1) }),
      error: ValueError,
      message: 'last row to be [0, 0, 0, 1], received [1, 0, 0, 1]',
    }),
    badInput({
      name: 'a matrix of 12 numbers',
      call: () => cameraWith({ worldToCamera: IDENTITY.slice(0, 12) }),
      error: ShapeError,
      message: 'worldToCamera: expected 16 numbers (a row-major 4×4), received 12',
    }),
    badInput({
      name: 'fx = 0',
      call: () => cameraWith({ fx: 0 }),
      error: ValueError,
      message: 'fx: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'fy < 0',
      call: () => cameraWith({ fy: -3 }),
      error: ValueError,
      message: 'fy: expected a finite number > 0, received -3',
    }),
    badInput({
      name: 'an infinite cx',
      call: () => cameraWith({ cx: Number.POSITIVE_INFINITY }),
      error: ValueError,
      message: 'cx: expected a finite number, received Infinity',
    }),
    badInput({
      name: 'width 0',
      call: () => cameraWith({ width: 0 }),
      error: ValueError,
      message: 'width: expected an integer ≥ 1 and ≤ 16384, received 0',
    }),
    badInput({
      name: 'a fractional height',
      call: () => cameraWith({ height: 2.5 }),
      error: ValueError,
      message: 'height: expected an integer ≥ 1 and ≤ 16384, received 2.5',
    }),
    badInput({
      name: 'a width above MAX_IMAGE_SIDE',
      call: () => cameraWith({ width: 1e6 }),
      error: ValueError,
      message: 'width: expected an integer ≥ 1 and ≤ 16384, received 1000000',
    }),
    badInput({
      name: 'more pixels than MAX_IMAGE_PIXELS',
      call: () => cameraWith({ width: 16384, height: 16384 }),
      error: ValueError,
      message: 'width × height: expected at most 33554432 pixels (MAX_IMAGE_PIXELS), received 16384 × 16384',
    }),
  ]);
});

describe('Camera.fromLookAt', () => {
  const size = { width: 4, height: 4 };
  itRejects([
    badInput({
      name: 'up parallel to the view direction',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 0, 2], { fovY: 1, ...size }),
      error: ValueError,
      message: 'up: expected a direction not parallel to target − eye',
    }),
    badInput({
      name: 'eye = target',
      call: () => Camera.fromLookAt([1, 1, 1], [1, 1, 1], [0, 1, 0], { fovY: 1, ...size }),
      error: ValueError,
      message: 'target: expected a point different from eye',
    }),
    badInput({
      name: 'both fovY and fx',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], { fovY: 1, fx: 3, ...size }),
      error: ValueError,
      message: 'intrinsics: expected either fovY or fx/fy, received both',
    }),
    badInput({
      name: 'neither fovY nor fx',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], size),
      error: ValueError,
      message: 'expected fovY (radians) or fx (pixels), received neither',
    }),
    badInput({
      name: 'fovY = π',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], { fovY: Math.PI, ...size }),
      error: ValueError,
      message: 'fovY: expected a finite number > 0 and < 3.14',
    }),
    badInput({
      name: 'a NaN in eye',
      call: () => Camera.fromLookAt([0, Number.NaN, -1], [0, 0, 0], [0, 1, 0], { fovY: 1, ...size }),
      error: ValueError,
      message: 'eye[1]: expected a finite number, received NaN',
    }),
    badInput({
      name: 'a target of 2 numbers',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0], [0, 1, 0], { fovY: 1, ...size }),
      error: ValueError,
      message: 'target: expected 3 finite numbers [x, y, z], received 2 values',
    }),
    badInput({
      name: 'no intrinsics',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], undefined as unknown as typeof size),
      error: ValueError,
      message: 'intrinsics: expected { fovY | fx, width, height }, received undefined',
    }),
    badInput({
      name: 'a misspelt intrinsic',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], { fov: 1, ...size } as unknown as typeof size),
      error: ValueError,
      message:
        'intrinsics.fov: expected one of the known options (fovY, fx, fy, cx, cy, width, height), received an unknown option (did you mean fovY?)',
    }),
    badInput({
      name: 'a width above MAX_IMAGE_SIDE',
      call: () => Camera.fromLookAt([0, 0, -1], [0, 0, 0], [0, 1, 0], { fovY: 1, width: 20000, height: 4 }),
      error: ValueError,
      message: 'width: expected an integer ≥ 1 and ≤ 16384, received 20000',
    }),
  ]);
});

describe('Camera.fromJSON', () => {
  itRejects([
    badInput({ name: 'a string', call: () => Camera.fromJSON('camera'), error: ValueError, message: 'json: expected a camera object' }),
    badInput({ name: 'an array', call: () => Camera.fromJSON([]), error: ValueError, message: 'json: expected a camera object' }),
    badInput({
      name: 'a negative width',
      call: () => Camera.fromJSON({ ...PARAMS, width: -1 }),
      error: ValueError,
      message: 'width: expected an integer ≥ 1 and ≤ 16384, received -1',
    }),
    badInput({
      name: 'an extra field',
      call: () => Camera.fromJSON({ ...PARAMS, near: 0.1 }),
      error: ValueError,
      message: 'params.near: expected one of the known options',
    }),
  ]);
});

describe('Camera methods', () => {
  const cam = new Camera(PARAMS);
  itRejects([
    badInput({
      name: 'project: a point of 2 numbers',
      call: () => cam.project([1, 2]),
      error: ValueError,
      message: 'point: expected 3 finite numbers [x, y, z], received 2 values',
    }),
    badInput({
      name: 'project: a NaN coordinate',
      call: () => cam.project([1, Number.NaN, 2]),
      error: ValueError,
      message: 'point[1]: expected a finite number, received NaN',
    }),
    badInput({
      name: 'unproject: an infinite depth',
      call: () => cam.unproject(1, 2, Number.POSITIVE_INFINITY),
      error: ValueError,
      message: 'depth: expected a finite number, received Infinity',
    }),
    badInput({
      name: 'unproject: a NaN u',
      call: () => cam.unproject(Number.NaN, 2, 1),
      error: ValueError,
      message: 'u: expected a finite number, received NaN',
    }),
    badInput({
      name: 'worldToCameraPoint: a string',
      call: () => cam.worldToCameraPoint('xyz' as unknown as number[]),
      error: ValueError,
      message: 'point: expected 3 finite numbers [x, y, z], received',
    }),
    badInput({
      name: 'cameraToWorldPoint: an infinite coordinate',
      call: () => cam.cameraToWorldPoint([0, 0, Number.NEGATIVE_INFINITY]),
      error: ValueError,
      message: 'point[2]: expected a finite number, received -Infinity',
    }),
    badInput({
      name: 'cameraToWorldDirection: 4 numbers',
      call: () => cam.cameraToWorldDirection([0, 0, 1, 0]),
      error: ValueError,
      message: 'direction: expected 3 finite numbers [x, y, z], received 4 values',
    }),
  ]);
});

describe('orbitCameras', () => {
  const opts = { radius: 3, elevation: 0.4, fov: 0.9, size: [40, 30] as [number, number] };
  itRejects([
    badInput({
      name: 'n = 0',
      call: () => orbitCameras(0, opts),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 100000, received 0',
    }),
    badInput({
      name: 'n above MAX_ORBIT_CAMERAS',
      call: () => orbitCameras(1e9, opts),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 100000, received 1000000000',
    }),
    badInput({
      name: 'no options',
      call: () => orbitCameras(2, undefined as unknown as typeof opts),
      error: ValueError,
      message: 'opts: expected { radius, elevation, fov, size, target, up }, received undefined',
    }),
    badInput({
      name: 'a misspelt option',
      call: () => orbitCameras(2, { ...opts, raduis: 3 } as typeof opts),
      error: ValueError,
      message:
        'opts.raduis: expected one of the known options (radius, elevation, fov, size, target, up), received an unknown option (did you mean radius?)',
    }),
    badInput({
      name: 'radius 0',
      call: () => orbitCameras(2, { ...opts, radius: 0 }),
      error: ValueError,
      message: 'radius: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'elevation at a pole',
      call: () => orbitCameras(2, { ...opts, elevation: Math.PI / 2 }),
      error: ValueError,
      message: 'elevation: expected a finite number > -1.5',
    }),
    badInput({
      name: 'fov 0',
      call: () => orbitCameras(2, { ...opts, fov: 0 }),
      error: ValueError,
      message: 'fov: expected a finite number > 0 and < 3.14',
    }),
    badInput({
      name: 'a zero width',
      call: () => orbitCameras(2, { ...opts, size: [0, 3] }),
      error: ValueError,
      message: 'size[0] (width): expected an integer ≥ 1 and ≤ 16384, received 0',
    }),
    badInput({
      name: 'a size above MAX_IMAGE_SIDE',
      call: () => orbitCameras(2, { ...opts, size: 1e5 }),
      error: ValueError,
      message: 'size: expected an integer ≥ 1 and ≤ 16384, received 100000',
    }),
    badInput({
      name: 'a size of 3 numbers',
      call: () => orbitCameras(2, { ...opts, size: [1, 2, 3] as unknown as number }),
      error: ValueError,
      message: 'size: expected an integer ≥ 1 or [width, height], received',
    }),
    badInput({
      name: 'a zero up',
      call: () => orbitCameras(2, { ...opts, up: [0, 0, 0] }),
      error: ValueError,
      message: 'up: expected a non-zero direction, received',
    }),
  ]);
});

describe('pluckerRays', () => {
  const cam = new Camera({ ...PARAMS, width: 3, height: 2 });
  itRejects([
    badInput({
      name: 'form 7',
      call: () => pluckerRays(cam, { form: 7 as 6 }),
      error: ValueError,
      message: 'form: expected 6 or 9, received 7',
    }),
    badInput({
      name: 'a non-camera',
      call: () => pluckerRays({ width: 2 } as unknown as Camera),
      error: ValueError,
      message: 'camera: expected a Camera, received',
    }),
    badInput({
      name: 'a misspelt option',
      call: () => pluckerRays(cam, { from: 9 } as unknown as { form: 9 }),
      error: ValueError,
      message: 'opts.from: expected one of the known options (form), received an unknown option (did you mean form?)',
    }),
    badInput({
      name: 'options that are not an object',
      call: () => pluckerRays(cam, 9 as unknown as { form: 9 }),
      error: ValueError,
      message: 'opts: expected an options object { form }, received 9',
    }),
  ]);
});

/** Two valid Gaussians' fields, for rows that break one of them. */
function fields(): Record<'means' | 'logScales' | 'quaternions' | 'opacityLogits' | 'sh', Tensor> {
  return blobs([
    { at: [0, 0, 0], scale: 0.1, opacity: 0.5, rgb: [0.5, 0.5, 0.5] },
    { at: [0.1, 0, 0], scale: 0.1, opacity: 0.5, rgb: [0.2, 0.5, 0.5] },
  ]).toTensors();
}

describeBackends('Gaussians (constructor)', () => {
  itRejects([
    badInput({
      name: 'no fields',
      call: () => new Gaussians(undefined as unknown as ReturnType<typeof fields>),
      error: ValueError,
      message: 'fields: expected { means, logScales, quaternions, opacityLogits, sh }, received undefined',
    }),
    badInput({
      name: 'a misspelt field',
      inputs: fields,
      call: (f) => new Gaussians({ ...f, opacities: f.opacityLogits } as typeof f),
      error: ValueError,
      message:
        'fields.opacities: expected one of the known options (means, logScales, quaternions, opacityLogits, sh), received an unknown option',
    }),
    badInput({
      name: 'N that disagree',
      inputs: () => ({ ...fields(), short: tf.zeros([1]) }),
      call: ({ short, ...f }) => new Gaussians({ ...f, opacityLogits: short }),
      error: ShapeError,
      message: 'opacityLogits: expected dimension 0 (N) to be 2 as bound by an earlier argument, received shape [1]',
    }),
    badInput({
      name: 'quaternions [N, 3]',
      inputs: () => ({ ...fields(), q3: tf.zeros([2, 3]) }),
      call: ({ q3, ...f }) => new Gaussians({ ...f, quaternions: q3 }),
      error: ShapeError,
      message: 'quaternions: expected dimension 1 to be 4, received shape [2, 3]',
    }),
    badInput({
      name: 'an SH count that is no degree',
      inputs: () => ({ ...fields(), sh2: tf.zeros([2, 2, 3]) }),
      call: ({ sh2, ...f }) => new Gaussians({ ...f, sh: sh2 }),
      error: ShapeError,
      message: 'sh: expected dimension 1 to be (degree + 1)² for an SH degree 0–3 (1, 4, 9 or 16), received shape [2, 2, 3]',
    }),
    badInput({
      name: 'SH degree 4',
      inputs: () => ({ ...fields(), sh25: tf.zeros([2, 25, 3]) }),
      call: ({ sh25, ...f }) => new Gaussians({ ...f, sh: sh25 }),
      error: ShapeError,
      message: 'received shape [2, 25, 3]',
    }),
    badInput({
      name: 'int32 means',
      inputs: () => ({ ...fields(), m: tf.zeros([2, 3], 'int32') }),
      call: ({ m, ...f }) => new Gaussians({ ...f, means: m }),
      error: DtypeError,
      message: 'means: expected dtype float32, received int32',
    }),
    badInput({
      name: 'a missing field',
      inputs: fields,
      call: (f) => new Gaussians({ ...f, logScales: undefined as unknown as Tensor }),
      error: ShapeError,
      message: 'logScales: expected a float32 tensor, received undefined',
    }),
    badInput({
      name: 'a disposed field',
      inputs: () => {
        const t = tf.zeros([2]);
        t.dispose();
        return { ...fields(), t };
      },
      call: ({ t, ...f }) => new Gaussians({ ...f, opacityLogits: t }),
      error: ValueError,
      message: 'opacityLogits: expected a live tensor, received a disposed one',
    }),
  ]);
});

describeBackends('Gaussians.fromPoints', () => {
  itRejects([
    badInput({
      name: 'a point of 2 numbers',
      call: () => Gaussians.fromPoints([[0, 1]]),
      error: ShapeError,
      message: 'points[0]: expected 3 numbers, received',
    }),
    badInput({
      name: 'a NaN coordinate',
      call: () => Gaussians.fromPoints([[0, 1, Number.NaN]]),
      error: ValueError,
      message: 'points[0][2]: expected a finite number, received NaN',
    }),
    badInput({
      name: 'points that are not an array or tensor',
      call: () => Gaussians.fromPoints(5 as unknown as number[][]),
      error: ShapeError,
      message: 'points: expected a float32 tensor, received 5',
    }),
    badInput({
      name: 'colours that do not match the points',
      call: () => Gaussians.fromPoints([[0, 1, 2]], { colors: [] }),
      error: ShapeError,
      message: 'colors: expected 1 rows to match points, received shape [0, 3]',
    }),
    badInput({
      name: 'opacity 1',
      call: () => Gaussians.fromPoints([[0, 1, 2]], { opacity: 1 }),
      error: ValueError,
      message: 'opacity: expected a finite number > 0 and < 1, received 1',
    }),
    badInput({
      name: 'scale 0',
      call: () => Gaussians.fromPoints([[0, 1, 2]], { scale: 0 }),
      error: ValueError,
      message: 'scale: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'SH degree 4',
      call: () => Gaussians.fromPoints([[0, 1, 2]], { shDegree: 4 }),
      error: ValueError,
      message: 'shDegree: expected an integer ≥ 0 and ≤ 3, received 4',
    }),
    badInput({
      name: 'a misspelt option',
      call: () => Gaussians.fromPoints([[0, 1, 2]], { colours: [[1, 1, 1]] } as object),
      error: ValueError,
      message:
        'opts.colours: expected one of the known options (colors, scale, opacity, shDegree), received an unknown option (did you mean colors?)',
    }),
  ]);
});

describeBackends('Gaussians.empty', () => {
  itRejects([
    badInput({
      name: 'SH degree -1',
      call: () => Gaussians.empty(-1),
      error: ValueError,
      message: 'shDegree: expected an integer ≥ 0 and ≤ 3, received -1',
    }),
  ]);
});

describeBackends('Gaussians.fromTensors', () => {
  itRejects([
    badInput({
      name: 'a missing key',
      inputs: fields,
      call: ({ sh: _sh, ...rest }) => Gaussians.fromTensors(rest),
      error: ValueError,
      message: 'record: expected a tensor named "sh", received keys [means, logScales, quaternions, opacityLogits]',
    }),
    badInput({
      name: 'an extra key',
      inputs: fields,
      call: (f) => Gaussians.fromTensors({ ...f, colors: f.sh }),
      error: ValueError,
      message: 'record: expected only [means, logScales, quaternions, opacityLogits, sh], received extra keys [colors]',
    }),
    badInput({
      name: 'null',
      call: () => Gaussians.fromTensors(null as unknown as Record<string, Tensor>),
      error: ValueError,
      message: 'record: expected { means, logScales, quaternions, opacityLogits, sh }, received null',
    }),
  ]);
});

describeBackends('Gaussians methods', () => {
  const two = (): { g: Gaussians } => ({ g: new Gaussians(fields()) });
  itRejects([
    badInput({
      name: 'concat: something that is not Gaussians',
      inputs: two,
      call: ({ g }) => g.concat([{} as Gaussians]),
      error: ValueError,
      message: 'others[0]: expected Gaussians, received',
    }),
    badInput({
      name: 'select: an index past N',
      inputs: two,
      call: ({ g }) => g.select([0, 2]),
      error: ValueError,
      message: 'indices[1]: expected an integer ≥ 0 and ≤ 1, received 2',
    }),
    badInput({
      name: 'select: not an array',
      inputs: two,
      call: ({ g }) => g.select(3 as unknown as number[]),
      error: ValueError,
      message: 'indices: expected an array of integers, received 3',
    }),
    badInput({
      name: 'prune: a mask tensor of the wrong length',
      inputs: () => ({ ...two(), mask: tf.tensor1d([1], 'bool') }),
      call: ({ g, mask }) => g.prune(mask),
      error: ShapeError,
      message: 'mask: expected dimension 0 to be 2, received shape [1]',
    }),
    badInput({
      name: 'prune: a mask array of the wrong length',
      inputs: two,
      call: ({ g }) => g.prune([true]),
      error: ShapeError,
      message: 'mask: expected 2 entries, received 1',
    }),
    badInput({
      name: 'prune: a number',
      inputs: two,
      call: ({ g }) => g.prune(3 as unknown as boolean[]),
      error: ValueError,
      message: 'mask: expected a bool tensor or array of 2 entries, received 3',
    }),
  ]);
});

describe('SH helpers', () => {
  itRejects([
    badInput({
      name: 'rgbToDc: NaN',
      call: () => rgbToDc(Number.NaN),
      error: ValueError,
      message: 'c: expected a finite number, received NaN',
    }),
    badInput({
      name: 'dcToRgb: a string',
      call: () => dcToRgb('1' as unknown as number),
      error: ValueError,
      message: 'dc: expected a finite number, received',
    }),
    badInput({
      name: 'shCoefficients: degree 4',
      call: () => shCoefficients(4),
      error: ValueError,
      message: 'degree: expected an integer ≥ 0 and ≤ 3, received 4',
    }),
    badInput({
      name: 'shCoefficients: degree 1.5',
      call: () => shCoefficients(1.5),
      error: ValueError,
      message: 'degree: expected an integer ≥ 0 and ≤ 3, received 1.5',
    }),
    badInput({
      name: 'shDegreeOf: a negative count',
      call: () => shDegreeOf(-4),
      error: ValueError,
      message: 'k: expected an integer ≥ 0, received -4',
    }),
    badInput({
      name: 'shDegreeOf: NaN',
      call: () => shDegreeOf(Number.NaN),
      error: ValueError,
      message: 'k: expected an integer ≥ 0, received NaN',
    }),
  ]);
});

/** A one-Gaussian scene and a 16×16 camera for the rasteriser rows. */
function scene(): { g: Gaussians; cam: Camera } {
  return { g: blobs([{ at: [0, 0, 0], scale: 0.1, opacity: 0.5, rgb: [0.5, 0.5, 0.5] }]), cam: frontCamera(16) };
}

/** Rows shared by `rasterize` and `rasterizeReference`. */
function rasterRows(render: typeof rasterize, name: string) {
  const call = (opts: unknown) => (x: ReturnType<typeof scene>) => render(x.g, x.cam, opts as RasterizeOptions);
  const field = (key: string, value: unknown) => (x: ReturnType<typeof scene>) =>
    render({ ...x.g.toTensors(), [key]: value } as unknown as Gaussians, x.cam);
  return [
    badInput({
      name: `${name}: a misspelt option ({ widht })`,
      inputs: scene,
      call: call({ widht: 64 }),
      error: ValueError,
      message:
        'opts.widht: expected one of the known options (width, height, background, shDegree, maxIntersections), received an unknown option (did you mean width?)',
    }),
    badInput({
      name: `${name}: options that are not an object`,
      inputs: scene,
      call: call(5),
      error: ValueError,
      message: 'opts: expected an options object { width, height, background, shDegree, maxIntersections }, received 5',
    }),
    badInput({
      name: `${name}: a fractional width`,
      inputs: scene,
      call: call({ width: 10.5 }),
      error: ValueError,
      message: 'width: expected an integer ≥ 1 and ≤ 16384, received 10.5',
    }),
    badInput({
      name: `${name}: height 0`,
      inputs: scene,
      call: call({ height: 0 }),
      error: ValueError,
      message: 'height: expected an integer ≥ 1 and ≤ 16384, received 0',
    }),
    badInput({
      name: `${name}: a width above MAX_IMAGE_SIDE`,
      inputs: scene,
      call: call({ width: 1e6 }),
      error: ValueError,
      message: 'width: expected an integer ≥ 1 and ≤ 16384, received 1000000',
    }),
    badInput({
      name: `${name}: more pixels than MAX_IMAGE_PIXELS`,
      inputs: scene,
      call: call({ width: 16384, height: 8192 }),
      error: ValueError,
      message: 'width × height: expected at most 33554432 pixels (MAX_IMAGE_PIXELS), received 16384 × 8192',
    }),
    badInput({
      name: `${name}: SH degree above the Gaussians'`,
      inputs: scene,
      call: call({ shDegree: 1 }),
      error: ValueError,
      message: "shDegree: expected an integer ≥ 0 and ≤ 0, received 1 (at most the Gaussians' SH degree)",
    }),
    badInput({
      name: `${name}: a background of 2 numbers`,
      inputs: scene,
      call: call({ background: [1, 1] }),
      error: ValueError,
      message: 'background: expected 3 finite numbers [r, g, b], received',
    }),
    badInput({
      name: `${name}: an infinite background`,
      inputs: scene,
      call: call({ background: [1, Number.POSITIVE_INFINITY, 1] }),
      error: ValueError,
      message: 'background[1]: expected a finite number, received Infinity',
    }),
    badInput({
      name: `${name}: maxIntersections 0`,
      inputs: scene,
      call: call({ maxIntersections: 0 }),
      error: ValueError,
      message: 'maxIntersections: expected an integer ≥ 1 and ≤',
    }),
    badInput({
      name: `${name}: maxIntersections above MAX_INTERSECTIONS`,
      inputs: scene,
      call: call({ maxIntersections: 2 ** 40 }),
      error: ValueError,
      message: 'maxIntersections: expected an integer ≥ 1 and ≤',
    }),
    badInput({
      name: `${name}: no camera`,
      inputs: scene,
      call: (x) => render(x.g, null as unknown as Camera),
      error: ValueError,
      message: 'camera: expected a Camera, received null',
    }),
    badInput({
      name: `${name}: a non-finite camera matrix`,
      inputs: scene,
      call: (x) => render(x.g, { ...x.cam, fx: x.cam.fx, worldToCamera: Float32Array.from(withEntry(3, Number.NaN)) } as unknown as Camera),
      error: ValueError,
      message: 'camera.worldToCamera[3]: expected a finite number, received NaN',
    }),
    badInput({
      name: `${name}: a camera with fx 0`,
      inputs: scene,
      call: (x) => render(x.g, { ...x.cam, fx: 0, worldToCamera: x.cam.worldToCamera } as unknown as Camera),
      error: ValueError,
      message: 'camera.fx: expected a finite number > 0, received 0',
    }),
    badInput({
      name: `${name}: no Gaussians`,
      inputs: scene,
      call: (x) => render(undefined as unknown as Gaussians, x.cam),
      error: ValueError,
      message: 'gaussians: expected a Gaussians, received undefined',
    }),
    badInput({
      name: `${name}: fields whose N disagree`,
      inputs: () => ({ ...scene(), m: tf.zeros([2, 3]) }),
      call: (x) => field('means', x.m)(x),
      error: ShapeError,
      message: 'gaussians.logScales: expected dimension 0 (N) to be 2 as bound by an earlier argument, received shape [1, 3]',
    }),
    badInput({
      name: `${name}: 5 SH coefficients`,
      inputs: () => ({ ...scene(), s: tf.zeros([1, 5, 3]) }),
      call: (x) => field('sh', x.s)(x),
      error: ShapeError,
      message: 'gaussians.sh: expected (degree + 1)² = 1, 4, 9 or 16 coefficients, received shape [1, 5, 3]',
    }),
  ];
}

describeBackends('rasterize', () => {
  itRejects(rasterRows(rasterize, 'rasterize'));
});

describeBackends(
  'rasterize (cpu and wasm kernel)',
  () => {
    // 1025 Gaussians, each covering all 512 × 256 tiles of an 8192 × 4096 image: 2²⁷ + 131072 intersections
    const huge = (): { g: Gaussians; cam: Camera } => ({
      g: Gaussians.fromPoints(
        Array.from({ length: 1025 }, () => [0, 0, 0]),
        { scale: 1000, opacity: 0.5 },
      ),
      cam: new Camera({ fx: 100, fy: 100, cx: 4096, cy: 2048, width: 8192, height: 4096, worldToCamera: withEntry(11, 4) }),
    });
    itRejects([
      badInput({
        name: 'a scene with more Gaussian–tile intersections than MAX_HOST_INTERSECTIONS',
        inputs: huge,
        call: ({ g, cam }) => rasterize(g, cam),
        error: ValueError,
        message:
          'rasterize: expected at most 134217728 Gaussian–tile intersections on the cpu/wasm kernel (MAX_HOST_INTERSECTIONS), received a scene with 134348800',
      }),
    ]);
  },
  { backends: ['cpu', 'wasm'] },
);

describeBackends('rasterizeReference', () => {
  itRejects(rasterRows(rasterizeReference, 'rasterizeReference'));
});

/** A 16×16 view, its camera, and starting Gaussians for the fit rows. */
function fitCase(): { view: Tensor; camera: Camera; g: Gaussians } {
  const camera = Camera.fromLookAt([0, 0, -3], [0, 0, 0], [0, -1, 0], { fovY: 0.9, width: 16, height: 16 });
  return { view: tf.zeros([16, 16, 3]), camera, g: blobs([{ at: [0, 0, 0], scale: 0.1, opacity: 0.5, rgb: [0.5, 0.5, 0.5] }]) };
}

describeBackends('fitGaussians', () => {
  const fitWith = (opts: (g: Gaussians) => unknown) => (x: ReturnType<typeof fitCase>) =>
    fitGaussians([x.view], [x.camera], opts(x.g) as FitOptions);
  const ok = (g: Gaussians): FitOptions => ({ steps: 1, init: { points: g } });
  const withView = (view: () => Tensor) => () => ({ ...fitCase(), bad: view() });
  itRejects([
    badInput({
      name: 'no views',
      inputs: fitCase,
      call: (x) => fitGaussians([], [], ok(x.g)),
      error: ValueError,
      message: 'views: expected a non-empty array of [h, w, 3] images, received',
    }),
    badInput({
      name: 'one camera too many',
      inputs: fitCase,
      call: (x) => fitGaussians([x.view], [x.camera, x.camera], ok(x.g)),
      error: ValueError,
      message: 'cameras: expected an array of 1 cameras (one per view), received',
    }),
    badInput({
      name: 'a non-camera',
      inputs: fitCase,
      call: (x) => fitGaussians([x.view], [{} as Camera], ok(x.g)),
      error: ValueError,
      message: 'cameras[0]: expected a Camera, received',
    }),
    badInput({
      name: 'a view of the wrong size',
      inputs: withView(() => tf.zeros([8, 16, 3])),
      call: (x) => fitGaussians([x.bad], [x.camera], ok(x.g)),
      error: ShapeError,
      message: 'views[0] (camera 0 is 16×16): expected dimension 0 to be 16, received shape [8, 16, 3]',
    }),
    badInput({
      name: 'a view outside [0, 1]',
      inputs: withView(() => tf.fill([16, 16, 3], 1.5)),
      call: (x) => fitGaussians([x.bad], [x.camera], ok(x.g)),
      error: ValueError,
      message: 'views[0]: expected values in [0, 1], received 768 outside it (min 1.5, max 1.5)',
    }),
    badInput({
      name: 'a NaN view',
      inputs: withView(() => tf.fill([16, 16, 3], Number.NaN)),
      call: (x) => fitGaussians([x.bad], [x.camera], ok(x.g)),
      error: ValueError,
      message: 'views[0]: expected values in [0, 1], received 768 outside it',
    }),
    badInput({
      name: 'no options',
      inputs: fitCase,
      call: fitWith(() => undefined),
      error: ValueError,
      message:
        'opts: expected { steps, lr, densify, init, background, shDegree, lossWeights, onStep, signal } with steps and init, received undefined',
    }),
    badInput({
      name: 'fractional steps',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), steps: 1.5 })),
      error: ValueError,
      message: 'steps: expected an integer ≥ 0 and ≤ 1000000, received 1.5',
    }),
    badInput({
      name: 'steps above MAX_FIT_STEPS',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), steps: 1e9 })),
      error: ValueError,
      message: 'steps: expected an integer ≥ 0 and ≤ 1000000, received 1000000000',
    }),
    badInput({
      name: 'a misspelt option',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), stpes: 3 })),
      error: ValueError,
      message:
        'opts.stpes: expected one of the known options (steps, lr, densify, init, background, shDegree, lossWeights, onStep, signal), received an unknown option (did you mean steps?)',
    }),
    badInput({
      name: 'a negative rate',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), lr: { means: -1 } })),
      error: ValueError,
      message: 'lr.means: expected a finite number ≥ 0, received -1',
    }),
    badInput({
      name: 'an unknown rate',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), lr: { position: 1 } })),
      error: ValueError,
      message:
        'lr.position: expected one of the known options (means, meansFinal, scales, rotations, opacity, shDC, shRest), received an unknown option',
    }),
    badInput({
      name: 'densify.every 0',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), densify: { every: 0 } })),
      error: ValueError,
      message: 'densify.every: expected an integer ≥ 1 and ≤ 1000000, received 0',
    }),
    badInput({
      name: 'densify.pruneOpacity 1',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), densify: { pruneOpacity: 1 } })),
      error: ValueError,
      message: 'densify.pruneOpacity: expected a finite number ≥ 0 and < 1, received 1',
    }),
    badInput({
      name: 'densify.maxGaussians above MAX_FIT_GAUSSIANS',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), densify: { maxGaussians: 1e9 } })),
      error: ValueError,
      message: 'densify.maxGaussians: expected an integer ≥ 1 and ≤ 16777216, received 1000000000',
    }),
    badInput({
      name: 'densify: true',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), densify: true })),
      error: ValueError,
      message:
        'densify: expected false or { every, from, until, gradThreshold, maxGaussians, pruneOpacity, percentDense } (all optional), received true',
    }),
    badInput({
      name: 'an unknown densify option',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), densify: { evry: 3 } })),
      error: ValueError,
      message: 'densify.evry: expected one of the known options',
    }),
    badInput({
      name: 'no init',
      inputs: fitCase,
      call: fitWith(() => ({ steps: 1 })),
      error: ValueError,
      message: 'init: expected { points, count, bounds, seed } (points, or count and bounds), received undefined',
    }),
    badInput({
      name: 'init without bounds',
      inputs: fitCase,
      call: fitWith(() => ({ steps: 1, init: {} })),
      error: ValueError,
      message: 'init.bounds: expected { min: [x, y, z], max: [x, y, z] } when init.points is absent, received undefined',
    }),
    badInput({
      name: 'empty bounds',
      inputs: fitCase,
      call: fitWith(() => ({ steps: 1, init: { bounds: { min: [0, 0, 0], max: [1, 0, 1] } } })),
      error: ValueError,
      message: 'init.bounds: expected min < max on every axis, received min[1] = 0 and max[1] = 0',
    }),
    badInput({
      name: 'an unknown bounds key',
      inputs: fitCase,
      call: fitWith(() => ({ steps: 1, init: { bounds: { min: [0, 0, 0], max: [1, 1, 1], mid: [0, 0, 0] } } })),
      error: ValueError,
      message: 'init.bounds.mid: expected one of the known options (min, max)',
    }),
    badInput({
      name: 'init.count above MAX_FIT_GAUSSIANS',
      inputs: fitCase,
      call: fitWith(() => ({ steps: 1, init: { count: 1e9, bounds: { min: [0, 0, 0], max: [1, 1, 1] } } })),
      error: ValueError,
      message: 'init.count: expected an integer ≥ 1 and ≤ 16777216, received 1000000000',
    }),
    badInput({
      name: 'points and count',
      inputs: fitCase,
      call: fitWith((g) => ({ steps: 1, init: { points: g, count: 3 } })),
      error: ValueError,
      message: 'init: expected either points or count/bounds, received points with count',
    }),
    badInput({
      name: 'no points',
      inputs: () => ({ ...fitCase(), none: tf.zeros([0, 3]) }),
      call: (x) => fitGaussians([x.view], [x.camera], { steps: 1, init: { points: x.none } }),
      error: ShapeError,
      message: 'init.points: expected at least one point, received shape [0, 3]',
    }),
    badInput({
      name: 'a negative seed',
      inputs: fitCase,
      call: fitWith((g) => ({ steps: 1, init: { points: g, seed: -1 } })),
      error: ValueError,
      message: 'init.seed: expected an integer ≥ 0 and ≤ 9007199254740991, received -1',
    }),
    badInput({
      name: 'SH degree 4',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), shDegree: 4 })),
      error: ValueError,
      message: 'shDegree: expected an integer ≥ 0 and ≤ 3, received 4',
    }),
    badInput({
      name: 'a background above 1',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), background: [0, 0, 2] })),
      error: ValueError,
      message: 'background[2]: expected a finite number ≥ 0 and ≤ 1, received 2',
    }),
    badInput({
      name: 'zero loss weights',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), lossWeights: { l1: 0, dssim: 0 } })),
      error: ValueError,
      message: 'lossWeights: expected l1 + dssim > 0, received both 0',
    }),
    badInput({
      name: 'an unknown loss weight',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), lossWeights: { ssim: 1 } })),
      error: ValueError,
      message: 'lossWeights.ssim: expected one of the known options (l1, dssim), received an unknown option (did you mean dssim?)',
    }),
    badInput({
      name: 'an onStep that is not a function',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), onStep: 3 })),
      error: ValueError,
      message: 'onStep: expected a function, received 3',
    }),
    badInput({
      name: 'a signal that is not an AbortSignal',
      inputs: fitCase,
      call: fitWith((g) => ({ ...ok(g), signal: { aborted: false } })),
      error: ValueError,
      message: 'signal: expected an AbortSignal, received',
    }),
  ]);
});

describe('plyProperties', () => {
  itRejects([
    badInput({
      name: 'degree 4',
      call: () => plyProperties(4),
      error: ValueError,
      message: 'degree: expected an integer ≥ 0 and ≤ 3, received 4',
    }),
    badInput({
      name: 'degree 1e9',
      call: () => plyProperties(1e9),
      error: ValueError,
      message: 'degree: expected an integer ≥ 0 and ≤ 3, received 1000000000',
    }),
  ]);
});

describe('decodePly', () => {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const withLine = (line: string): Uint8Array => text(`ply\nformat binary_little_endian 1.0\n${line}\nend_header\n`);
  const whole = handPly(DEGREE1, HAND_ROWS);
  itRejects([
    badInput({
      name: 'a bad magic',
      call: () => decodePly(text('PLY\nformat binary_little_endian 1.0\n')),
      error: FormatError,
      message: 'ply: bad magic, expected the file to start with "ply" and a line break, received "PLY\\n"',
    }),
    badInput({
      name: 'no end_header',
      call: () => decodePly(text('ply\nformat binary_little_endian 1.0\nelement vertex 0\n')),
      error: FormatError,
      message: 'ply: header has no "end_header" line within the first',
    }),
    badInput({
      name: 'an ascii file',
      call: () => decodePly(handPly(DEGREE1, [], { format: 'ascii' })),
      error: FormatError,
      message: 'ply: unsupported format "ascii", expected binary_little_endian',
    }),
    badInput({
      name: 'a big-endian file',
      call: () => decodePly(handPly(DEGREE1, [], { format: 'binary_big_endian' })),
      error: FormatError,
      message: 'unsupported format "binary_big_endian"',
    }),
    badInput({
      name: 'a missing property',
      call: () =>
        decodePly(
          handPly(
            DEGREE1.filter(([, n]) => n !== 'rot_3'),
            [],
          ),
        ),
      error: FormatError,
      message: 'ply: missing property "rot_3" in element vertex',
    }),
    badInput({
      name: 'a gap in f_rest',
      call: () => decodePly(handPly([...DEGREE1.filter(([, n]) => n !== 'f_rest_4'), ['float', 'f_rest_9']], [])),
      error: FormatError,
      message: 'ply: missing property "f_rest_4"',
    }),
    badInput({
      name: 'a double opacity',
      call: () =>
        decodePly(
          handPly(
            DEGREE1.map(([t, n]): [string, string] => (n === 'opacity' ? ['double', n] : [t, n])),
            [],
          ),
        ),
      error: FormatError,
      message: 'ply: property "opacity" has type double, expected float (float32)',
    }),
    badInput({
      name: '5 f_rest properties',
      call: () =>
        decodePly(
          handPly(
            DEGREE1.filter(([, n]) => !/f_rest_[5-8]/.test(n)),
            [],
          ),
        ),
      error: FormatError,
      message: 'ply: 5 f_rest properties, expected 0, 9, 24 or 45 (SH degree 0–3)',
    }),
    badInput({
      name: 'a vertex count past the end',
      call: () => decodePly(handPly(DEGREE1, HAND_ROWS, { count: 3 })),
      error: FormatError,
      message: 'ply: vertex count 3 runs past the end of the data',
    }),
    badInput({
      name: 'a truncated file',
      call: () => decodePly(whole.subarray(0, whole.length - 1)),
      error: FormatError,
      message: 'ply: vertex count 2 runs past the end of the data',
    }),
    badInput({
      name: 'a list property',
      call: () => decodePly(withLine('element face 1\nproperty list uchar int vertex_indices')),
      error: FormatError,
      message: 'ply: unsupported list property "vertex_indices" in element face',
    }),
    badInput({
      name: 'an unknown keyword',
      call: () => decodePly(withLine('colour red')),
      error: FormatError,
      message: 'unknown header keyword "colour"',
    }),
    badInput({
      name: 'a negative count',
      call: () => decodePly(withLine('element vertex -1')),
      error: FormatError,
      message: 'expected "element <name> <count>" with a non-negative integer count',
    }),
    badInput({
      name: 'an unknown scalar type',
      call: () => decodePly(withLine('element vertex 1\nproperty half x')),
      error: FormatError,
      message: 'expected "property <type> <name>" with a PLY scalar type',
    }),
    badInput({
      name: 'no vertex element',
      call: () => decodePly(withLine('element face 0')),
      error: FormatError,
      message: 'ply: no "vertex" element in the header',
    }),
    badInput({
      name: 'no format line',
      call: () => decodePly(text('ply\nelement vertex 0\nend_header\n')),
      error: FormatError,
      message: 'ply: header has no "format" line',
    }),
    badInput({
      name: 'not bytes',
      call: () => decodePly('ply' as unknown as Uint8Array),
      error: FormatError,
      message: 'ply: expected the file as a Uint8Array',
    }),
  ]);
});

describe('encodePly / writePly / readPly', () => {
  itRejects([
    badInput({
      name: 'encodePly: not Gaussians',
      call: () => encodePly({} as Gaussians),
      error: ValueError,
      message: 'g: expected Gaussians, received',
    }),
    badInput({
      name: 'writePly: an empty path',
      inputs: () => ({ g: Gaussians.empty() }),
      call: ({ g }) => writePly('', g),
      error: ValueError,
      message: 'path: expected a non-empty file path, received ""',
    }),
    badInput({
      name: 'writePly: not Gaussians',
      call: () => writePly('/tmp/never-written.ply', 3 as unknown as Gaussians),
      error: ValueError,
      message: 'g: expected Gaussians, received 3',
    }),
    badInput({
      name: 'readPly: an empty path',
      call: () => readPly(''),
      error: ValueError,
      message: 'path: expected a non-empty file path, received ""',
    }),
  ]);
});

describe('decodePng / loadPng', () => {
  // one 4-pixel RGB row (filter byte 0): the data of a 4 × 1 image
  const row = Uint8Array.from([0, ...new Array<number>(12).fill(7)]);
  const huge = pngBytes(20000, 20000, row);
  itRejects([
    badInput({
      name: 'a 68-byte PNG declaring 20000 × 20000',
      call: () => decodePng(huge),
      error: FormatError,
      message: `png: expected at most 33554432 pixels (MAX_PNG_PIXELS), received a header declaring 20000 × 20000 = 400000000`,
    }),
    badInput({
      name: 'a PNG declaring 2000 × 2000 with data for one row',
      call: () => decodePng(pngBytes(2000, 2000, row)),
      error: FormatError,
      message: 'png: header declares 2000 × 2000 (12002000 bytes of scanlines), but the image data inflates to 13 bytes',
    }),
    badInput({
      name: 'a PNG declaring 4 × 4 with data for one row',
      call: () => decodePng(pngBytes(4, 4, row)),
      error: FormatError,
      message: 'png: header declares 4 × 4 (52 bytes of scanlines), but the image data inflates to 13 bytes',
    }),
    badInput({
      name: 'an interlaced PNG one byte short',
      call: () => decodePng(pngBytes(13, 9, adam7Scanlines(13, 9, () => 1).subarray(1), { interlaced: true })),
      error: FormatError,
      message: 'png: header declares 13 × 9 (370 bytes of scanlines), but the image data inflates to 369 bytes',
    }),
    badInput({
      name: 'a truncated chunk',
      call: () => decodePng(pngBytes(4, 1, row).subarray(0, 45)),
      error: FormatError,
      message: 'png: chunk "IDAT" declares',
    }),
    badInput({
      name: 'bytes that are not a PNG',
      call: () => decodePng(new Uint8Array([1, 2, 3])),
      error: FormatError,
      message: 'png: not a PNG (expected the 8-byte PNG signature and an IHDR chunk), received 3 bytes',
    }),
    badInput({
      name: 'a string',
      call: () => decodePng('png' as unknown as Uint8Array),
      error: ValueError,
      message: 'bytes: expected a Uint8Array of PNG data, received',
    }),
    badInput({
      name: 'a misspelt option',
      call: () => decodePng(pngBytes(4, 1, row), { alhpa: true } as object),
      error: ValueError,
      message: 'opts.alhpa: expected one of the known options (alpha), received an unknown option (did you mean alpha?)',
    }),
    badInput({
      name: 'alpha that is not a boolean',
      call: () => decodePng(pngBytes(4, 1, row), { alpha: 1 as unknown as boolean }),
      error: ValueError,
      message: 'alpha: expected a boolean, received 1',
    }),
    badInput({
      name: 'loadPng: an empty path',
      call: () => loadPng(''),
      error: ValueError,
      message: 'path: expected a non-empty file path, received ""',
    }),
    badInput({
      name: 'loadPng: a misspelt option',
      call: () => loadPng('/tmp/x.png', { alhpa: true } as object),
      error: ValueError,
      message: 'opts.alhpa: expected one of the known options (alpha)',
    }),
  ]);
});

describe('encodePng / savePng', () => {
  itRejects([
    badInput({
      name: 'two channels',
      inputs: () => ({ t: tf.zeros([2, 2, 2]) }),
      call: ({ t }) => encodePng(t),
      error: ShapeError,
      message: 'image: expected 3 or 4 channels, received shape [2, 2, 2]',
    }),
    badInput({
      name: 'rank 2',
      inputs: () => ({ t: tf.zeros([4, 3]) }),
      call: ({ t }) => encodePng(t),
      error: ShapeError,
      message: 'image: expected rank 3',
    }),
    badInput({
      name: 'int32',
      inputs: () => ({ t: tf.zeros([2, 2, 3], 'int32') }),
      call: ({ t }) => encodePng(t),
      error: DtypeError,
      message: 'image: expected dtype float32, received int32',
    }),
    badInput({
      name: 'not a tensor',
      call: () => encodePng([1, 2, 3] as unknown as Tensor),
      error: ShapeError,
      message: 'image: expected an image tensor [h, w, c], received',
    }),
    badInput({
      name: 'savePng: an empty path',
      inputs: () => ({ t: tf.zeros([2, 2, 3]) }),
      call: ({ t }) => savePng(t, ''),
      error: ValueError,
      message: 'path: expected a non-empty file path, received ""',
    }),
  ]);
});

describe('psnr / ssim', () => {
  itRejects([
    badInput({
      name: 'psnr: mismatched shapes',
      inputs: () => ({ a: tf.zeros([2, 2, 3]), b: tf.zeros([2, 3, 3]) }),
      call: ({ a, b }) => psnr(a, b),
      error: ShapeError,
      message: 'b: expected the shape of a [2, 2, 3], received [2, 3, 3]',
    }),
    badInput({
      name: 'psnr: maxValue 0',
      inputs: () => ({ a: tf.zeros([2, 2, 3]) }),
      call: ({ a }) => psnr(a, a, { maxValue: 0 }),
      error: ValueError,
      message: 'maxValue: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'psnr: a misspelt option',
      inputs: () => ({ a: tf.zeros([2, 2, 3]) }),
      call: ({ a }) => psnr(a, a, { max: 1 } as object),
      error: ValueError,
      message: 'opts.max: expected one of the known options (maxValue), received an unknown option',
    }),
    badInput({
      name: 'ssim: smaller than the window',
      inputs: () => ({ a: tf.zeros([10, 20, 3]) }),
      call: ({ a }) => ssim(a, a),
      error: ShapeError,
      message: 'a: expected height and width ≥ 11, received shape [10, 20, 3]',
    }),
    badInput({
      name: 'ssim: mismatched shapes',
      inputs: () => ({ a: tf.zeros([12, 12, 3]), b: tf.zeros([12, 12, 1]) }),
      call: ({ a, b }) => ssim(a, b),
      error: ShapeError,
      message: 'b: expected the shape of a [12, 12, 3], received [12, 12, 1]',
    }),
    badInput({
      name: 'ssim: int32',
      inputs: () => ({ a: tf.zeros([12, 12, 3]), b: tf.zeros([12, 12, 3], 'int32') }),
      call: ({ a, b }) => ssim(a, b),
      error: DtypeError,
      message: 'b: expected dtype float32, received int32',
    }),
  ]);
});

describe('scenes', () => {
  itRejects([
    badInput({
      name: 'texturedSphere: n = 1e8',
      call: () => texturedSphere({ n: 1e8 }),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 2000000, received 100000000',
    }),
    badInput({
      name: 'texturedSphere: fractional n',
      call: () => texturedSphere({ n: 2.5 }),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 2000000, received 2.5',
    }),
    badInput({
      name: 'texturedSphere: NaN seed',
      call: () => texturedSphere({ seed: Number.NaN }),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received NaN',
    }),
    badInput({
      name: 'texturedSphere: a misspelt option',
      call: () => texturedSphere({ count: 10 } as object),
      error: ValueError,
      message: 'opts.count: expected one of the known options (n, seed), received an unknown option',
    }),
    badInput({
      name: 'coloredPrimitives: a negative seed',
      call: () => coloredPrimitives({ seed: -1 }),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991, received -1',
    }),
    badInput({
      name: 'coloredPrimitives: n = 0',
      call: () => coloredPrimitives({ n: 0 }),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 2000000, received 0',
    }),
    badInput({
      name: 'coloredPrimitives: n = 1e9',
      call: () => coloredPrimitives({ n: 1e9 }),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 2000000, received 1000000000',
    }),
    badInput({
      name: 'coloredPrimitives: null options',
      call: () => coloredPrimitives(null as unknown as object),
      error: ValueError,
      message: 'opts: expected an options object { seed, n }, received null',
    }),
    badInput({
      name: 'bunny: n = -5',
      call: () => bunny({ n: -5 }),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 2000000, received -5',
    }),
    badInput({
      name: 'bunny: a seed above 2⁵³',
      call: () => bunny({ seed: 2 ** 60 }),
      error: ValueError,
      message: 'seed: expected an integer ≥ 0 and ≤ 9007199254740991',
    }),
    badInput({
      name: 'bunny: n = 1e8',
      call: () => bunny({ n: 1e8 }),
      error: ValueError,
      message: 'n: expected an integer ≥ 1 and ≤ 2000000, received 100000000',
    }),
  ]);
});

/** LaCT fast weights [B=1, H=2, Dk=3, Dh=4, Dv=2] and their chunk (L=5) and query tensors, with overrides. */
const lactInputs = (over: Partial<Record<'w0' | 'w1' | 'w2' | 'k' | 'v' | 'lr' | 'q', Tensor>> = {}) => {
  const base = {
    w0: tf.ones([1, 2, 3, 4]),
    w1: tf.ones([1, 2, 4, 2]),
    w2: tf.ones([1, 2, 3, 4]),
    k: tf.ones([1, 2, 5, 3]),
    v: tf.ones([1, 2, 5, 2]),
    lr: tf.ones([1, 2, 5, 3]),
    q: tf.ones([1, 2, 7, 3]),
  };
  for (const key of Object.keys(over) as (keyof typeof base)[]) base[key].dispose();
  const t = { ...base, ...over };
  return { ...t, W: { w0: t.w0, w1: t.w1, w2: t.w2 } as FastWeights };
};

describe('fastWeightApply', () => {
  itRejects([
    badInput({
      name: 'W as a tensor',
      inputs: () => lactInputs(),
      call: ({ w0, q }) => fastWeightApply(w0 as unknown as FastWeights, q),
      error: ValueError,
      message: 'W: expected fast weights { w0, w1, w2 }, received Tensor<float32>[1, 2, 3, 4]',
    }),
    badInput({
      name: 'W without w1',
      inputs: () => lactInputs(),
      call: ({ w0, w2, q }) => fastWeightApply({ w0, w2 } as FastWeights, q),
      error: ShapeError,
      message: 'W.w1: expected a tensor of shape [B, H, Dh, Dv], received undefined',
    }),
    badInput({
      name: 'W with an unknown key',
      inputs: () => lactInputs(),
      call: ({ W, q }) => fastWeightApply({ ...W, w3: W.w0 } as FastWeights, q),
      error: ValueError,
      message: 'W.w3: expected only the fast weights w0, w1, w2, received an unknown key',
    }),
    badInput({
      name: 'w1 of rank 3',
      inputs: () => lactInputs({ w1: tf.ones([2, 4, 2]) }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ShapeError,
      message: 'W.w1: expected rank 4 [B, H, Dh, Dv], received rank 3 [2, 4, 2]',
    }),
    badInput({
      name: 'w2 with another hidden size than w0',
      inputs: () => lactInputs({ w2: tf.ones([1, 2, 3, 5]) }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ShapeError,
      message: 'W.w2: expected dimension 3 (Dh) to be 4 as bound by an earlier argument, received shape [1, 2, 3, 5]',
    }),
    badInput({
      name: 'int32 w0',
      inputs: () => lactInputs({ w0: tf.ones([1, 2, 3, 4], 'int32') }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: DtypeError,
      message: 'W.w0: expected dtype float32, received int32',
    }),
    badInput({
      name: 'an empty hidden size',
      inputs: () => lactInputs({ w0: tf.ones([1, 2, 3, 0]), w1: tf.ones([1, 2, 0, 2]), w2: tf.ones([1, 2, 3, 0]) }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ShapeError,
      message: 'W.w0: expected every dimension ≥ 1, received shape [1, 2, 3, 0]',
    }),
    badInput({
      name: 'q of another head dim',
      inputs: () => lactInputs({ q: tf.ones([1, 2, 7, 4]) }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ShapeError,
      message: 'q: expected dimension 3 (Dk) to be 3 as bound by an earlier argument, received shape [1, 2, 7, 4]',
    }),
    badInput({
      name: 'q of another head count',
      inputs: () => lactInputs({ q: tf.ones([1, 3, 7, 3]) }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ShapeError,
      message: 'q: expected dimension 1 (H) to be 2 as bound by an earlier argument, received shape [1, 3, 7, 3]',
    }),
    badInput({
      name: 'q without tokens',
      inputs: () => lactInputs({ q: tf.ones([1, 2, 0, 3]) }),
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ShapeError,
      message: 'q: expected at least one token (L ≥ 1), received shape [1, 2, 0, 3]',
    }),
    badInput({
      name: 'a disposed q',
      inputs: () => {
        const t = lactInputs();
        t.q.dispose();
        return t;
      },
      call: ({ W, q }) => fastWeightApply(W, q),
      error: ValueError,
      message: 'q: expected a live tensor, received a disposed Tensor<float32>[1, 2, 7, 3]',
    }),
  ]);
});

describe('fastWeightUpdate', () => {
  itRejects([
    badInput({
      name: 'lr of rank 3 (one rate per token)',
      inputs: () => lactInputs({ lr: tf.ones([1, 2, 5]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'lr: expected rank 4 [B, H, L, 3], received rank 3 [1, 2, 5]',
    }),
    badInput({
      name: 'lr with one rate instead of three',
      inputs: () => lactInputs({ lr: tf.ones([1, 2, 5, 1]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'lr: expected dimension 3 to be 3, received shape [1, 2, 5, 1]',
    }),
    badInput({
      name: 'lr of another length than k',
      inputs: () => lactInputs({ lr: tf.ones([1, 2, 4, 3]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'lr: expected dimension 2 (L) to be 5 as bound by an earlier argument, received shape [1, 2, 4, 3]',
    }),
    badInput({
      name: 'v of another value dim than w1',
      inputs: () => lactInputs({ v: tf.ones([1, 2, 5, 3]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'v: expected dimension 3 (Dv) to be 2 as bound by an earlier argument, received shape [1, 2, 5, 3]',
    }),
    badInput({
      name: 'k of another batch',
      inputs: () => lactInputs({ k: tf.ones([2, 2, 5, 3]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'k: expected dimension 0 (B) to be 1 as bound by an earlier argument, received shape [2, 2, 5, 3]',
    }),
    badInput({
      name: 'an empty chunk',
      inputs: () => lactInputs({ k: tf.ones([1, 2, 0, 3]), v: tf.ones([1, 2, 0, 2]), lr: tf.ones([1, 2, 0, 3]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'k: expected at least one token (L ≥ 1), received shape [1, 2, 0, 3]',
    }),
    badInput({
      name: 'int32 v',
      inputs: () => lactInputs({ v: tf.ones([1, 2, 5, 2], 'int32') }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: DtypeError,
      message: 'v: expected dtype float32, received int32',
    }),
    badInput({
      name: 'int32 lr',
      inputs: () => lactInputs({ lr: tf.ones([1, 2, 5, 3], 'int32') }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: DtypeError,
      message: 'lr: expected dtype float32, received int32',
    }),
    badInput({
      name: 'muonSteps −1',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { muonSteps: -1 }),
      error: ValueError,
      message: 'muonSteps: expected an integer ≥ 0 and ≤ 16, received -1 (Newton–Schulz steps; 0 skips the orthogonalisation)',
    }),
    badInput({
      name: 'muonSteps above MAX_MUON_STEPS',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { muonSteps: 17 }),
      error: ValueError,
      message: 'muonSteps: expected an integer ≥ 0 and ≤ 16, received 17',
    }),
    badInput({
      name: 'fractional muonSteps',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { muonSteps: 2.5 }),
      error: ValueError,
      message: 'muonSteps: expected an integer ≥ 0 and ≤ 16, received 2.5',
    }),
    badInput({
      name: 'NaN muonSteps',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { muonSteps: Number.NaN }),
      error: ValueError,
      message: 'muonSteps: expected an integer ≥ 0 and ≤ 16, received NaN',
    }),
    badInput({
      name: 'a misspelt option',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { muonStep: 5 } as object),
      error: ValueError,
      message:
        'opts.muonStep: expected one of the known options (muonSteps, columnNorms), received an unknown option (did you mean muonSteps?)',
    }),
    badInput({
      name: 'null options',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, null as unknown as object),
      error: ValueError,
      message: 'opts: expected an options object { muonSteps, columnNorms }, received null',
    }),
    badInput({
      name: 'columnNorms shaped like the weights',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { columnNorms: W }),
      error: ShapeError,
      message: 'columnNorms.w0: expected dimension 2 to be 1, received shape [1, 2, 3, 4]',
    }),
    badInput({
      name: 'columnNorms as one tensor',
      inputs: () => lactInputs(),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr, { columnNorms: k as unknown as FastWeights }),
      error: ValueError,
      message: 'columnNorms: expected fast weights { w0, w1, w2 }, received Tensor<float32>[1, 2, 5, 3]',
    }),
    badInput({
      name: 'W with another head count than k',
      inputs: () => lactInputs({ k: tf.ones([1, 1, 5, 3]) }),
      call: ({ W, k, v, lr }) => fastWeightUpdate(W, k, v, lr),
      error: ShapeError,
      message: 'k: expected dimension 1 (H) to be 2 as bound by an earlier argument, received shape [1, 1, 5, 3]',
    }),
  ]);
});

describe('fastWeightColumnNorms', () => {
  itRejects([
    badInput({
      name: 'an array of weights',
      inputs: () => lactInputs(),
      call: ({ w0, w1, w2 }) => fastWeightColumnNorms([w0, w1, w2] as unknown as FastWeights),
      error: ValueError,
      message: 'W: expected fast weights { w0, w1, w2 }, received [Tensor<float32>[1, 2, 3, 4]',
    }),
    badInput({
      name: 'w1 of another hidden size',
      inputs: () => lactInputs({ w1: tf.ones([1, 2, 3, 2]) }),
      call: ({ W }) => fastWeightColumnNorms(W),
      error: ShapeError,
      message: 'W.w1: expected dimension 2 (Dh) to be 4 as bound by an earlier argument, received shape [1, 2, 3, 2]',
    }),
  ]);
});

describe('lactLearningRates', () => {
  itRejects([
    badInput({
      name: 'int32 logits',
      inputs: () => ({ x: tf.zeros([1, 2, 5, 3], 'int32') }),
      call: ({ x }) => lactLearningRates(x),
      error: DtypeError,
      message: 'logits: expected dtype float32, received int32',
    }),
    badInput({
      name: 'logits as an array',
      call: () => lactLearningRates([0, 1] as unknown as Tensor),
      error: ValueError,
      message: 'logits: expected a tensor, received [0, 1]',
    }),
    badInput({
      name: 'baseLr 0',
      inputs: () => ({ x: tf.zeros([1, 2, 5, 3]) }),
      call: ({ x }) => lactLearningRates(x, { baseLr: 0 }),
      error: ValueError,
      message: 'baseLr: expected a finite number > 0, received 0',
    }),
    badInput({
      name: 'a negative baseLr',
      inputs: () => ({ x: tf.zeros([1, 2, 5, 3]) }),
      call: ({ x }) => lactLearningRates(x, { baseLr: -0.01 }),
      error: ValueError,
      message: 'baseLr: expected a finite number > 0, received -0.01',
    }),
    badInput({
      name: 'an infinite baseLr',
      inputs: () => ({ x: tf.zeros([1, 2, 5, 3]) }),
      call: ({ x }) => lactLearningRates(x, { baseLr: Number.POSITIVE_INFINITY }),
      error: ValueError,
      message: 'baseLr: expected a finite number > 0, received Infinity',
    }),
    badInput({
      name: 'the authors’ option name',
      inputs: () => ({ x: tf.zeros([1, 2, 5, 3]) }),
      call: ({ x }) => lactLearningRates(x, { base_lr: 0.01 } as object),
      error: ValueError,
      message: 'opts.base_lr: expected one of the known options (baseLr), received an unknown option',
    }),
  ]);
});

describeBackends('LaCTBlock', () => {
  let block: LaCTBlock;
  beforeAll(() => {
    block = new LaCTBlock(16, { heads: 2, attentionHeadDim: 8, fastHiddenRatio: 2 });
  });
  afterAll(() => block.dispose());
  itRejects([
    badInput({ name: 'a width of 0', call: () => new LaCTBlock(0), error: ValueError, message: 'width: expected' }),
    badInput({
      name: 'heads not dividing the width',
      call: () => new LaCTBlock(16, { heads: 3 }),
      error: ValueError,
      message: 'opts.heads: expected a divisor of width 16, received 3',
    }),
    badInput({
      name: 'an unknown option',
      call: () => new LaCTBlock(16, { head: 2 } as object),
      error: ValueError,
      message: 'opts.head: expected one of the known options',
    }),
    badInput({
      name: 'x of rank 3',
      inputs: () => ({ x: tf.zeros([1, 4, 16]) }),
      call: ({ x }) => block.forward(x),
      error: ShapeError,
      message: 'x: expected',
    }),
    badInput({
      name: 'x of the wrong width',
      inputs: () => ({ x: tf.zeros([1, 2, 4, 8]) }),
      call: ({ x }) => block.forward(x),
      error: ShapeError,
      message: 'x: expected',
    }),
    badInput({
      name: 'updateViews above V',
      inputs: () => ({ x: tf.zeros([1, 2, 4, 16]) }),
      call: ({ x }) => block.forward(x, { updateViews: 3 }),
      error: ValueError,
      message: 'updateViews: expected',
    }),
    badInput({
      name: 'an unknown order',
      inputs: () => ({ x: tf.zeros([1, 2, 4, 16]) }),
      call: ({ x }) => block.forward(x, { order: 'causal' as 'apply-then-update' }),
      error: ValueError,
      message: "order: expected 'update-then-apply' or 'apply-then-update', received \"causal\"",
    }),
    badInput({
      name: 'an initial state of another batch',
      inputs: () => ({ x: tf.zeros([2, 2, 4, 16]), s: block.initialState(1) }),
      call: ({ x, s }) => block.forward(x, { initialState: s }),
      error: ShapeError,
      message: 'initialState.w0: expected',
    }),
  ]);
});

describeBackends('TTTLRM', () => {
  let model: TTTLRM;
  const cams = (n: number, size = 16): Camera[] => orbitCameras(n, { radius: 2, elevation: 0.3, fov: 0.8, size });
  beforeAll(() => {
    model = TTTLRM.fromConfig({ imageSize: 16, width: 16, depth: 1, attentionHeadDim: 8, fastHiddenRatio: 1, mlpRatio: 1, shDegree: 0 });
  });
  afterAll(() => model.dispose());
  itRejects([
    badInput({
      name: 'an unknown config key',
      call: () => new TTTLRM({ widht: 16 } as object),
      error: ValueError,
      message: 'config.widht: expected one of the config keys',
    }),
    badInput({
      name: 'an image size not divisible by the patch',
      call: () => new TTTLRM({ imageSize: 20 }),
      error: ValueError,
      message: 'config.imageSize: expected a multiple of patchSize 8, received 20',
    }),
    badInput({
      name: 'views and cameras of different counts',
      inputs: () => ({ v: tf.zeros([2, 16, 16, 3]) }),
      call: ({ v }) => model.forward(v, cams(3)),
      error: ValueError,
      message: 'cameras: expected one camera per view (2), received 3',
    }),
    badInput({
      name: 'zero views',
      inputs: () => ({ v: tf.zeros([0, 16, 16, 3]) }),
      call: ({ v }) => model.forward(v, []),
      error: ShapeError,
      message: 'views: expected at least one view, received V = 0',
    }),
    badInput({
      name: 'an image size not divisible by the patch size',
      inputs: () => ({ v: tf.zeros([1, 12, 12, 3]) }),
      call: ({ v }) => model.forward(v, cams(1, 12)),
      error: ShapeError,
      message: 'views: expected an image size divisible by the patch size 8, received 12×12',
    }),
    badInput({
      name: 'cameras of another size than the views',
      inputs: () => ({ v: tf.zeros([1, 16, 16, 3]) }),
      call: ({ v }) => model.forward(v, cams(1, 24)),
      error: ValueError,
      message: 'cameras: expected cameras of the views',
    }),
    badInput({
      name: 'views without colour channels',
      inputs: () => ({ v: tf.zeros([1, 16, 16]) }),
      call: ({ v }) => model.forward(v, cams(1)),
      error: ShapeError,
      message: 'views: expected',
    }),
    badInput({
      name: 'a camera that is not a Camera',
      inputs: () => ({ v: tf.zeros([1, 16, 16, 3]) }),
      call: ({ v }) => model.forward(v, [{}] as unknown as Camera[]),
      error: ValueError,
      message: 'cameras[0]: expected a Camera, received',
    }),
    badInput({
      name: 'virtual views not divisible by the patch size',
      inputs: () => ({ v: tf.zeros([1, 16, 16, 3]) }),
      call: ({ v }) => model.forward(v, cams(1), { virtualViews: cams(1, 12) }),
      error: ValueError,
      message: 'opts.virtualViews: expected an image size divisible by the patch size 8, received 12×12',
    }),
    badInput({
      name: 'minOpacity 1',
      inputs: () => ({ v: tf.zeros([1, 16, 16, 3]) }),
      call: ({ v }) => model.reconstruct(v, cams(1), { minOpacity: 1 }),
      error: ValueError,
      message: 'opts.minOpacity: expected',
    }),
    badInput({
      name: 'an unknown reconstruct option',
      inputs: () => ({ v: tf.zeros([1, 16, 16, 3]) }),
      call: ({ v }) => model.reconstruct(v, cams(1), { virtualView: cams(1) } as object),
      error: ValueError,
      message: 'opts.virtualView: expected one of the known options',
    }),
    badInput({
      name: 'decoding a stream before any push',
      call: async () => {
        const s = model.stream();
        try {
          return await s.gaussians();
        } finally {
          s.dispose();
        }
      },
      error: TesseraError,
      message: 'TTTLRMStream.gaussians: no views were pushed yet',
    }),
    badInput({
      name: 'pushing mismatched views to a stream',
      inputs: () => ({ v: tf.zeros([2, 16, 16, 3]) }),
      call: ({ v }) => {
        const s = model.stream();
        try {
          s.push(v, cams(1));
        } finally {
          s.dispose();
        }
      },
      error: ValueError,
      message: 'cameras: expected one camera per view (2), received 1',
    }),
    badInput({
      name: 'load from an empty path',
      call: () => TTTLRM.load(''),
      error: ValueError,
      message: 'dir: expected a directory path, received ""',
    }),
    badInput({
      name: 'load from a directory without config.json',
      call: () => TTTLRM.load('/nonexistent-tttlrm'),
      error: FormatError,
      message: 'config.json: expected a TTTLRM config',
    }),
    badInput({
      name: 'an unknown load option',
      call: () => TTTLRM.load('/x', { conf: {} } as object),
      error: ValueError,
      message: 'opts.conf: expected one of the known options',
    }),
  ]);
});

/** A valid degree-1 gsplat splats dict of 2 Gaussians; `edit` replaces or removes fields. */
function splats(edit: Record<string, Tensor | undefined> = {}): Record<string, Tensor> {
  const base: Record<string, Tensor> = {
    means: tf.zeros([2, 3]),
    scales: tf.zeros([2, 3]),
    quats: tf.tensor2d([
      [1, 0, 0, 0],
      [1, 0, 0, 0],
    ]),
    opacities: tf.zeros([2]),
    sh0: tf.zeros([2, 1, 3]),
    shN: tf.zeros([2, 3, 3]),
  };
  for (const [k, v] of Object.entries(edit)) {
    base[k]?.dispose();
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

describe('bad input: gsplat checkpoints', () =>
  itRejects([
    badInput({
      name: 'gaussiansFromGsplat: missing and extra fields, all named',
      inputs: () => splats({ scales: undefined, sh0: undefined, features: tf.zeros([2, 8]), colors: tf.zeros([2, 3]) }),
      call: (d) => gaussiansFromGsplat(d),
      error: TesseraError,
      message: 'missing tensors: scales, sh0; unexpected tensors: features, colors',
    }),
    badInput({
      name: 'gaussiansFromGsplat: wrong shapes, each named with both shapes',
      inputs: () => splats({ quats: tf.zeros([2, 3]), opacities: tf.zeros([2, 1]) }),
      call: (d) => gaussiansFromGsplat(d),
      error: ShapeError,
      message: 'quats: expected [2, 4], received [2, 3]; opacities: expected [2], received [2, 1]',
    }),
    badInput({
      name: 'gaussiansFromGsplat: an SH count that is not a square',
      inputs: () => splats({ shN: tf.zeros([2, 5, 3]) }),
      call: (d) => gaussiansFromGsplat(d),
      error: ShapeError,
      message: 'shN: expected K − 1 = (degree + 1)² − 1 coefficients for an SH degree 0–3 (0, 3, 8 or 15), received 5',
    }),
    badInput({
      name: 'gaussiansFromGsplat: SH degree 4',
      inputs: () => splats({ shN: tf.zeros([2, 24, 3]) }),
      call: (d) => gaussiansFromGsplat(d),
      error: ShapeError,
      message: 'received 24',
    }),
    badInput({
      name: 'gaussiansFromGsplat: not a dict',
      call: () => gaussiansFromGsplat(null as never),
      error: ValueError,
      message: 'dict: expected gsplat',
    }),
    badInput({
      name: 'gaussiansToGsplat: not Gaussians',
      call: () => gaussiansToGsplat({} as never),
      error: ValueError,
      message: 'g: expected Gaussians, received',
    }),
    badInput({
      name: 'loadGsplatCheckpoint: truncated bytes',
      call: () => loadGsplatCheckpoint(new Uint8Array([1, 2, 3])),
      error: FormatError,
      message: 'safetensors',
    }),
    badInput({
      name: 'loadGsplatCheckpoint: an empty path',
      call: () => loadGsplatCheckpoint(''),
      error: ValueError,
      message: 'source: expected a safetensors path or its bytes, received ""',
    }),
    badInput({
      name: 'saveGsplatCheckpoint: an empty path',
      inputs: () => Gaussians.empty(1),
      call: (g) => saveGsplatCheckpoint(g, ''),
      error: ValueError,
      message: 'path: expected a non-empty file path, received ""',
    }),
  ]));
