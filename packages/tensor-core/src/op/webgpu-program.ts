import { checkRange, checkSizes, type RangeSpec } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';

/**
 * The shape of a program that tfjs' WebGPU backend runs (its `WebGPUProgram` interface, restated here so
 * kernels need no deep import, which Node cannot load). The backend prepends the preamble: bindings for
 * `result` and each of `variableNames`, `uniforms` (shapes, strides, `size` when asked, then `uniforms`),
 * the builtins `localId`, `localIndex`, `workgroupId`, `numWorkgroups`, `globalId`.
 */
export interface WebGPUProgram {
  outputShape: number[];
  /** Part of the pipeline cache key: must encode everything `getUserCode` depends on. */
  shaderKey: string;
  variableNames: string[];
  workgroupSize: [number, number, number];
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  uniforms?: string;
  size?: boolean;
  atomic?: boolean;
  outputComponent?: number;
  variableComponents?: number[];
  getUserCode(): string;
}

export type UniformType = 'float32' | 'int32' | 'uint32';

const UNIFORM_RANGES: Record<string, RangeSpec | undefined> = {
  float32: {},
  int32: { min: -(2 ** 31), max: 2 ** 31 - 1, integer: true },
  uint32: { min: 0, max: 2 ** 32 - 1, integer: true },
};
export interface ProgramUniform {
  type: UniformType;
  data: number[];
}

/**
 * WGSL for the flat index of the current workgroup. The backend reshapes dispatches wider than the
 * device's per-dimension limit (65535) into two or three dimensions, so `workgroupId.x` alone is wrong
 * for large grids.
 */
export const LINEAR_WORKGROUP_INDEX = `
  fn linearWorkgroupIndex() -> u32 {
    return workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x;
  }
`;

/** A one-dimensional grid of `workgroups` workgroups, laid out as the backend expects. */
export function flatGrid(outputShape: number[], workgroups: number): Pick<WebGPUProgram, 'dispatchLayout' | 'dispatch'> {
  checkSizes(outputShape, 'outputShape');
  // the backend folds a grid wider than 65535 into a second and third dimension
  checkRange(workgroups, { min: 1, max: 65535 * 65535, integer: true }, 'workgroups');
  return { dispatchLayout: { x: outputShape.map((_, i) => i) }, dispatch: [workgroups, 1, 1] };
}

/**
 * One uniform entry per scalar. The backend aligns each entry by its length (a 3- or 4-element entry
 * to 16 bytes, like a vec4), so packing scalars declared as separate `i32`/`u32` fields into one entry
 * would shift them.
 */
export function scalarUniforms(type: UniformType, values: readonly number[]): ProgramUniform[] {
  const range = UNIFORM_RANGES[type];
  if (range === undefined)
    throw new ValueError(`type: expected one of ${Object.keys(UNIFORM_RANGES).join(', ')}, received ${describeValue(type)}`);
  if (!Array.isArray(values)) throw new ValueError(`values: expected an array of numbers, received ${describeValue(values)}`);
  values.forEach((v, i) => {
    checkRange(v, range, `values[${i}]`);
  });
  return values.map((v) => ({ type, data: [v] }));
}
