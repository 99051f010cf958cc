import { checkDtype, checkRange, checkShape, describeValue, ShapeError, type Tensor, ValueError } from '@tessera/tensor-core';
import { Camera } from '../camera/index.js';

/** Most views of one `reconstruct` / `push` call, and virtual views of one decode. */
export const MAX_TTTLRM_VIEWS = 4096;

function checkCameraList(cameras: unknown, name: string): asserts cameras is readonly Camera[] {
  if (!Array.isArray(cameras)) throw new ValueError(`${name}: expected an array of Camera, received ${describeValue(cameras)}`);
  cameras.forEach((c, i) => {
    if (!(c instanceof Camera)) throw new ValueError(`${name}[${i}]: expected a Camera, received ${describeValue(c)}`);
  });
}

/** Checks a list of cameras of one size, each side divisible by `p`; returns [height, width]. */
export function checkCameras(cameras: unknown, p: number, name: string): [number, number] {
  checkCameraList(cameras, name);
  if (cameras.length === 0) throw new ValueError(`${name}: expected at least one camera, received none`);
  checkRange(cameras.length, { max: MAX_TTTLRM_VIEWS, hint: 'views per call' }, `${name}.length`);
  const first = cameras[0] as Camera;
  cameras.forEach((c, i) => {
    if (c.width !== first.width || c.height !== first.height) {
      throw new ValueError(
        `${name}[${i}]: expected the size of ${name}[0] (${first.width}×${first.height}), received ${c.width}×${c.height}`,
      );
    }
  });
  if (first.width % p !== 0 || first.height % p !== 0) {
    throw new ValueError(`${name}: expected an image size divisible by the patch size ${p}, received ${first.width}×${first.height}`);
  }
  return [first.height, first.width];
}

/** Checks `views: [V, H, W, 3]` float32 against `cameras` (same count and size, sides divisible by `p`). */
export function checkViews(views: Tensor, cameras: unknown, p: number): void {
  checkShape(views, [null, null, null, 3], 'views');
  checkDtype(views, 'float32', 'views');
  const [v, h, w] = views.shape as [number, number, number, number];
  if (v === 0) throw new ShapeError('views: expected at least one view, received V = 0');
  checkCameraList(cameras, 'cameras');
  if (cameras.length !== v) throw new ValueError(`cameras: expected one camera per view (${v}), received ${cameras.length}`);
  if (h % p !== 0 || w % p !== 0) {
    throw new ShapeError(`views: expected an image size divisible by the patch size ${p}, received ${h}×${w}`);
  }
  const [ch, cw] = checkCameras(cameras, p, 'cameras');
  if (ch !== h || cw !== w) throw new ValueError(`cameras: expected cameras of the views' size ${w}×${h}, received ${cw}×${ch}`);
}

/** Checks `minOpacity` in [0, 1). */
export function checkMinOpacity(value: number | undefined): number {
  return checkRange(value ?? 0.01, { min: 0, max: 1, maxExclusive: true }, 'opts.minOpacity');
}

/** Checks `virtualCount`: a positive integer, and not given with `virtualViews`. */
export function checkVirtualCount(value: number | undefined, virtualViews: readonly unknown[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (virtualViews !== undefined) {
    throw new ValueError(
      `opts.virtualCount: expected it without opts.virtualViews (both pick the virtual views), received ${describeValue(value)}`,
    );
  }
  return checkRange(value, { min: 1, integer: true }, 'opts.virtualCount');
}
