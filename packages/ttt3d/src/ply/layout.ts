import { shCoefficients } from '../gaussians/sh.js';

/**
 * Vertex property names of the standard 3DGS .ply for SH degree `degree`, in file order, as graphdeco's
 * `GaussianModel.construct_list_of_attributes` lists them: x y z nx ny nz f_dc_0..2
 * f_rest_0..3·((degree + 1)² − 1) − 1 opacity scale_0..2 rot_0..3. Every property is a float32.
 * `degree` is an integer 0–3.
 */
export function plyProperties(degree: number): string[] {
  const rest = 3 * (shCoefficients(degree) - 1);
  return [
    'x',
    'y',
    'z',
    'nx',
    'ny',
    'nz',
    'f_dc_0',
    'f_dc_1',
    'f_dc_2',
    ...Array.from({ length: rest }, (_, i) => `f_rest_${i}`),
    'opacity',
    'scale_0',
    'scale_1',
    'scale_2',
    'rot_0',
    'rot_1',
    'rot_2',
    'rot_3',
  ];
}
