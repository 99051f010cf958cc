import { type Scene, sceneFromArrays } from './scene.js';

/**
 * Three overlapping Gaussians — red on the left, green on the right, blue above and in front, the blue
 * one elongated and tilted 30° about z — centred near the origin within about ±0.8. Fixed (no seed): the
 * smallest scene on which occlusion order and colour mixing are visible.
 */
export function threeGaussians(): Scene {
  const half = Math.PI / 12; // half of a 30° turn about z
  return sceneFromArrays('three-gaussians', {
    means: Float32Array.from([-0.3, 0, 0, 0.3, 0, 0, 0, -0.25, -0.2]),
    scales: Float32Array.from([0.18, 0.18, 0.18, 0.15, 0.22, 0.15, 0.3, 0.08, 0.1]),
    quaternions: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, Math.cos(half), 0, 0, Math.sin(half)]),
    opacities: Float32Array.from([0.9, 0.9, 0.8]),
    colors: Float32Array.from([0.9, 0.1, 0.1, 0.1, 0.85, 0.15, 0.15, 0.2, 0.9]),
  });
}
