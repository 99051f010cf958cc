export { rasterize, rasterizeReference, type RasterizeOptions, type RasterizeResult } from './rasterize.js';
