/** What the tile loads are generated for: the head dimension, its padded width and the workgroup's threads. */
export interface TileLoadDims {
  d: number;
  dp: number;
  threads: number;
  /**
   * Write the loads out in batches (`unrolledLoad`), or as a loop that stores each value before loading the next.
   * The forward unrolls (its loads were ~60% of its time on the H100); the backward programs, whose six and five
   * load sites unrolled took lavapipe minutes to compile, keep the loop.
   */
  unroll: boolean;
}

/** Floats a thread holds in flight per batch of a tile load: enough to cover the latency, few enough not to spill. */
const FLOATS_IN_FLIGHT = 32;

/**
 * A thread's share of a tile load, unrolled: the global loads of a batch are all issued before its first store to
 * workgroup memory, so a tile costs one memory latency per batch instead of one per loop step (a loop that stores
 * each step's value before loading the next waits out the latency at every step). `load(i, guard)` gives the load
 * of the batch's i-th element (`ld_e${i}` = tid + the batch's first + i·threads, of `total`, `floats` floats each;
 * `guard` is the condition that the element exists, empty where every thread has it) and `store(i, guard)` its store.
 */
function unrolledLoad(
  total: number,
  threads: number,
  floats: number,
  load: (i: number, guard: string) => string,
  store: (i: number, guard: string) => string,
): string {
  const n = Math.ceil(total / threads);
  const perBatch = Math.min(n, Math.max(1, Math.floor(FLOATS_IN_FLIGHT / floats)));
  const batches = Math.ceil(n / perBatch);
  // one batch is written out; more than one loop over it (the code stays one batch long: lavapipe's compile time
  // grows with it), the last batch's missing elements guarded like a partial one
  const exact = batches * perBatch * threads === total;
  const first = batches === 1 ? '0' : `ld_batch * ${perBatch * threads}`;
  const steps = Array.from({ length: perBatch }, (_, i) => i);
  const guard = (i: number) => (exact || (batches === 1 && (i + 1) * threads <= total) ? '' : `ld_e${i} < ${total}`);
  const body = `{
        ${steps.map((i) => `let ld_e${i} = tid + ${first} + ${i * threads};\n        ${load(i, guard(i))}`).join('\n        ')}
        ${steps.map((i) => store(i, guard(i))).join('\n        ')}
      }`;
  return batches === 1 ? body : `for (var ld_batch = 0; ld_batch < ${batches}; ld_batch++) ${body}`;
}

const when = (guard: string, body: string) => (guard === '' ? body : `if (${guard}) { ${body} }`);

/**
 * WGSL statements that stage a tile of `rows` rows (`count` of them valid, the rest zero) of a `[·, HD]`
 * buffer in workgroup memory, in the two layouts the flash programs' 4×4 register tiles read:
 * transposed (`[HD][stride]` vec4s over rows: an operand whose rows a thread owns four of) and row-major
 * (`[rows][DP]`, vec4 over columns, zero past HD). Global loads are coalesced (consecutive threads read
 * consecutive floats of a row). In the transposed layout each thread gathers four rows of one column into
 * a vec4 and stores it whole; `stride` = rows/4 + 1 vec4s per column keeps the stores of consecutive
 * columns in different banks (at rows/4 vec4s, 8 threads of a store phase hit the same banks).
 * `scale` multiplies the values (the softmax scale folded into Q or K).
 */
export function loadTransposed(
  dims: TileLoadDims,
  dst: string,
  src: string,
  base: string,
  rows: number,
  count: string,
  stride: string,
  scale = '',
): string {
  const { d } = dims;
  if (!dims.unroll) {
    return `
      for (var e = tid; e < ${(d * rows) / 4}; e += ${dims.threads}) {
        let dd = e % ${d};
        let r4 = e / ${d};
        let b = ${base} + r4 * ${4 * d} + dd;
        var x = vec4<f32>(0.0);
        if (r4 * 4 < ${count}) { x.x = ${src}[b]; }
        if (r4 * 4 + 1 < ${count}) { x.y = ${src}[b + ${d}]; }
        if (r4 * 4 + 2 < ${count}) { x.z = ${src}[b + ${2 * d}]; }
        if (r4 * 4 + 3 < ${count}) { x.w = ${src}[b + ${3 * d}]; }
        ${dst}[dd * ${stride} + r4] = x${scale};
      }`;
  }
  return unrolledLoad(
    (d * rows) / 4,
    dims.threads,
    4,
    (i, guard) => `let ld_d${i} = ld_e${i} % ${d};
        let ld_r${i} = ld_e${i} / ${d};
        let ld_b${i} = ${base} + ld_r${i} * ${4 * d} + ld_d${i};
        var ld_x${i} = vec4<f32>(0.0);
        ${when(
          guard,
          `if (ld_r${i} * 4 < ${count}) { ld_x${i}.x = ${src}[ld_b${i}]; }
        if (ld_r${i} * 4 + 1 < ${count}) { ld_x${i}.y = ${src}[ld_b${i} + ${d}]; }
        if (ld_r${i} * 4 + 2 < ${count}) { ld_x${i}.z = ${src}[ld_b${i} + ${2 * d}]; }
        if (ld_r${i} * 4 + 3 < ${count}) { ld_x${i}.w = ${src}[ld_b${i} + ${3 * d}]; }`,
        )}`,
    (i, guard) => when(guard, `${dst}[ld_d${i} * ${stride} + ld_r${i}] = ld_x${i}${scale};`),
  );
}

export function loadRows(dims: TileLoadDims, dst: string, src: string, base: string, rows: number, count: string): string {
  const { d, dp } = dims;
  if (!dims.unroll) {
    return `
      for (var e = tid; e < ${rows * dp}; e += ${dims.threads}) {
        let r = e / ${dp};
        let dd = e % ${dp};
        var x = 0.0;
        if (r < ${count} && dd < ${d}) { x = ${src}[${base} + r * ${d} + dd]; }
        ${dst}[r * ${dp / 4} + dd / 4][dd % 4] = x;
      }`;
  }
  return unrolledLoad(
    rows * dp,
    dims.threads,
    1,
    (i, guard) => `let ld_r${i} = ld_e${i} / ${dp};
        let ld_d${i} = ld_e${i} % ${dp};
        var ld_x${i} = 0.0;
        ${when(guard, `if (ld_r${i} < ${count} && ld_d${i} < ${d}) { ld_x${i} = ${src}[${base} + ld_r${i} * ${d} + ld_d${i}]; }`)}`,
    (i, guard) => when(guard, `${dst}[ld_r${i} * ${dp / 4} + ld_d${i} / 4][ld_d${i} % 4] = ld_x${i};`),
  );
}
