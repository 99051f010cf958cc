import type { BokLmResult, CompareRow, GenerateLmResult } from './part.js';

/** `lm generate`'s summary (the text itself is streamed as it is generated). */
export function formatGenerate(r: GenerateLmResult): string {
  return `decoder ${r.decoder}: ${r.ids.length} bytes, mean log q ${r.meanLogprob.toFixed(3)} (log-probability under the decoder's own distribution q: 0 for greedy)\n${JSON.stringify(r.prompt)} → ${JSON.stringify(r.text)}`;
}

/** `lm compare`'s table: one row per decoder. */
export function formatCompare(r: { prompt: string; rows: CompareRow[] }): string {
  const lines = [
    `next-byte distributions after ${JSON.stringify(r.prompt)}`,
    '| decoder | support | entropy (nats) | KKT residual | sample |',
    '| --- | ---: | ---: | ---: | --- |',
  ];
  for (const row of r.rows) {
    const kkt = row.kktResidual === undefined ? '—' : row.kktResidual.toExponential(1);
    lines.push(`| ${row.decoder} | ${row.support} | ${row.entropy.toFixed(3)} | ${kkt} | ${JSON.stringify(row.sample)} |`);
  }
  return lines.join('\n');
}

/** `lm bok`'s table: coverage and single-sample pass rate per sampler. */
export function formatBok(r: BokLmResult): string {
  const lines = [`K = ${r.k} samples per prompt at T = ${r.temperature}`, '| sampler | coverage | pass rate |', '| --- | ---: | ---: |'];
  for (const row of r.rows) lines.push(`| ${row.sampler} | ${(row.coverage * 100).toFixed(0)}% | ${(row.passRate * 100).toFixed(0)}% |`);
  return lines.join('\n');
}
