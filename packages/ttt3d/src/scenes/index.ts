export { type BunnyOptions, bunny } from './bunny.js';
export { type ColoredPrimitivesOptions, coloredPrimitives } from './colored-primitives.js';
export type { Scene } from './scene.js';
export { type TexturedSphereOptions, texturedSphere } from './textured-sphere.js';
export { MAX_SCENE_GAUSSIANS } from './surface.js';
export { threeGaussians } from './three-gaussians.js';
