import type * as tfjs from '@tensorflow/tfjs';

/**
 * tfjs-backend-cpu 4.22 moves data in `Slice` (non-contiguous), `SplitV`, `PadV2`, `Transpose`, `Tile` and
 * `GatherV2` one element at a time through `indexToLoc`/`locToIndex` (≈ 0.3–0.7 µs an element in Node), and its
 * `UnsortedSegmentSum` (the gradient of every gather, e.g. an embedding) runs four kernels per segment over the whole
 * input. In a small model's training step those copies dominate: a 51k-parameter byte LM spent 1.4 s a step on the
 * cpu backend, most of it in slices of [4, 35, 32] tensors (3 ms each). These re-registered kernels compute the same
 * values with contiguous runs (`TypedArray.set`) and one accumulation pass. Strings and complex numbers keep the
 * original kernels.
 */

const PATCHED = Symbol.for('tessera.cpuKernels');
/** The config key under which the replaced kernel function stays reachable (the tests compare the two). */
export const ORIGINAL = Symbol.for('tessera.cpuKernels.original');

type Values = Float32Array | Int32Array | Uint8Array;

interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: string;
}

interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: string, values: Values): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: CpuBackend;
  attrs: Record<string, unknown>;
}

type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d] as number;
  }
  return out;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function values(backend: CpuBackend, t: TensorInfo): Values | undefined {
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array ? v : undefined;
}

function allocate(like: Values, n: number): Values {
  return new (like.constructor as { new (n: number): Values })(n);
}

/** Below this many elements a plain loop beats `subarray` + `set`. */
const SET_FROM = 16;

/**
 * Copies the box of extents `box` at `srcBegin` in `src` (shape `srcShape`) to `dstBegin` in `dst` (shape
 * `dstShape`). Trailing axes that the box covers in both tensors merge into one contiguous run, so the loop
 * runs once per run, not per element. `src` and `dst` may be one array if the two boxes do not overlap.
 */
export function copyBox(
  src: Values,
  srcShape: readonly number[],
  srcBegin: readonly number[],
  dst: Values,
  dstShape: readonly number[],
  dstBegin: readonly number[],
  box: readonly number[],
): void {
  const rank = box.length;
  if (size(box) === 0) return;
  const ss = strides(srcShape);
  const ds = strides(dstShape);
  let s = 0;
  let t = 0;
  for (let d = 0; d < rank; d++) {
    s += (srcBegin[d] as number) * (ss[d] as number);
    t += (dstBegin[d] as number) * (ds[d] as number);
  }
  if (rank === 0) {
    dst[t] = src[s] as number;
    return;
  }
  // axes inner.. are one run: every axis after `inner` is whole in both tensors
  let inner = rank - 1;
  let run = box[inner] as number;
  while (inner > 0 && box[inner] === srcShape[inner] && box[inner] === dstShape[inner]) {
    inner--;
    run *= box[inner] as number;
  }
  const index = new Array<number>(inner).fill(0);
  const outer = size(box.slice(0, inner));
  for (let n = 0; n < outer; n++) {
    if (run >= SET_FROM) dst.set(src.subarray(s, s + run), t);
    else for (let j = 0; j < run; j++) dst[t + j] = src[s + j] as number;
    for (let d = inner - 1; d >= 0; d--) {
      const extent = box[d] as number;
      index[d] = (index[d] as number) + 1;
      s += ss[d] as number;
      t += ds[d] as number;
      if ((index[d] as number) < extent) break;
      index[d] = 0;
      s -= extent * (ss[d] as number);
      t -= extent * (ds[d] as number);
    }
  }
}

function sliceValues(x: Values, shape: readonly number[], begin: readonly number[], box: readonly number[]): Values {
  const out = allocate(x, size(box));
  copyBox(x, shape, begin, out, box, new Array<number>(box.length).fill(0), box);
  return out;
}

function slice(original: KernelFunc, tf: typeof tfjs): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const vals = values(args.backend, x);
    if (!vals || x.dtype === 'complex64') return original(args);
    const [begin, box] = tf.slice_util.parseSliceParams(
      x as unknown as tfjs.Tensor,
      args.attrs.begin as number[],
      args.attrs.size as number[],
    ) as [number[], number[]];
    // tfjs' kernel validates the range and answers a contiguous slice with a view of the input, which it keeps
    if (
      tf.slice_util.isSliceContinous(x.shape, begin, box) ||
      begin.some((b, d) => b < 0 || b + (box[d] as number) > (x.shape[d] as number))
    ) {
      return original(args);
    }
    return args.backend.makeTensorInfo(box, x.dtype, sliceValues(vals, x.shape, begin, box));
  };
}

function splitV(original: KernelFunc, tf: typeof tfjs): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const vals = values(args.backend, x);
    if (!vals || x.dtype === 'complex64') return original(args);
    const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0] as number;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tfjs.Tensor, args.attrs.numOrSizeSplits as number[], axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const box = [...x.shape];
      box[axis] = s;
      const part = args.backend.makeTensorInfo(box, x.dtype, sliceValues(vals, x.shape, begin, box));
      begin[axis] = (begin[axis] as number) + s;
      return part;
    });
  };
}

function padV2(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const vals = values(args.backend, x);
    if (!vals || x.dtype === 'complex64') return original(args);
    const paddings = args.attrs.paddings as [number, number][];
    const outShape = paddings.map(([before, after], d) => before + (x.shape[d] as number) + after);
    const out = allocate(vals, size(outShape));
    const fill = args.attrs.constantValue as number;
    if (fill !== 0) out.fill(fill);
    copyBox(
      vals,
      x.shape,
      new Array<number>(x.shape.length).fill(0),
      out,
      outShape,
      paddings.map(([before]) => before),
      x.shape,
    );
    return args.backend.makeTensorInfo(outShape, x.dtype, out);
  };
}

function transpose(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const vals = values(args.backend, x);
    if (!vals || x.dtype === 'complex64') return original(args);
    const perm = args.attrs.perm as number[];
    return args.backend.makeTensorInfo(
      perm.map((p) => x.shape[p] as number),
      x.dtype,
      transposeValues(vals, x.shape, perm),
    );
  };
}

function tile(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const vals = values(args.backend, x);
    if (!vals || x.dtype === 'complex64') return original(args);
    const reps = args.attrs.reps as number[];
    const rank = x.shape.length;
    const outShape = x.shape.map((d, i) => d * (reps[i] as number));
    const out = allocate(vals, size(outShape));
    const zeros = new Array<number>(rank).fill(0);
    copyBox(vals, x.shape, zeros, out, outShape, zeros, x.shape);
    // innermost axis first: the block [0, shape[d]) along d, already repeated along every later axis, is copied
    // to each further repetition along d
    for (let d = rank - 1; d >= 0; d--) {
      const box = outShape.map((o, i) => (i < d ? (x.shape[i] as number) : i === d ? (x.shape[d] as number) : o));
      for (let r = 1; r < (reps[d] as number); r++) {
        const at = zeros.slice();
        at[d] = r * (x.shape[d] as number);
        copyBox(out, outShape, zeros, out, outShape, at, box);
      }
    }
    return args.backend.makeTensorInfo(outShape, x.dtype, out);
  };
}

function gatherV2(original: KernelFunc, tf: typeof tfjs): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const indices = args.inputs.indices as TensorInfo;
    const vals = values(args.backend, x);
    const ids = values(args.backend, indices);
    if (!vals || !ids || x.dtype === 'complex64') return original(args);
    const axis = tf.util.parseAxisParam(args.attrs.axis as number, x.shape)[0] as number;
    const dim = x.shape[axis] as number;
    for (const index of ids) {
      // the message of tfjs' own kernel
      tf.util.assert(index <= dim - 1 && index >= 0, () => `GatherV2: the index value ${index} is not in [0, ${dim - 1}]`);
    }
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
      x as unknown as tfjs.Tensor,
      indices as unknown as tfjs.Tensor,
      axis,
      (args.attrs.batchDims as number | undefined) ?? 0,
    );
    const { batchSize, outerSize, dimSize, sliceSize } = info;
    const per = ids.length / batchSize;
    const out = allocate(vals, batchSize * outerSize * per * sliceSize);
    let o = 0;
    for (let b = 0; b < batchSize; b++)
      for (let r = 0; r < outerSize; r++) {
        const base = (b * outerSize + r) * dimSize;
        for (let i = 0; i < per; i++, o += sliceSize) {
          const s = (base + (ids[b * per + i] as number)) * sliceSize;
          if (sliceSize >= SET_FROM) out.set(vals.subarray(s, s + sliceSize), o);
          else for (let j = 0; j < sliceSize; j++) out[o + j] = vals[s + j] as number;
        }
      }
    return args.backend.makeTensorInfo(info.outputShape, x.dtype, out);
  };
}

function unsortedSegmentSum(original: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const segmentIds = args.inputs.segmentIds as TensorInfo;
    const vals = values(args.backend, x);
    const ids = values(args.backend, segmentIds);
    // tfjs' kernel multiplies by a float32 mask, so its result is float32 whatever x is: only float32 is redone
    if (!(vals instanceof Float32Array) || !ids) return original(args);
    const segments = args.attrs.numSegments as number;
    const inner = ids.length === 0 ? 0 : vals.length / ids.length;
    const outShape = [segments, ...x.shape.slice(segmentIds.shape.length)];
    const out = new Float32Array(segments * inner);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      // ids outside [0, numSegments) match no segment, as in tfjs
      if (!(id >= 0 && id < segments)) continue;
      const s = i * inner;
      const t = id * inner;
      for (let j = 0; j < inner; j++) out[t + j] = (out[t + j] as number) + (vals[s + j] as number);
    }
    return args.backend.makeTensorInfo(outShape, 'float32', out);
  };
}

function unpack(original: KernelFunc): KernelFunc {
  return (args) => {
    const value = args.inputs.value as TensorInfo;
    const vals = values(args.backend, value);
    if (!vals || value.dtype === 'complex64') return original(args);
    const rank = value.shape.length;
    const axis = (args.attrs.axis as number) < 0 ? (args.attrs.axis as number) + rank : (args.attrs.axis as number);
    const outShape = value.shape.filter((_, d) => d !== axis);
    const box = value.shape.map((d, i) => (i === axis ? 1 : d));
    const begin = new Array<number>(rank).fill(0);
    const parts: TensorInfo[] = [];
    for (let i = 0; i < (value.shape[axis] as number); i++) {
      begin[axis] = i;
      parts.push(args.backend.makeTensorInfo(outShape, value.dtype, sliceValues(vals, value.shape, begin, box)));
    }
    return parts;
  };
}

/** The values of `x` with its axes permuted (`perm[i]` is the input axis of output axis i). */
function transposeValues(vals: Values, shape: readonly number[], perm: readonly number[]): Values {
  const rank = shape.length;
  const out = allocate(vals, vals.length);
  if (rank === 0 || vals.length === 0) {
    out.set(vals);
    return out;
  }
  const outShape = perm.map((p) => shape[p] as number);
  const xs = strides(shape);
  // the input stride of each output axis: the output is written in order, the input read by an odometer
  const step = perm.map((p) => xs[p] as number);
  const last = rank - 1;
  const n = outShape[last] as number;
  const lastStep = step[last] as number;
  const index = new Array<number>(last).fill(0);
  let s = 0;
  let o = 0;
  const rows = vals.length / n;
  for (let r = 0; r < rows; r++) {
    for (let j = 0, k = s; j < n; j++, k += lastStep) out[o++] = vals[k] as number;
    for (let d = last - 1; d >= 0; d--) {
      index[d] = (index[d] as number) + 1;
      s += step[d] as number;
      if ((index[d] as number) < (outShape[d] as number)) break;
      s -= (outShape[d] as number) * (step[d] as number);
      index[d] = 0;
    }
  }
  return out;
}

/**
 * tfjs' cpu reductions over axes that are not the innermost first transpose with the element-wise kernel imported
 * directly (not through the registry): here the transposition uses `transposeValues`, and the original kernel
 * then reduces the innermost axes, in the same order, so the values are the same.
 */
function innermostReduction(original: KernelFunc, tf: typeof tfjs, axisKey: 'axis' | 'reductionIndices'): KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const vals = values(args.backend, x);
    if (!vals || x.dtype === 'complex64') return original(args);
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(args.attrs[axisKey] as number | number[], x.shape);
    const perm = tf.backend_util.getAxesPermutation(axes, rank);
    if (perm === null) return original(args);
    const moved = args.backend.makeTensorInfo(
      perm.map((p) => x.shape[p] as number),
      x.dtype,
      transposeValues(vals, x.shape, perm),
    );
    try {
      const inner = tf.backend_util.getInnerMostAxes(axes.length, rank);
      const reduced = original({
        ...args,
        inputs: { ...args.inputs, x: moved },
        attrs: { ...args.attrs, [axisKey]: inner, keepDims: false },
      }) as TensorInfo;
      if (args.attrs.keepDims !== true) return reduced;
      const kept = args.backend.makeTensorInfo(
        tf.backend_util.expandShapeToKeepDim(reduced.shape, axes),
        reduced.dtype,
        args.backend.data.get(reduced.dataId).values as Values,
      );
      args.backend.disposeIntermediateTensorInfo(reduced);
      return kept;
    } finally {
      args.backend.disposeIntermediateTensorInfo(moved);
    }
  };
}

type Row = (
  a: Float32Array,
  ia: number,
  da: number,
  b: Float32Array,
  ib: number,
  db: number,
  out: Float32Array,
  o: number,
  n: number,
) => void;

/** One output row of each float32 binary kernel: a and b read with strides da, db (0 where broadcast). */
const ROWS: Record<string, Row> = {
  Add: (a, ia, da, b, ib, db, out, o, n) => {
    for (let j = 0; j < n; j++, ia += da, ib += db) out[o + j] = (a[ia] as number) + (b[ib] as number);
  },
  Sub: (a, ia, da, b, ib, db, out, o, n) => {
    for (let j = 0; j < n; j++, ia += da, ib += db) out[o + j] = (a[ia] as number) - (b[ib] as number);
  },
  Multiply: (a, ia, da, b, ib, db, out, o, n) => {
    for (let j = 0; j < n; j++, ia += da, ib += db) out[o + j] = (a[ia] as number) * (b[ib] as number);
  },
  RealDiv: (a, ia, da, b, ib, db, out, o, n) => {
    for (let j = 0; j < n; j++, ia += da, ib += db) out[o + j] = (a[ia] as number) / (b[ib] as number);
  },
};

/** The strides of `shape` read as a tensor of `outShape` (right-aligned, 0 on broadcast axes). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = strides(shape);
  const lead = outShape.length - shape.length;
  return outShape.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : (own[d - lead] as number)));
}

/**
 * tfjs' cpu binary kernels call the operation through a closure per element and, where an input is broadcast,
 * compute both input indices through `indexToLoc`/`locToIndex`. For two float32 inputs these rows compute the same
 * float64 operation, rounded to float32 as tfjs does, one row at a time.
 */
function binary(name: string, original: KernelFunc, tf: typeof tfjs): KernelFunc {
  const row = ROWS[name] as Row;
  return (args) => {
    const a = args.inputs.a as TensorInfo;
    const b = args.inputs.b as TensorInfo;
    const av = values(args.backend, a);
    const bv = values(args.backend, b);
    if (!(av instanceof Float32Array) || !(bv instanceof Float32Array) || a.dtype !== 'float32' || b.dtype !== 'float32')
      return original(args);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = new Float32Array(size(outShape));
    const rank = outShape.length;
    if (rank === 0 || out.length === 0) {
      if (out.length > 0) row(av, 0, 0, bv, 0, 0, out, 0, 1);
      return args.backend.makeTensorInfo(outShape, 'float32', out);
    }
    const sa = broadcastStrides(a.shape, outShape);
    const sb = broadcastStrides(b.shape, outShape);
    const da = sa[rank - 1] as number;
    const db = sb[rank - 1] as number;
    // an outer axis joins the row while each input continues it: contiguously (stride 1 along the row) or
    // broadcast along both
    let inner = rank - 1;
    let n = outShape[inner] as number;
    while (inner > 0 && sa[inner - 1] === da * n && sb[inner - 1] === db * n) {
      inner--;
      n *= outShape[inner] as number;
    }
    const index = new Array<number>(inner).fill(0);
    let ia = 0;
    let ib = 0;
    for (let o = 0; o < out.length; o += n) {
      row(av, ia, da, bv, ib, db, out, o, n);
      for (let d = inner - 1; d >= 0; d--) {
        index[d] = (index[d] as number) + 1;
        ia += sa[d] as number;
        ib += sb[d] as number;
        if ((index[d] as number) < (outShape[d] as number)) break;
        index[d] = 0;
        ia -= (outShape[d] as number) * (sa[d] as number);
        ib -= (outShape[d] as number) * (sb[d] as number);
      }
    }
    return args.backend.makeTensorInfo(outShape, 'float32', out);
  };
}

/**
 * Re-registers the cpu backend's `Slice`, `SplitV`, `PadV2`, `Transpose`, `Tile`, `GatherV2` and
 * `UnsortedSegmentSum` with run-copying versions (same values, same errors). Idempotent; a no-op where the cpu
 * backend's kernels are not registered.
 */
export function installCpuKernels(tf: typeof tfjs): void {
  const patches: [string, (original: KernelFunc) => KernelFunc][] = [
    ['Slice', (o) => slice(o, tf)],
    ['SplitV', (o) => splitV(o, tf)],
    ['PadV2', padV2],
    ['Transpose', transpose],
    ['Tile', tile],
    ['GatherV2', (o) => gatherV2(o, tf)],
    ['UnsortedSegmentSum', unsortedSegmentSum],
    ['Unpack', unpack],
    // tfjs names Max's axes `reductionIndices`, the others' `axis`
    ...(['Sum', 'Max', 'Min', 'Prod', 'Any', 'All'] as const).map((n): [string, (o: KernelFunc) => KernelFunc] => [
      n,
      (o) => innermostReduction(o, tf, n === 'Max' ? 'reductionIndices' : 'axis'),
    ]),
    ...Object.keys(ROWS).map((n): [string, (o: KernelFunc) => KernelFunc] => [n, (o) => binary(n, o, tf)]),
  ];
  for (const [name, patch] of patches) {
    const config = tf.getKernel(name, 'cpu') as (tfjs.KernelConfig & { [PATCHED]?: true }) | undefined;
    if (!config || config[PATCHED]) continue;
    const kernelFunc = patch(config.kernelFunc as unknown as KernelFunc);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({
      ...config,
      kernelFunc: kernelFunc as unknown as tfjs.KernelFunc,
      [PATCHED]: true,
      [ORIGINAL]: config.kernelFunc,
    } as tfjs.KernelConfig);
  }
}
