export { decodePng, encodePng, type LoadPngOptions, loadPng, MAX_PNG_PIXELS, savePng } from './png.js';
export { type PsnrOptions, psnr } from './psnr.js';
export { ssim } from './ssim.js';
