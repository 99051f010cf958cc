import {
  describeValue,
  FormatError,
  readSafetensors,
  ShapeError,
  type Tensor,
  TesseraError,
  tf,
  ValueError,
  writeFileAtomic,
  writeSafetensors,
} from '@tessera/tensor-core';
import { Gaussians } from '../gaussians/gaussians.js';
import { MAX_SH_DEGREE } from '../gaussians/sh.js';

/*
 * gsplat's trainer checkpoint (nerfstudio-project/gsplat examples/simple_trainer.py, commit 90d7b4b3: `splats`, a
 * ParameterDict saved with torch.save) ↔ `Gaussians`. gsplat's fields and ours are the same parametrisation:
 * means [N, 3], scales = log σ [N, 3] (our logScales), quats [N, 4] in (w, x, y, z), unnormalised (our quaternions,
 * same order: gsplat's quat_to_rotmat unbinds w, x, y, z), opacities = logit [N] (our opacityLogits), and the SH
 * coefficients split into sh0 [N, 1, 3] (DC) and shN [N, K − 1, 3] (the rest), coefficient-major with RGB last —
 * our sh [N, K, 3] is their concatenation along axis 1. Colour = max(0, SH·dir + 0.5) in both.
 */

/** gsplat's `splats` names, in the order the trainer creates them. */
export const GSPLAT_FIELDS = ['means', 'scales', 'quats', 'opacities', 'sh0', 'shN'] as const;

/** A gsplat `splats` state dict by its names (what `gaussiansToGsplat` returns). */
export type GsplatSplats = Record<(typeof GSPLAT_FIELDS)[number], Tensor>;

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A gsplat `splats` dict (the tensors by gsplat's names, e.g. from a safetensors file) → `Gaussians` with fresh
 * tensors; `dict` stays the caller's. `shN` may be absent for SH degree 0 (gsplat stores it as [N, 0, 3]). Every
 * missing and every unexpected name is listed (an appearance-model checkpoint's `features` / `colors` is not SH
 * colour and is rejected), then every wrong shape (name, expected, received): a `TesseraError` / `ShapeError`.
 */
export function gaussiansFromGsplat(dict: Record<string, Tensor>): Gaussians {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new ValueError(
      `dict: expected gsplat's splats as { means, scales, quats, opacities, sh0, shN }, received ${describeValue(dict)}`,
    );
  }
  const required = GSPLAT_FIELDS.filter((k) => k !== 'shN');
  const missing: string[] = required.filter((k) => !(dict[k] instanceof tf.Tensor));
  const unexpected = Object.keys(dict).filter((k) => !(GSPLAT_FIELDS as readonly string[]).includes(k));
  if (dict.shN !== undefined && !(dict.shN instanceof tf.Tensor)) missing.push('shN');
  if (missing.length > 0 || unexpected.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing tensors: ${missing.join(', ')}`);
    if (unexpected.length > 0) parts.push(`unexpected tensors: ${unexpected.join(', ')}`);
    throw new TesseraError(`dict: not a gsplat splats dict (${GSPLAT_FIELDS.join(', ')}): ${parts.join('; ')}`);
  }
  const at = (k: (typeof GSPLAT_FIELDS)[number]) => dict[k] as Tensor;
  const n = at('means').shape[0] ?? -1;
  const sh0 = at('sh0');
  const shN = dict.shN;
  const rest = shN?.shape[1] ?? 0;
  const problems: string[] = [];
  const expect = (name: string, t: Tensor | undefined, shape: number[]) => {
    if (t !== undefined && !tf.util.arraysEqual(t.shape, shape)) {
      problems.push(`${name}: expected ${formatShape(shape)}, received ${formatShape(t.shape)}`);
    }
  };
  if (at('means').rank !== 2) problems.push(`means: expected [N, 3], received ${formatShape(at('means').shape)}`);
  else {
    expect('means', at('means'), [n, 3]);
    expect('scales', at('scales'), [n, 3]);
    expect('quats', at('quats'), [n, 4]);
    expect('opacities', at('opacities'), [n]);
    expect('sh0', sh0, [n, 1, 3]);
    if (shN !== undefined && (shN.rank !== 3 || shN.shape[0] !== n || shN.shape[2] !== 3)) {
      problems.push(`shN: expected [${n}, K − 1, 3], received ${formatShape(shN.shape)}`);
    }
  }
  if (problems.length > 0) throw new ShapeError(`dict: tensors of the wrong shape: ${problems.join('; ')}`);
  const k = rest + 1;
  const degree = Math.round(Math.sqrt(k)) - 1;
  if ((degree + 1) ** 2 !== k || degree > MAX_SH_DEGREE) {
    throw new ShapeError(
      `shN: expected K − 1 = (degree + 1)² − 1 coefficients for an SH degree 0–${MAX_SH_DEGREE} (0, 3, 8 or 15), received ${rest} (shape ${formatShape(shN?.shape ?? [])})`,
    );
  }
  for (const name of [...required, ...(shN ? ['shN' as const] : [])]) {
    const dtype = at(name).dtype;
    if (dtype !== 'float32') throw new ValueError(`${name}: expected a float32 tensor, received dtype ${dtype}`);
  }
  const fields = tf.tidy(() => ({
    means: tf.clone(at('means')),
    logScales: tf.clone(at('scales')),
    quaternions: tf.clone(at('quats')),
    opacityLogits: tf.clone(at('opacities')),
    sh: shN === undefined || rest === 0 ? tf.clone(sh0) : tf.concat([sh0, shN], 1),
  }));
  try {
    return new Gaussians(fields);
  } catch (e) {
    tf.dispose(Object.values(fields));
    throw e;
  }
}

/**
 * `Gaussians` → gsplat's `splats` dict (fresh tensors the caller owns): means, scales (log), quats (w, x, y, z as
 * stored), opacities (logits), sh0 `[N, 1, 3]`, shN `[N, K − 1, 3]` (`[N, 0, 3]` at degree 0, as gsplat).
 */
export function gaussiansToGsplat(g: Gaussians): GsplatSplats {
  if (!(g instanceof Gaussians)) throw new ValueError(`g: expected Gaussians, received ${describeValue(g)}`);
  return tf.tidy(() => {
    const k = g.sh.shape[1] as number;
    return {
      means: tf.clone(g.means),
      scales: tf.clone(g.logScales),
      quats: tf.clone(g.quaternions),
      opacities: tf.clone(g.opacityLogits),
      sh0: tf.slice(g.sh, [0, 0, 0], [-1, 1, -1]),
      shN: tf.slice(g.sh, [0, 1, 0], [-1, k - 1, -1]),
    };
  });
}

/**
 * Reads a gsplat checkpoint's `splats` saved as safetensors (a path, Node only, or the file's bytes) → `Gaussians`.
 * The `.pt` itself is a pickle: convert it once in Python (README, "Bring your PyTorch model"). A corrupt or
 * truncated file throws a `FormatError`; wrong names or shapes as `gaussiansFromGsplat`.
 */
export async function loadGsplatCheckpoint(source: string | Uint8Array): Promise<Gaussians> {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    if (source === '') throw new ValueError('source: expected a safetensors path or its bytes, received ""');
    const fs = await import('node:fs/promises');
    bytes = await fs.readFile(source);
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new ValueError(`source: expected a safetensors path or its bytes (Uint8Array), received ${describeValue(source)}`);
  }
  let dict: Record<string, Tensor>;
  try {
    dict = readSafetensors(bytes);
  } catch (e) {
    if (e instanceof FormatError && typeof source === 'string') throw new FormatError(`${source}: ${e.message}`);
    throw e;
  }
  try {
    return gaussiansFromGsplat(dict);
  } finally {
    tf.dispose(Object.values(dict));
  }
}

/**
 * Writes `g` as gsplat's `splats` dict in a safetensors file at `path` (Node only, atomically: no half-written file),
 * float32, `format: pt` — `torch.load`-free: `safetensors.torch.load_file(path)` gives the dict gsplat's trainer
 * keeps in `ckpt["splats"]`.
 */
export async function saveGsplatCheckpoint(g: Gaussians, path: string): Promise<void> {
  if (!(g instanceof Gaussians)) throw new ValueError(`g: expected Gaussians, received ${describeValue(g)}`);
  if (typeof path !== 'string' || path === '')
    throw new ValueError(`path: expected a non-empty file path, received ${describeValue(path)}`);
  const dict = gaussiansToGsplat(g);
  try {
    await writeFileAtomic(path, await writeSafetensors(dict, { metadata: { format: 'pt' } }));
  } finally {
    tf.dispose(Object.values(dict));
  }
}
