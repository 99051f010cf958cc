import { readSafetensors, type Tensor, tf } from '@tessera/tensor-core';
import { bunny, Camera, type Gaussians, orbitCameras, rasterize, TTTLRM, type TTTLRMConfig } from '@tessera/ttt3d';
import { byId, report } from './ui.js';

const SIZE = 256;
const FOV = 0.8;
/** Input views streamed into tttLRM, and how many per push (the CLI's `reconstruct --stream`: 4). */
const INPUT_VIEWS = 8;
const PUSH = 4;

/**
 * The splat viewer: Gaussians rendered by ttt3d's `rasterize` into a canvas, orbit controls. It starts on the bunny's
 * ground-truth surface Gaussians; "Reconstruct" streams views of them into the trained tttLRM (weights/tttlrm, served
 * with the page) 4 at a time and shows the decoded scene after each push.
 */
export async function mountSplat(): Promise<void> {
  const status = byId('splat-status');
  const canvas = byId<HTMLCanvasElement>('splat-canvas');
  const meta = byId('splat-meta');
  const button = byId<HTMLButtonElement>('splat-reconstruct');
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('splat: no 2D canvas context');
  const truth = bunny({ n: 5000, seed: 0 }).gaussians;
  let gaussians: Gaussians = truth;
  let label = 'ground truth';
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
        meta.textContent = `${label}: ${gaussians.count} Gaussians · ${SIZE}×${SIZE} · azimuth ${azimuth.toFixed(2)} rad, elevation ${elevation.toFixed(2)} rad, radius ${radius.toFixed(2)} · frame ${(performance.now() - t0).toFixed(0)} ms on ${tf.getBackend()}`;
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

  const show = async (g: Gaussians, what: string): Promise<void> => {
    if (gaussians !== truth) gaussians.dispose();
    gaussians = g;
    label = what;
    await render();
  };
  button.disabled = false;
  button.addEventListener('click', () => {
    button.disabled = true;
    reconstruct(show, (text) => {
      status.textContent = text;
    })
      .catch((e: unknown) => {
        status.textContent = `reconstruction failed: ${(e as Error).message}`;
        console.error(e);
      })
      .finally(() => {
        button.disabled = false;
      });
  });
}

/**
 * Renders `INPUT_VIEWS` views of the bunny at the model's size on the training cameras' orbit (radius 2, fov 0.8,
 * white background), then pushes them into a tttLRM stream `PUSH` at a time, showing the scene after each push.
 */
async function reconstruct(show: (g: Gaussians, label: string) => Promise<void>, say: (text: string) => void): Promise<void> {
  say('loading the tttLRM weights…');
  const config = (await (await fetch('./tttlrm/config.json')).json()) as Partial<TTTLRMConfig>;
  const bytes = new Uint8Array(await (await fetch('./tttlrm/model.safetensors')).arrayBuffer());
  const model = TTTLRM.fromConfig(config);
  const dict = readSafetensors(bytes);
  try {
    model.loadStateDict(dict);
  } finally {
    tf.dispose(Object.values(dict));
  }
  const size = model.config.imageSize;
  const cameras = orbitCameras(INPUT_VIEWS, { radius: 2, elevation: 0.3, fov: FOV, size });
  const scene = bunny({ n: 3000, seed: 0 }).gaussians;
  const stream = model.stream();
  try {
    const views: Tensor = tf.tidy(() =>
      tf.stack(
        cameras.map((c) => {
          const r = rasterize(scene, c, { background: [1, 1, 1] });
          return r.image;
        }),
      ),
    );
    try {
      for (let from = 0; from < INPUT_VIEWS; from += PUSH) {
        say(`pushing views ${from + 1}–${from + PUSH} of ${INPUT_VIEWS} into tttLRM…`);
        const t0 = performance.now();
        const batch = tf.slice(views, [from, 0, 0, 0], [PUSH, size, size, 3]);
        stream.push(batch, cameras.slice(from, from + PUSH));
        batch.dispose();
        const g = await stream.gaussians();
        const ms = performance.now() - t0;
        await show(g, `tttLRM after ${from + PUSH} views`);
        say(
          `tttLRM (${model.config.width} wide, ${model.config.depth} blocks): ${from + PUSH}/${INPUT_VIEWS} views streamed, ${g.count} Gaussians — push and decode ${ms.toFixed(0)} ms on ${tf.getBackend()}`,
        );
        report.reconstructPushes++;
      }
    } finally {
      views.dispose();
    }
  } finally {
    stream.dispose();
    scene.dispose();
    model.dispose();
  }
}
