/**
 * Where the flash forward's time goes on the GPU machine (issue 11: 95% sparse at L = 16384 took 3.52 ms on the
 * H100, 8.3 TFLOP/s): the op, then the forward program alone per tile, and with one loop of each key tile's step
 * cut short at a time (the QKᵀ loop, the row-maximum exchange, the PV loop). A cut variant computes garbage; only its time is read. Times are the GPU's timestamps (tf.time's kernelMs):
 * the wall time of a lone program call through the bench harness is not its kernel time.
 *   node .gpu/entry.mjs flash-probe [--json FILE] [--lengths 16384,4096]
 */
import { writeFileSync } from 'node:fs';
import { deviceZeros, initBackend, philoxUniform, type Tensor, type TensorInfo, tf, webgpuSubgroups } from '@tessera/tensor-core';
import { bench, runProgram } from '@tessera/tensor-core/bench';
import { BlockMask, blockSparseAttention } from '../src/index.js';
import { FlashForwardProgram } from '../src/flash/forward.program.js';
import { type FlashGeometry, flashUniforms, queryWorkgroups } from '../src/flash/layout.js';
import { type FlashTile, forwardBytes } from '../src/flash/tile.js';
import { workgroupBytes } from '../src/flash/kernel.js';

/** A forward program with one loop of its key-tile step shortened (`replace`: WGSL text → its cut version). */
class CutForward extends FlashForwardProgram {
  constructor(
    args: ConstructorParameters<typeof FlashForwardProgram>,
    private readonly cut: string,
    private readonly replace: [string, string],
  ) {
    super(...args);
    this.shaderKey += `_cut_${cut}`;
  }

  override getUserCode(): string {
    const code = super.getUserCode();
    const [from, to] = this.replace;
    if (!code.includes(from)) throw new Error(`flash-probe: cut ${this.cut} finds no "${from}"`);
    return code.split(from).join(to);
  }
}

const CUTS: Record<string, [string, string]> = {
  qk: ['for (var dd = 0; dd < HD; dd++)', 'for (var dd = 0; dd < 1; dd++)'],
  max: ['for (var g = 0; g < CG; g++)', 'for (var g = 0; g < 1; g++)'],
  pv: ['for (var c = 0; c < TK; c++)', 'for (var c = 0; c < 1; c++)'],
};

const flat = (t: Tensor): TensorInfo => ({ dataId: t.dataId, shape: [t.size], dtype: t.dtype });

/** Median GPU time of one call over 5 timed calls (the device's timestamps: tf.time's kernelMs), and the wall median from `bench`. */
async function measure(fn: () => Tensor | Tensor[], rounds: number): Promise<{ gpu: number; wall: number }> {
  const wall = (await bench('fwd', fn, { rounds })).median;
  const gpu: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = (await tf.time(() => {
      tf.dispose(fn());
    })) as tf.TimingInfo & { kernelMs: number | { error: string } };
    gpu.push(typeof t.kernelMs === 'number' ? t.kernelMs : Number.NaN);
  }
  gpu.sort((a, b) => a - b);
  return { gpu: gpu[2] as number, wall };
}

/** The suite's 95% mask (bench/attention.bench.ts): random blocks plus the diagonal one, so no row is empty. */
function diagonalMask(l: number, seed: number): BlockMask {
  const [nq, nk] = [l / 128, l / 64];
  const dense = tf.tidy(() =>
    tf.logicalOr(
      tf.less(philoxUniform([1, h, nq, nk], { seed }), 0.05),
      tf.equal(
        tf.reshape(tf.floorDiv(tf.mul(tf.range(0, nq, 1, 'int32'), 128), 64), [1, 1, nq, 1]),
        tf.reshape(tf.range(0, nk, 1, 'int32'), [1, 1, 1, nk]),
      ),
    ),
  );
  const mask = BlockMask.fromDense(dense, { blockSize: [128, 64] });
  dense.dispose();
  return mask;
}
const jsonAt = process.argv.indexOf('--json');
const lengthsAt = process.argv.indexOf('--lengths');
const lengths = lengthsAt >= 0 ? (process.argv[lengthsAt + 1] as string).split(',').map(Number) : [16384, 4096];
const rows: Record<string, unknown>[] = [];

await initBackend('webgpu');
const sg = webgpuSubgroups();
console.log(`subgroups ${JSON.stringify(sg)}`);
const [h, d] = [8, 64];
const tiles = (
  [
    { tq: 64, tk: 32, dp: 64, splitKv: true },
    { tq: 64, tk: 16, dp: 64, splitKv: false },
  ] satisfies FlashTile[]
).filter((t) => forwardBytes(d, t) <= workgroupBytes());

for (const l of lengths) {
  const q = philoxUniform([1, h, l, d], { seed: 1, low: -1, high: 1 });
  const k = philoxUniform([1, h, l, d], { seed: 2, low: -1, high: 1 });
  const v = philoxUniform([1, h, l, d], { seed: 3, low: -1, high: 1 });
  const mask = diagonalMask(l, 4);
  const kept = 1 - ((await mask.sparsity.data())[0] as number);
  const stand = deviceZeros([2], 'int32');
  // the op as users call it, for the programs alone below to be read against
  const op = await measure(() => blockSparseAttention(q, k, v, mask), 5);
  console.log(`L ${l} blockSparseAttention op (kept ${kept.toFixed(3)}): gpu ${op.gpu.toFixed(3)} ms, wall ${op.wall.toFixed(3)} ms`);
  rows.push({ l, sparse: true, kept, tile: 'op', cut: 'none', gpuMs: op.gpu, wallMs: op.wall });
  for (const sparse of l === lengths[0] ? [true, false] : [true]) {
    const g: FlashGeometry = { heads: h, lq: l, lk: l, d, causal: false, sparse, bq: 128, bk: 64, scale: 0.125 };
    const lists = sparse ? [mask.kvNumBlocks, mask.kvIndices] : [stand, stand];
    const flops = 4 * h * l * l * d * (sparse ? kept : 1);
    for (const tile of tiles) {
      const args: [number, number, number, FlashTile, number] = [h, l, d, tile, queryWorkgroups(g, tile.tq)];
      const cuts: [string, FlashForwardProgram][] = [['none', new FlashForwardProgram(...args)]];
      // the cut variants on the sparse walk only (the dense one at L = 16384 takes ~50 ms a run)
      if (sparse) for (const [cut, replace] of Object.entries(CUTS)) cuts.push([cut, new CutForward(args, cut, replace)]);
      for (const [cut, program] of cuts) {
        const r = await measure(
          () => runProgram(program, [q, k, v, ...lists].map(flat), flashUniforms(g, tile.tq, tile.tk)),
          sparse ? 5 : 3,
        );
        const row = {
          l,
          sparse,
          kept,
          tile: `${tile.tq}x${tile.tk}${tile.splitKv ? ' split' : ''}`,
          cut,
          gpuMs: r.gpu,
          wallMs: r.wall,
          tflops: flops / r.gpu / 1e9,
        };
        rows.push(row);
        console.log(
          `L ${l} ${sparse ? `sparse kept ${kept.toFixed(3)}` : 'dense'} tile ${row.tile} cut ${cut}: gpu ${r.gpu.toFixed(3)} ms (${row.tflops.toFixed(2)} TFLOP/s), wall ${r.wall.toFixed(3)} ms`,
        );
      }
    }
  }
  tf.dispose([q, k, v, stand]);
  mask.dispose();
}
if (jsonAt >= 0)
  writeFileSync(process.argv[jsonAt + 1] as string, JSON.stringify({ date: new Date().toISOString(), subgroups: sg, rows }, null, 1));
process.exit(0);
