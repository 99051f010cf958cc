import { checkOptions, checkRange, describeValue, ShapeError, ValueError } from '@tessera/tensor-core';
import { cross, dot, norm, normalize, sub, type Vec3 } from './vec3.js';

/** Largest deviation from orthonormality (and of the determinant from +1) accepted in a rotation block. */
const ROTATION_TOLERANCE = 1e-4;

/** Largest image side in pixels, of a camera or a render (WebGPU's common texture limit is 8192; twice that). */
export const MAX_IMAGE_SIDE = 16384;
/** Largest image area in pixels, of a camera or a render: 2²⁵, so 8K UHD (7680 × 4320) fits. */
export const MAX_IMAGE_PIXELS = 2 ** 25;

/**
 * Checks an image size against MAX_IMAGE_SIDE and MAX_IMAGE_PIXELS before anything is allocated for it;
 * `names` are how messages refer to the two sides.
 */
export function checkImageSize(width: unknown, height: unknown, names: [string, string] = ['width', 'height']): [number, number] {
  const w = checkRange(width as number, { min: 1, max: MAX_IMAGE_SIDE, integer: true }, names[0]);
  const h = checkRange(height as number, { min: 1, max: MAX_IMAGE_SIDE, integer: true }, names[1]);
  if (w * h > MAX_IMAGE_PIXELS) {
    throw new ValueError(
      `${names[0]} × ${names[1]}: expected at most ${MAX_IMAGE_PIXELS} pixels (MAX_IMAGE_PIXELS), received ${w} × ${h} = ${w * h}`,
    );
  }
  return [w, h];
}

/** Everything that defines a pinhole camera; the shape of `Camera.toJSON()`. */
export interface CameraParams {
  /** Focal lengths in pixels, > 0. */
  fx: number;
  fy: number;
  /** Principal point in pixels (pixel (i, j) covers [i, i+1) × [j, j+1), so its centre is (i + 0.5, j + 0.5)). */
  cx: number;
  cy: number;
  /** Image size in pixels, integers ≥ 1. */
  width: number;
  height: number;
  /** World-to-camera 4×4, row-major, 16 numbers: [R t; 0 0 0 1] with R a proper rotation. */
  worldToCamera: ArrayLike<number>;
}

const CAMERA_KEYS = ['fx', 'fy', 'cx', 'cy', 'width', 'height', 'worldToCamera'] as const;

/** Intrinsics for `Camera.fromLookAt`: a vertical field of view, or focal lengths in pixels. */
export interface LookAtIntrinsics {
  /** Vertical field of view in radians, in (0, π); fx = fy = (height / 2) / tan(fovY / 2). */
  fovY?: number;
  /** Focal lengths in pixels (instead of fovY); fy defaults to fx. */
  fx?: number;
  fy?: number;
  /** Principal point; defaults to the image centre (width / 2, height / 2). */
  cx?: number;
  cy?: number;
  width: number;
  height: number;
}

const LOOK_AT_KEYS = ['fovY', 'fx', 'fy', 'cx', 'cy', 'width', 'height'] as const;

/** A point projected into the image: pixel coordinates and camera-space depth z. */
export interface Projection {
  u: number;
  v: number;
  depth: number;
}

/** Checks that `v` is three finite numbers and returns a copy. */
export function checkVec3(v: unknown, name: string): Vec3 {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) {
    throw new ValueError(`${name}: expected 3 finite numbers [x, y, z], received ${describeValue(v)}`);
  }
  const a = v as ArrayLike<unknown>;
  if (a.length !== 3) throw new ValueError(`${name}: expected 3 finite numbers [x, y, z], received ${a.length} values`);
  for (let i = 0; i < 3; i++) {
    if (typeof a[i] !== 'number' || !Number.isFinite(a[i])) {
      throw new ValueError(`${name}[${i}]: expected a finite number, received ${describeValue(a[i])}`);
    }
  }
  return [a[0] as number, a[1] as number, a[2] as number];
}

/** Validates a world-to-camera matrix and returns it as float32. */
function checkWorldToCamera(m: unknown): Float32Array {
  if (!Array.isArray(m) && !ArrayBuffer.isView(m)) {
    throw new ShapeError(`worldToCamera: expected 16 numbers (a row-major 4×4), received ${describeValue(m)}`);
  }
  const a = m as ArrayLike<unknown>;
  if (a.length !== 16) throw new ShapeError(`worldToCamera: expected 16 numbers (a row-major 4×4), received ${a.length}`);
  for (let i = 0; i < 16; i++) {
    if (typeof a[i] !== 'number' || !Number.isFinite(a[i])) {
      throw new ValueError(`worldToCamera[${i}]: expected a finite number, received ${describeValue(a[i])}`);
    }
  }
  const out = Float32Array.from(a as ArrayLike<number>);
  if (out[12] !== 0 || out[13] !== 0 || out[14] !== 0 || out[15] !== 1) {
    throw new ValueError(`worldToCamera: expected the last row to be [0, 0, 0, 1], received [${Array.from(out.subarray(12)).join(', ')}]`);
  }
  const r = (i: number, j: number): number => out[4 * i + j]!;
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const rrt = r(i, 0) * r(j, 0) + r(i, 1) * r(j, 1) + r(i, 2) * r(j, 2);
      worst = Math.max(worst, Math.abs(rrt - (i === j ? 1 : 0)));
    }
  }
  const det =
    r(0, 0) * (r(1, 1) * r(2, 2) - r(1, 2) * r(2, 1)) -
    r(0, 1) * (r(1, 0) * r(2, 2) - r(1, 2) * r(2, 0)) +
    r(0, 2) * (r(1, 0) * r(2, 1) - r(1, 1) * r(2, 0));
  if (worst > ROTATION_TOLERANCE || Math.abs(det - 1) > ROTATION_TOLERANCE) {
    throw new ValueError(
      `worldToCamera: expected its top-left 3×3 to be a proper rotation (orthonormal, det +1, tolerance ${ROTATION_TOLERANCE}), received max |R Rᵀ − I| = ${worst.toPrecision(3)}, det = ${det.toPrecision(6)}`,
    );
  }
  return out;
}

/**
 * A pinhole camera in the OpenCV convention (x right, y down, z forward; gsplat and graphdeco 3DGS use
 * the same): a world point p maps to camera space p_c = R p + t and to pixel (fx·x/z + cx, fy·y/z + cy),
 * where pixel (i, j) has its centre at (i + 0.5, j + 0.5). Immutable; the matrix is stored as float32,
 * the precision the rasteriser works in, and every derived quantity is computed from those values.
 */
export class Camera {
  readonly fx: number;
  readonly fy: number;
  readonly cx: number;
  readonly cy: number;
  readonly width: number;
  readonly height: number;
  /** World-to-camera 4×4, row-major. Treat as read-only: the camera was validated with these values. */
  readonly worldToCamera: Float32Array;

  /** Validates every field (errors name it) and copies the matrix. */
  constructor(params: CameraParams) {
    if (params === undefined) throw new ValueError(`params: expected { ${CAMERA_KEYS.join(', ')} }, received undefined`);
    checkOptions(params, CAMERA_KEYS, 'params');
    this.fx = checkRange(params.fx, { min: 0, minExclusive: true }, 'fx');
    this.fy = checkRange(params.fy, { min: 0, minExclusive: true }, 'fy');
    this.cx = checkRange(params.cx, {}, 'cx');
    this.cy = checkRange(params.cy, {}, 'cy');
    [this.width, this.height] = checkImageSize(params.width, params.height);
    this.worldToCamera = checkWorldToCamera(params.worldToCamera);
  }

  /**
   * A camera at `eye` looking at `target`, with `up` pointing up in the image (so camera y, which points
   * down, is −up made orthogonal to the view direction). `up` must not be parallel to `target − eye`.
   */
  static fromLookAt(eye: readonly number[], target: readonly number[], up: readonly number[], intrinsics: LookAtIntrinsics): Camera {
    const e = checkVec3(eye, 'eye');
    const t = checkVec3(target, 'target');
    const u = checkVec3(up, 'up');
    if (intrinsics === undefined) throw new ValueError('intrinsics: expected { fovY | fx, width, height }, received undefined');
    checkOptions(intrinsics, LOOK_AT_KEYS, 'intrinsics');
    const [width, height] = checkImageSize(intrinsics.width, intrinsics.height);
    let fx: number;
    let fy: number;
    if (intrinsics.fovY !== undefined) {
      if (intrinsics.fx !== undefined || intrinsics.fy !== undefined) {
        throw new ValueError('intrinsics: expected either fovY or fx/fy, received both');
      }
      const fovY = checkRange(intrinsics.fovY, { min: 0, max: Math.PI, minExclusive: true, maxExclusive: true }, 'fovY');
      fy = height / 2 / Math.tan(fovY / 2);
      fx = fy;
    } else if (intrinsics.fx !== undefined) {
      fx = intrinsics.fx;
      fy = intrinsics.fy ?? intrinsics.fx;
    } else {
      throw new ValueError('intrinsics: expected fovY (radians) or fx (pixels), received neither');
    }
    const forwardRaw = sub(t, e);
    if (norm(forwardRaw) === 0) throw new ValueError(`target: expected a point different from eye, received ${describeValue(t)}`);
    const forward = normalize(forwardRaw);
    const rightRaw = cross(forward, u);
    if (norm(rightRaw) <= 1e-9 * norm(u)) {
      throw new ValueError(`up: expected a direction not parallel to target − eye, received ${describeValue(u)}`);
    }
    const right = normalize(rightRaw);
    // OpenCV rows: x = right, y = down = forward × right, z = forward; right-handed since right × down = forward
    const down = cross(forward, right);
    const rows = [right, down, forward];
    const m = new Array<number>(16).fill(0);
    rows.forEach((row, i) => {
      m[4 * i] = row[0];
      m[4 * i + 1] = row[1];
      m[4 * i + 2] = row[2];
      m[4 * i + 3] = -dot(row, e);
    });
    m[15] = 1;
    return new Camera({
      fx,
      fy,
      cx: intrinsics.cx ?? width / 2,
      cy: intrinsics.cy ?? height / 2,
      width,
      height,
      worldToCamera: m,
    });
  }

  /** R, the world-to-camera rotation, as 9 numbers row-major. */
  rotation(): number[] {
    const m = this.worldToCamera;
    return [m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!];
  }

  /** t, the world-to-camera translation (the world origin in camera space). */
  translation(): Vec3 {
    const m = this.worldToCamera;
    return [m[3]!, m[7]!, m[11]!];
  }

  /** The camera centre in world space, −Rᵀ t. */
  center(): Vec3 {
    return this.cameraToWorldPoint([0, 0, 0]);
  }

  /** Camera-space point of a world point: R p + t. */
  worldToCameraPoint(point: readonly number[]): Vec3 {
    const m = this.worldToCamera;
    const [x, y, z] = checkVec3(point, 'point');
    return [
      m[0]! * x + m[1]! * y + m[2]! * z + m[3]!,
      m[4]! * x + m[5]! * y + m[6]! * z + m[7]!,
      m[8]! * x + m[9]! * y + m[10]! * z + m[11]!,
    ];
  }

  /** World-space point of a camera-space point: Rᵀ (p_c − t). */
  cameraToWorldPoint(point: readonly number[]): Vec3 {
    const m = this.worldToCamera;
    const p = checkVec3(point, 'point');
    const x = p[0] - m[3]!;
    const y = p[1] - m[7]!;
    const z = p[2] - m[11]!;
    return [m[0]! * x + m[4]! * y + m[8]! * z, m[1]! * x + m[5]! * y + m[9]! * z, m[2]! * x + m[6]! * y + m[10]! * z];
  }

  /** World-space direction of a camera-space direction: Rᵀ d. */
  cameraToWorldDirection(direction: readonly number[]): Vec3 {
    const m = this.worldToCamera;
    const d = checkVec3(direction, 'direction');
    return [
      m[0]! * d[0]! + m[4]! * d[1]! + m[8]! * d[2]!,
      m[1]! * d[0]! + m[5]! * d[1]! + m[9]! * d[2]!,
      m[2]! * d[0]! + m[6]! * d[1]! + m[10]! * d[2]!,
    ];
  }

  /**
   * Projects a world point: u = fx·x/z + cx, v = fy·y/z + cy, depth = z (camera space). A point at
   * depth ≤ 0 is behind the camera; its u, v are returned as computed (±∞ or mirrored), not clipped.
   */
  project(point: readonly number[]): Projection {
    const [x, y, z] = this.worldToCameraPoint(point);
    return { u: (this.fx * x) / z + this.cx, v: (this.fy * y) / z + this.cy, depth: z };
  }

  /** The world point at camera-space depth `depth` (z, not distance) that projects to pixel coordinates (u, v). */
  unproject(u: number, v: number, depth: number): Vec3 {
    checkRange(u, {}, 'u');
    checkRange(v, {}, 'v');
    checkRange(depth, {}, 'depth');
    return this.cameraToWorldPoint([((u - this.cx) / this.fx) * depth, ((v - this.cy) / this.fy) * depth, depth]);
  }

  /** A plain object that `JSON.stringify` writes and `Camera.fromJSON` reads back exactly. */
  toJSON(): CameraParams & { worldToCamera: number[] } {
    return {
      fx: this.fx,
      fy: this.fy,
      cx: this.cx,
      cy: this.cy,
      width: this.width,
      height: this.height,
      worldToCamera: Array.from(this.worldToCamera),
    };
  }

  /** The camera `toJSON` described (a parsed object, not a string); validated like the constructor. */
  static fromJSON(json: unknown): Camera {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ValueError(
        `json: expected a camera object { fx, fy, cx, cy, width, height, worldToCamera }, received ${describeValue(json)}`,
      );
    }
    return new Camera(json as CameraParams);
  }
}
