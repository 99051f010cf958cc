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
  return { dispatchLayout: { x: outputShape.map((_, i) => i) }, dispatch: [workgroups, 1, 1] };
}

/**
 * One uniform entry per scalar. The backend aligns each entry by its length (a 3- or 4-element entry
 * to 16 bytes, like a vec4), so packing scalars declared as separate `i32`/`u32` fields into one entry
 * would shift them.
 */
export function scalarUniforms(type: UniformType, values: readonly number[]): ProgramUniform[] {
  return values.map((v) => ({ type, data: [v] }));
}
