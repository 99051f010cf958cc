import { blockScores, hybridMask } from '@tessera/sparse-attention';
import { philoxNormal, readSafetensors, type Tensor, tf } from '@tessera/tensor-core';
import { checkDitConfig, DiT, DIT_CONFIG, type DitConfig } from '../../src/sparse/dit.js';
import { FILES, modelFrom } from '../../src/sparse/experiment.js';
import { tokenBatch } from '../../src/sparse/video.js';
import { byId, report } from './ui.js';

/** The sparse study's dense teacher from the page's public folder (weights/sparse-dit), or undefined where absent. */
async function loadTeacher(): Promise<{ model: DiT; config: DitConfig } | undefined> {
  const base = './sparse-dit/';
  const [configRes, weightsRes] = await Promise.all([fetch(`${base}${FILES.config}`), fetch(`${base}${FILES.teacher}`)]);
  // a dev server answers a missing file with the page itself
  if (!configRes.ok || !weightsRes.ok || !(configRes.headers.get('content-type') ?? '').includes('json')) return undefined;
  const config = checkDitConfig(((await configRes.json()) as { model?: unknown }).model, 'sparse-dit/config.json model');
  const dict = readSafetensors(new Uint8Array(await weightsRes.arrayBuffer()));
  try {
    return { model: modelFrom(config, 'dense', dict), config };
  } finally {
    tf.dispose(Object.values(dict));
  }
}

/**
 * The block-mask heatmap: pooled block scores (`blockScores`) of one layer/head of the sparse study's trained
 * teacher DiT on a procedural clip at t = 0.5, and the blocks `hybridMask` keeps for the chosen top-k/top-p (the
 * study's chosen values first). Without the committed weights the DiT is freshly initialised, which the panel says.
 */
export async function mountSparse(): Promise<void> {
  const status = byId('sparse-status');
  const canvas = byId<HTMLCanvasElement>('sparse-canvas');
  const meta = byId('sparse-meta');
  const layerSel = byId<HTMLSelectElement>('sparse-layer');
  const headSel = byId<HTMLSelectElement>('sparse-head');
  const topK = byId<HTMLInputElement>('sparse-topk');
  const topP = byId<HTMLInputElement>('sparse-topp');
  const ctx = canvas.getContext('2d');
  if (ctx === null) throw new Error('sparse: no 2D canvas context');
  status.textContent = 'loading the sparse study’s teacher DiT…';
  const teacher = await loadTeacher();
  const c = teacher?.config ?? DIT_CONFIG;
  for (let i = 0; i < c.depth; i++) layerSel.add(new Option(`block ${i}`, String(i)));
  for (let h = 0; h < c.heads; h++) headSel.add(new Option(`head ${h}`, String(h)));
  topK.value = String(c.topK);
  topP.value = String(c.topP);

  const model = teacher?.model ?? new DiT(c, { mode: 'dense', seed: 0 });
  const { xt, t } = tf.tidy(() => {
    const x0 = tokenBatch([0], { frames: c.frames, size: c.size, patch: c.patch, seed: 0, distribution: 'pretrain' });
    const noise = philoxNormal(x0.shape, { seed: 1 });
    return { xt: tf.add(tf.mul(x0, 0.5), tf.mul(noise, 0.5)), t: tf.tensor1d([0.5]) };
  });
  const headDim = c.width / c.heads;
  const scoresByLayer = new Map<number, Tensor>();
  const scoresOf = (layer: number): Tensor => {
    let s = scoresByLayer.get(layer);
    if (s === undefined) {
      s = tf.tidy(() => {
        const x = model.attentionInput(xt, t, layer);
        const attn = model.blocks[layer]?.attn;
        if (attn === undefined) throw new Error(`sparse: no block ${layer}`);
        const heads = (y: Tensor) => tf.transpose(tf.reshape(y, [1, -1, c.heads, headDim]), [0, 2, 1, 3]);
        return blockScores(heads(attn.qProj.forward(x)), heads(attn.kProj.forward(x)), { bq: c.bq, bk: c.bk });
      });
      scoresByLayer.set(layer, s);
    }
    return s;
  };

  let busy = false;
  let again = false;
  const draw = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const layer = Number(layerSel.value);
        const head = Number(headSel.value);
        const k = Number(topK.value);
        const p = Number(topP.value);
        byId('sparse-topk-v').textContent = k.toFixed(2);
        byId('sparse-topp-v').textContent = p.toFixed(2);
        const scores = scoresOf(layer);
        const { s, kept } = tf.tidy(() => {
          const mask = hybridMask(scores, { topK: k, topP: p, bq: c.bq, bk: c.bk });
          const dense = mask.toDense();
          mask.dispose();
          const pick = (x: Tensor) => tf.squeeze(tf.slice(x, [0, head, 0, 0], [1, 1, -1, -1]), [0, 1]);
          return { s: pick(scores), kept: tf.cast(pick(dense), 'float32') };
        });
        const [nq, nk] = s.shape as [number, number];
        const [sv, kv] = await Promise.all([s.data(), kept.data()]);
        tf.dispose([s, kept]);
        drawHeatmap(ctx, canvas, sv, kv, nq, nk);
        let on = 0;
        for (const v of kv) on += v > 0 ? 1 : 0;
        meta.textContent = `block ${layer}, head ${head}: ${nq} query blocks (bq ${c.bq}) × ${nk} key blocks (bk ${c.bk}) over ${c.frames} frames of ${c.size}² (L = ${(c.frames * c.size * c.size) / (c.patch * c.patch)}); kept ${on} of ${nq * nk} blocks — sparsity ${(100 * (1 - on / (nq * nk))).toFixed(1)} %`;
      } while (again);
    } finally {
      busy = false;
    }
  };
  for (const el of [layerSel, headSel, topK, topP]) el.addEventListener('input', () => void draw());
  status.textContent = 'computing block scores…';
  await draw();
  status.textContent = `${teacher ? 'the sparse study’s trained teacher DiT' : 'a freshly initialised DiT (UNTRAINED: weights/sparse-dit/teacher.safetensors is absent)'} on a procedural clip at t = 0.5: brightness √(block score / row max), green = kept by hybridMask`;
  report.sparseReady = true;
}

function drawHeatmap(
  ctx: CanvasRenderingContext2D,
  canvas: HTMLCanvasElement,
  sv: ArrayLike<number>,
  kv: ArrayLike<number>,
  nq: number,
  nk: number,
): void {
  const cell = Math.max(4, Math.floor(Math.min(384 / nk, 256 / nq)));
  canvas.width = nk * cell;
  canvas.height = nq * cell;
  for (let i = 0; i < nq; i++) {
    let rowMax = 0;
    for (let j = 0; j < nk; j++) rowMax = Math.max(rowMax, sv[i * nk + j] as number);
    for (let j = 0; j < nk; j++) {
      const level = Math.sqrt((sv[i * nk + j] as number) / (rowMax || 1));
      const g = Math.round(255 * level);
      ctx.fillStyle =
        (kv[i * nk + j] as number) > 0
          ? `rgb(${Math.round(g * 0.3)}, ${Math.round(80 + 175 * level)}, ${Math.round(g * 0.3)})`
          : `rgb(${g}, ${g}, ${g})`;
      ctx.fillRect(j * cell, i * cell, cell - 1, cell - 1);
    }
  }
}
