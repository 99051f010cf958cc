// results.json of the sparse-distillation study → the bench/results JSON of its attention timing (stdout).
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const t = r.timing;
if (!t) throw new Error(`${process.argv[2]}: no timing (run the evaluation with --timing, as gpu/train-sparse.ts does)`);
const ms = (median) => ({ median });
const rows = t.rows.map((row) => ({
  workload: `spargeAttention (hybrid mask topK ${r.finetune.topK}, topP ${r.finetune.topP}; mask included) vs dense flash attention, DiT layer 0 activations`,
  shape: `${row.batch}x${t.shape.heads}x${t.shape.length}x${t.shape.headDim}`,
  baselineName: 'our dense flash',
  ours: { name: 'spargeAttention', ...ms(row.sparseMs) },
  baseline: { name: 'attention', ...ms(row.denseMs) },
  speedup: row.speedup,
  sparsity: row.sparsity,
  maskMs: row.maskMs,
}));
rows.push({
  workload: 'DiT velocity forward (4 blocks, W = 128): sparse student vs dense teacher',
  shape: `${t.forward.batch}x2048x12`,
  baselineName: 'dense teacher',
  ours: { name: 'sparse', ...ms(t.forward.sparseMs) },
  baseline: { name: 'dense', ...ms(t.forward.denseMs) },
  speedup: t.forward.denseMs / t.forward.sparseMs,
});
console.log(
  JSON.stringify(
    { date: r.date, backend: r.backend, adapter: r.device, source: 'apps/demo train:sparse (gpu/train-sparse.ts)', rows },
    null,
    2,
  ),
);
