import {
  flatGrid,
  LINEAR_WORKGROUP_INDEX,
  philoxUniformArray,
  type Tensor,
  tf,
  type WebGPUProgram,
  warmUpWebGPU,
} from '@tessera/tensor-core';
import { runProgram } from '@tessera/tensor-core/bench';
import { describeBackends, expectAllClose, recordPrograms } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { RADIX_MIN_COLS } from '../src/closed-forms/radix-layout.js';
import { fusedSampleIdsOp } from '../src/fused/op.js';
import { useRadixDraw } from '../src/fused/radix-draw.js';
import { ROW_UNIFORM_FIELDS, ROW_UNIFORM_WGSL, rowUniformData } from '../src/sample/row-uniform.wgsl.js';
import { type SampleFromLogitsOptions, sample, sampleFromLogits } from '../src/index.js';
import { onCpu, randomLogits } from './cases.js';

/** The WGSL programs (their class names) one call of `fn` dispatches on the active WebGPU backend, once its pipelines exist. */
async function programsOf(fn: () => Tensor[]): Promise<string[]> {
  await warmUpWebGPU(fn);
  const { result, programs } = recordPrograms(fn);
  tf.dispose(result);
  return programs.map((p) => p.name);
}

/** A program writing `rowUniform(row)` for each row, to compare with `philoxUniformArray`. */
class RowUniformProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  variableNames: string[] = [];
  workgroupSize: [number, number, number] = [64, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = ROW_UNIFORM_FIELDS;

  constructor(private readonly rows: number) {
    this.outputShape = [rows];
    this.shaderKey = `test_row_uniform_${rows}`;
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(rows / 64)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ROW_UNIFORM_WGSL}
  fn main(index : i32) {
    let row = i32(linearWorkgroupIndex() * 64u + localIndex);
    if (row < ${this.rows}) {
      result[row] = rowUniform(row);
    }
  }
`;
  }
}

const call = (logits: Tensor, o: SampleFromLogitsOptions) => (): Tensor[] => {
  const { ids, logprobs } = sampleFromLogits(logits, o);
  return [ids, logprobs];
};

// A call's cost on WebGPU is mostly its dispatch count (issue 15: 20–50 µs a program through tfjs on the
// H100): these counts are the budget. Before the row uniforms were drawn inside and the outputs written
// directly, each path ran a Philox program first and two slices and a cast after (10, 11 and 7 programs); before
// the draws wrote both outputs in one program (runOutputs), 4, 8, 8 and 4.
describeBackends(
  'sampleFromLogits dispatches',
  () => {
    const filters = { topK: 50, topP: 0.9, temperature: 0.7, seed: 1 };
    it('runs 2 programs on the split candidates (by shape, or select: candidates) with a top-k up to 128, 6 on the radix path with a larger top-k list or select: split (rows of 16384 tokens and more)', async () => {
      const wide = randomLogits(2, RADIX_MIN_COLS, 1);
      expect(useRadixDraw(undefined, 2, RADIX_MIN_COLS)).toBe(true);
      // the logits read once: each split's top-k, then the merge and draw, writing the ids and the logprobs
      const attrs = { temperature: 0.7, k: 50, p: 0.9, pMin: 0, seed: 1, offset: 0 };
      expect(await programsOf(() => fusedSampleIdsOp({ logits: wide }, { ...attrs, select: 'candidates' }) as Tensor[])).toEqual([
        'SplitCandidatesProgram',
        'CandidatesDrawProgram',
      ]);
      // by shape, the same; 'split' forces the radix passes, which a top-k past the candidates' cap takes by shape
      expect(await programsOf(call(wide, filters))).toEqual(
        await programsOf(() => fusedSampleIdsOp({ logits: wide }, { ...attrs, select: 'candidates' }) as Tensor[]),
      );
      expect(await programsOf(() => fusedSampleIdsOp({ logits: wide }, { ...attrs, select: 'split' }) as Tensor[])).toEqual(
        await programsOf(call(wide, { ...filters, topK: 129 })),
      );
      expect(await programsOf(call(wide, { ...filters, topK: 129 }))).toEqual([
        'SampleCountPassProgram',
        'SampleRadixPassProgram',
        'SampleRadixPassProgram',
        'SampleRadixPassProgram',
        'SampleRadixLastPassProgram',
        // the draw, writing both outputs
        'RadixListDrawProgram',
      ]);
      // no top-k: the closed forms' radix cut, then the blocked inverse CDF writing both outputs
      expect(await programsOf(call(wide, { topP: 0.9, seed: 1 }))).toEqual([
        'RadixPassProgram',
        'RadixPassProgram',
        'RadixPassProgram',
        'RadixPassProgram',
        'RadixCutProgram',
        'GroupSumsProgram',
        'InverseCdfProgram',
      ]);
      wide.dispose();
    });

    it('runs 3 programs on the one-workgroup path (short rows)', async () => {
      const short = randomLogits(2, 300, 2);
      const expected = ['SelectProgram', 'GroupSumsProgram', 'InverseCdfProgram'];
      expect(await programsOf(call(short, filters))).toEqual(expected);
      expect(await programsOf(call(short, { topP: 0.9, seed: 1, offset: 3 }))).toEqual(expected);
      short.dispose();
    });

    it('draws the uniforms of philoxUniform inside its programs, bit for bit, across 32-bit carries of seed and offset', async () => {
      for (const [seed, offset] of [
        [0, 0],
        [7, 3],
        [2 ** 33 + 5, 2 ** 32 - 3],
        [2 ** 52 + 1, 2 ** 34 - 1],
      ] as const) {
        const rows = 70;
        const ours = runProgram(new RowUniformProgram(rows), [], rowUniformData(seed, offset), 'float32');
        expect(Array.from(await ours.data()), `seed ${seed}, offset ${offset}`).toEqual(Array.from(philoxUniformArray(rows, seed, offset)));
        ours.dispose();
      }
    });

    it("draws the host kernel's ids at offsets across a 32-bit carry, on both paths", async () => {
      const logits = randomLogits(3, 300, 3);
      for (const select of ['row', 'split'] as const) {
        const attrs = { temperature: 1, k: 40, p: 0.95, pMin: 0, select, splits: 2, seed: 2 ** 33 + 1, offset: 2 ** 32 - 2 };
        const [ids, logprobs] = fusedSampleIdsOp({ logits }, attrs) as [Tensor, Tensor];
        const [refIds, refLogprobs] = await onCpu([logits], (x) => fusedSampleIdsOp({ logits: x as Tensor }, attrs) as Tensor[]);
        expect(Array.from(await ids.data()), select).toEqual(refIds);
        await expectAllClose(logprobs, refLogprobs as number[], { atol: 1e-4, message: select });
        tf.dispose([ids, logprobs]);
      }
      logits.dispose();
    });
  },
  { backends: ['webgpu'] },
);

describeBackends(
  'sample dispatches',
  () => {
    it('runs 2 programs: the group sums, then the inverse CDF writing the ids and the logprobs', async () => {
      const q = tf.softmax(randomLogits(3, 5000, 5));
      expect(await programsOf(() => Object.values(sample(q, { seed: 1 })))).toEqual(['GroupSumsProgram', 'InverseCdfProgram']);
      q.dispose();
    });
  },
  { backends: ['webgpu'] },
);
