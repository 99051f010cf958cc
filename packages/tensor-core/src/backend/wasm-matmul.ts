import { tf } from '../tf.js';

/**
 * tfjs-backend-wasm 4.22's `BatchMatMul` hands a transposed operand to XNNPACK as is, and its transposed paths are
 * 10–50× slower than the plain one (2-core x86, [2048, 128] × [512, 128]ᵀ: 136 ms against 11.7 ms; transposed A:
 * 541 ms). Transposing the operand first with the backend's own `Transpose` costs O(size) — but ~17 ns an element
 * there, so it pays only when the product reuses each element often: when the other side has at least
 * `MIN_REUSE` rows (measured crossover ≈ 20; at 1 × 2048 × 512 the transposed path wins, 1.6 ms against 17.8 ms).
 */
export const MIN_REUSE = 32;

const PATCHED = Symbol.for('tessera.wasmMatMul');

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface KernelArgs {
  inputs: { a: TensorInfo; b: TensorInfo };
  backend: { disposeData(dataId: object): void };
  attrs: { transposeA: boolean; transposeB: boolean };
}

type KernelFunc = (args: { inputs: object; backend: unknown; attrs?: object }) => TensorInfo;

/** The permutation that swaps the last two axes of a rank-`rank` tensor. */
function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1] as number, perm[rank - 2] as number];
  return perm;
}

/**
 * Re-registers the wasm backend's `BatchMatMul` so that a transposed operand is transposed explicitly when the product
 * reuses it enough (`MIN_REUSE`); the result is the same product, in XNNPACK's fast layout. Call after
 * tfjs-backend-wasm is imported and before the backend is initialised (the kernel's `setupFunc` runs then). Idempotent.
 */
export function installWasmMatMul(): void {
  const config = tf.getKernel('BatchMatMul', 'wasm') as (tf.KernelConfig & { [PATCHED]?: true }) | undefined;
  const transposeConfig = tf.getKernel('Transpose', 'wasm');
  if (!config || !transposeConfig || config[PATCHED]) return;
  const original = config.kernelFunc as unknown as KernelFunc;
  const transpose = transposeConfig.kernelFunc as unknown as KernelFunc;
  const kernelFunc = (args: KernelArgs): TensorInfo => {
    const { inputs, backend, attrs } = args;
    let { a, b } = inputs;
    let { transposeA, transposeB } = attrs;
    const temporaries: TensorInfo[] = [];
    const explicit = (x: TensorInfo): TensorInfo => {
      const t = transpose({ inputs: { x }, backend, attrs: { perm: swapLast(x.shape.length) } });
      temporaries.push(t);
      return t;
    };
    // rows of the output reuse every element of B; columns reuse every element of A
    const outRows = transposeA ? (a.shape.at(-1) as number) : (a.shape.at(-2) as number);
    const outCols = transposeB ? (b.shape.at(-2) as number) : (b.shape.at(-1) as number);
    if (transposeB && outRows >= MIN_REUSE) {
      b = explicit(b);
      transposeB = false;
    }
    if (transposeA && outCols >= MIN_REUSE) {
      a = explicit(a);
      transposeA = false;
    }
    try {
      return original({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA, transposeB } });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...config, kernelFunc: kernelFunc as unknown as tf.KernelFunc, [PATCHED]: true } as tf.KernelConfig);
}
