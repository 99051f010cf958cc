import { tf } from '@tessera/tensor-core';
import { bunny, Camera, rasterize } from '@tessera/ttt3d';
import { byId, report } from './ui.js';

const SIZE = 256;
const FOV = 0.8;

/** The splat viewer: the bunny's surface Gaussians, rendered by ttt3d's `rasterize` into a canvas, orbit controls. */
export async function mountSplat(): Promise<void> {
  const status = byId('splat-status');
  const canvas = byId<HTMLCanvasElement>('splat-canvas');
  const meta = byId('splat-meta');
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('splat: no 2D canvas context');
  const n = 5000;
  const { gaussians } = bunny({ n, seed: 0 });
  const view = { azimuth: 0.6, elevation: 0.3, radius: 2 };
  let busy = false;
  let again = false;

  const render = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const { azimuth, elevation, radius } = view;
        const eye = [
          radius * Math.cos(elevation) * Math.sin(azimuth),
          radius * Math.sin(elevation),
          radius * Math.cos(elevation) * Math.cos(azimuth),
        ];
        const camera = Camera.fromLookAt(eye, [0, 0, 0], [0, 1, 0], { fovY: FOV, width: SIZE, height: SIZE });
        const t0 = performance.now();
        const rgba = tf.tidy(() => {
          const { image } = rasterize(gaussians, camera, { background: [1, 1, 1] });
          const rgb = tf.mul(tf.clipByValue(image, 0, 1), 255);
          return tf.cast(tf.concat([rgb, tf.fill([SIZE, SIZE, 1], 255)], 2), 'int32');
        });
        const data = await rgba.data();
        rgba.dispose();
        ctx.putImageData(new ImageData(Uint8ClampedArray.from(data), SIZE, SIZE), 0, 0);
        report.splatFrames++;
        meta.textContent = `${n} Gaussians · ${SIZE}×${SIZE} · azimuth ${azimuth.toFixed(2)} rad, elevation ${elevation.toFixed(2)} rad, radius ${radius.toFixed(2)} · frame ${(performance.now() - t0).toFixed(0)} ms on ${tf.getBackend()}`;
      } while (again);
    } finally {
      busy = false;
    }
  };

  let drag: { x: number; y: number } | undefined;
  canvas.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointerup', () => {
    drag = undefined;
  });
  canvas.addEventListener('pointermove', (e) => {
    if (drag === undefined) return;
    view.azimuth -= (e.clientX - drag.x) * 0.01;
    view.elevation = Math.max(-1.4, Math.min(1.4, view.elevation + (e.clientY - drag.y) * 0.01));
    drag = { x: e.clientX, y: e.clientY };
    void render();
  });
  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      view.radius = Math.max(0.8, Math.min(6, view.radius * Math.exp(e.deltaY * 0.001)));
      void render();
    },
    { passive: false },
  );

  status.textContent = 'rendering the first frame (compiles the WGSL pipelines once)…';
  await render();
  status.textContent = `bunny: ground-truth Gaussians from ttt3d's scenes, rendered live by rasterize on ${tf.getBackend()}`;
  canvas.dataset.ready = 'true';
}
