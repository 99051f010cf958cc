import { philoxUniform, softmax, type Tensor, tf } from '@tessera/tensor-core';
import { type BenchRow, bench, compare, defineBench, kernelProfile } from '@tessera/tensor-core/bench';
import { topK, topP } from '../src/closed-forms/index.js';
import { radixGrid } from '../src/closed-forms/radix-layout.js';
import { gatherRows } from '../src/closed-forms/support.js';
import type { SamplerPath } from '../src/fused/attrs.js';
import { candidateGrid } from '../src/fused/candidates-draw.js';
import { sampleFromLogits } from '../src/fused/index.js';
import { fusedSampleIdsOp } from '../src/fused/op.js';
import { sample } from '../src/sample/index.js';

const K = 50;
const P = 0.9;
const TEMPERATURE = 0.7;

/**
 * The tfjs composite: tf.topk(k) of s/T (k = V: a full sort, for no top-k) → nucleus over the k → tf.multinomial →
 * token ids.
 */
function tfjsComposite(s: Tensor, seed: number, k = K, p = P): Tensor {
  return tf.tidy(() => {
    const { values, indices } = tf.topk(tf.div(s, TEMPERATURE), k);
    const probs = tf.softmax(values);
    const kept = tf.less(tf.sub(tf.cumsum(probs, 1), probs), p);
    const masked = tf.where(kept, values, tf.fill(values.shape, Number.NEGATIVE_INFINITY));
    return gatherRows(indices, tf.multinomial(masked as tf.Tensor2D, 1, seed));
  });
}

/** The unfused Tessera path: closed forms (each renormalising), then `sample`. */
function unfused(s: Tensor, seed: number): Tensor[] {
  const q = tf.tidy(() => topP(tf.log(topK(s, { k: K, temperature: TEMPERATURE })), { p: P }));
  const { ids, logprobs } = sample(q, { seed });
  q.dispose();
  return [ids, logprobs];
}

/**
 * `sampleFromLogits`' WebGPU kernel with its selection forced — 'row': one workgroup per row (pivot search,
 * candidate list); 'split': the radix select, each row over several workgroups (fused/radix-draw.ts);
 * 'candidates': each split's top-k from registers, then one merge and draw a row (fused/candidates-draw.ts) —
 * the same op `sampleFromLogits` runs (row uniforms drawn inside, ids and logprobs written directly).
 */
function forcedSample(s: Tensor, select: SamplerPath, splits?: number): () => Tensor[] {
  return () =>
    fusedSampleIdsOp({ logits: s }, { temperature: TEMPERATURE, k: K, p: P, pMin: 0, select, splits, seed: 1, offset: 0 }) as Tensor[];
}

/**
 * Fused sorting-free sampling (top-k 50 + top-p 0.9 + temperature 0.7) against the tfjs composite
 * (tf.topk → softmax → tf.multinomial) and the unfused Tessera path; `sample(q)` against tf.multinomial.
 * On WebGPU also the selections of the fused kernel against each other (each forced, whatever
 * `useCandidateDraw` and `useRadixDraw` pick for the shape): the radix passes against one workgroup per
 * row, the split candidates against the radix passes; and at 64 and 256 × 131072 (full size) the time of
 * `sampleFromLogits` per WGSL program (`kernelProfile`, GPU timestamps), for each path. Bytes: one read of
 * the logits, 4·B·V.
 */
export default defineBench({
  name: 'sampling',
  async run({ size, log }) {
    const shapes: [number, number][] =
      size === 'full'
        ? [
            [1, 131072],
            [64, 131072],
            [256, 131072],
          ]
        : [[4, 8192]];
    const rows: BenchRow[] = [];
    for (const [b, v] of shapes) {
      const s = philoxUniform([b, v], { seed: 1, low: -10, high: 10 });
      const q = softmax(s);
      const shape = `${b}x${v}`;
      const bytes = 4 * b * v;
      log(`sampleFromLogits ${shape}`);
      const fusedCall = () => {
        const out = sampleFromLogits(s, { topK: K, topP: P, temperature: TEMPERATURE, seed: 1 });
        return [out.ids, out.logprobs];
      };
      // a shape's first timings on the H100 ran slow well past the harness' warm-up (1 × 131072: median 0.122 ms,
      // min 0.068, against 0.066 for the same kernel timed next; 2026-12-07), so one untimed round goes first
      await bench('warm-up', fusedCall, { rounds: 1 });
      const fused = await bench('sampleFromLogits', fusedCall);
      const composite = await bench('tf.topk+softmax+tf.multinomial', () => tfjsComposite(s, 1));
      rows.push(compare('sampleFromLogits k50 p0.9 T0.7', shape, 'tf.topk+softmax+tf.multinomial', composite, fused, { bytes }));
      const steps = await bench('topK+topP+sample', () => unfused(s, 1));
      rows.push(compare('sampleFromLogits k50 p0.9 T0.7', shape, 'topK+topP+sample (unfused)', steps, fused, { bytes }));
      if (tf.getBackend() === 'webgpu') {
        const oneWorkgroup = await bench('sampleFromLogits, one workgroup per row', forcedSample(s, 'row'));
        const radix = await bench('sampleFromLogits, radix select', forcedSample(s, 'split'));
        const { splits } = radixGrid(b, v);
        rows.push(
          compare(`sampleFromLogits k50 p0.9 T0.7 (radix select, ${splits} splits)`, shape, 'one workgroup per row', oneWorkgroup, radix, {
            bytes,
          }),
        );
        // the logits read once (split candidates, 4 programs) against the radix passes (8 programs, 2–5 reads)
        const grid = candidateGrid(b, v, K);
        if (grid !== undefined) {
          const candidates = await bench('sampleFromLogits, split candidates', forcedSample(s, 'candidates'));
          rows.push(
            compare(
              `sampleFromLogits k50 p0.9 T0.7 (split candidates, ${grid.splits} splits of ${grid.slice})`,
              shape,
              `radix select, ${splits} splits`,
              radix,
              candidates,
              { bytes },
            ),
          );
          // the split length candidateGrid picks against half and twice as long: more splits spread few rows over more
          // SMs, fewer leave the draw fewer candidates to merge
          for (const factor of [2, 0.5]) {
            const other = candidateGrid(b, v, K, grid.splits * factor);
            if (other === undefined || other.slice === grid.slice) continue;
            const time = await bench(
              `sampleFromLogits, split candidates, ${other.splits} splits`,
              forcedSample(s, 'candidates', other.splits),
            );
            rows.push(
              compare(
                `sampleFromLogits k50 p0.9 T0.7 (split candidates, ${other.splits} splits of ${other.slice})`,
                shape,
                `${grid.splits} splits of ${grid.slice} (candidateGrid)`,
                candidates,
                time,
                { bytes },
              ),
            );
          }
        }
        // how many workgroups a row should get: the grid's choice against 2× and 4× as many splits (each split's partial
        // histogram is reduced by every workgroup of the next pass, so more splits also cost more reduction)
        if (b <= 64) {
          for (const factor of [2, 4]) {
            const more = Math.min(splits * factor, 256);
            if (more === splits) continue;
            const wider = await bench(`sampleFromLogits, radix select, ${more} splits`, forcedSample(s, 'split', more));
            rows.push(
              compare(
                `sampleFromLogits k50 p0.9 T0.7 (radix select, ${more} splits)`,
                shape,
                `${splits} splits (radixGrid)`,
                radix,
                wider,
                {
                  bytes,
                },
              ),
            );
          }
        }
        if (v === 131072 && (b === 64 || b === 256)) {
          // 'auto' takes the split candidates here
          const call = () => {
            const out = sampleFromLogits(s, { topK: K, topP: P, temperature: TEMPERATURE, seed: 1 });
            return [out.ids, out.logprobs];
          };
          rows.push(...(await kernelProfile('sampleFromLogits k50 p0.9 T0.7 (auto: split candidates)', shape, call, { by: 'program' })));
          rows.push(
            ...(await kernelProfile('sampleFromLogits k50 p0.9 T0.7 (radix select)', shape, forcedSample(s, 'split'), {
              by: 'program',
            })),
          );
          if (b === 64) {
            rows.push(
              ...(await kernelProfile('sampleFromLogits k50 p0.9 T0.7 (one workgroup per row)', shape, forcedSample(s, 'row'), {
                by: 'program',
              })),
            );
          }
        }
      }
      log(`sample ${shape}`);
      const ours = await bench('sample', () => {
        const out = sample(q, { seed: 1 });
        return [out.ids, out.logprobs];
      });
      const multinomial = await bench('tf.multinomial', () => tf.multinomial(s as tf.Tensor2D, 1, 1));
      rows.push(compare('sample', shape, 'tf.multinomial', multinomial, ours, { bytes }));
      tf.dispose([s, q]);
    }
    if (tf.getBackend() !== 'webgpu') rows.push(...(await shortRows(log)));
    return rows;
  },
});

/**
 * CPU and WASM: rows of a thousand tokens, where the host kernel's cost a row weighs most against the
 * composite's (issue 15), with k = 50, k = 1 and no top-k (p = 0.9 alone; the composite's tf.topk then sorts
 * the row).
 */
async function shortRows(log: (m: string) => void): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const shapes: [number, number][] = [
    [64, 1024],
    [256, 1024],
  ];
  for (const [b, v] of shapes) {
    const s = philoxUniform([b, v], { seed: 1, low: -10, high: 10 });
    const shape = `${b}x${v}`;
    const bytes = 4 * b * v;
    const configs: { name: string; topK?: number; topP?: number; k: number; p: number }[] = [
      { name: 'k50 p0.9 T0.7', topK: K, topP: P, k: K, p: P },
      { name: 'k1 T0.7', topK: 1, k: 1, p: 1 },
      { name: 'p0.9 T0.7', topP: P, k: v, p: P },
    ];
    for (const c of b === 64 ? configs : configs.slice(0, 1)) {
      log(`sampleFromLogits ${c.name} ${shape}`);
      const fused = await bench('sampleFromLogits', () => {
        const out = sampleFromLogits(s, { topK: c.topK, topP: c.topP, temperature: TEMPERATURE, seed: 1 });
        return [out.ids, out.logprobs];
      });
      const composite = await bench('tf.topk+softmax+tf.multinomial', () => tfjsComposite(s, 1, c.k, c.p));
      rows.push(compare(`sampleFromLogits ${c.name}`, shape, 'tf.topk+softmax+tf.multinomial', composite, fused, { bytes }));
    }
    s.dispose();
  }
  return rows;
}
