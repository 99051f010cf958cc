export * from './camera/index.js';
export * from './gaussians/index.js';
export * from './rasterize/index.js';
export * from './ply/index.js';
export * from './image/index.js';
export * from './scenes/index.js';
export * from './fit/index.js';
export * from './lact/index.js';
