import { logSoftmax, philoxUniform, readSafetensors, softmax, tf, writeSafetensors } from '@tessera/tensor-core';

export interface CoreReport {
  /** Softmax of the embedded logits row, and its sum. */
  probabilities: number[];
  probabilitySum: number;
  /** Largest |log softmax − log(softmax)| over the row. */
  logSoftmaxError: number;
  /** First Philox draws for the seed, and the mean of 65 536 draws. */
  firstUniforms: number[];
  uniformMean: number;
  /** Bytes of the safetensors file written, and whether reading it back gave identical tensors. */
  safetensorsBytes: number;
  safetensorsRoundTrip: boolean;
}

/** A toy vocabulary's logits: the embedded default input of the core part. */
export const DEFAULT_LOGITS = [2.0, 1.0, 0.5, -1.0, -3.0, Number.NEGATIVE_INFINITY];

/** Runs the tensor-core ops end to end on the active backend. */
export async function runCore(seed: number): Promise<CoreReport> {
  const logits = tf.tensor2d([DEFAULT_LOGITS]);
  const p = softmax(logits);
  const lp = logSoftmax(logits);
  const probabilities = Array.from(await p.data());
  const logProbabilities = Array.from(await lp.data());
  let logSoftmaxError = 0;
  probabilities.forEach((q, i) => {
    if (q > 0) logSoftmaxError = Math.max(logSoftmaxError, Math.abs(Math.log(q) - (logProbabilities[i] as number)));
  });

  const u = philoxUniform([65536], { seed });
  const values = await u.data();
  const firstUniforms = Array.from(values.subarray(0, 4));
  let sum = 0;
  for (const v of values) sum += v;
  const uniformMean = sum / values.length;

  const bytes = await writeSafetensors({ logits, probabilities: p }, { metadata: { producer: 'tessera-demo' } });
  const back = readSafetensors(bytes);
  const same = async (a: tf.Tensor, b: tf.Tensor | undefined) =>
    b !== undefined && a.dtype === b.dtype && JSON.stringify(Array.from(await a.data())) === JSON.stringify(Array.from(await b.data()));
  const safetensorsRoundTrip = (await same(logits, back.logits)) && (await same(p, back.probabilities));

  tf.dispose([logits, p, lp, u, ...Object.values(back)]);
  return {
    probabilities,
    probabilitySum: probabilities.reduce((a, b) => a + b, 0),
    logSoftmaxError,
    firstUniforms,
    uniformMean,
    safetensorsBytes: bytes.length,
    safetensorsRoundTrip,
  };
}

export function formatCore(r: CoreReport): string {
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(4)).join(', ');
  return [
    `softmax of [${DEFAULT_LOGITS.join(', ')}]: [${fmt(r.probabilities)}] (sum ${r.probabilitySum.toFixed(6)})`,
    `log-softmax agrees with log(softmax) to ${r.logSoftmaxError.toExponential(2)}`,
    `philox uniforms: [${fmt(r.firstUniforms)}, …], mean of 65536 = ${r.uniformMean.toFixed(4)}`,
    `safetensors: ${r.safetensorsBytes} bytes, round trip ${r.safetensorsRoundTrip ? 'identical' : 'DIFFERENT'}`,
  ].join('\n');
}
