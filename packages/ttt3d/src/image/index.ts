export { decodePng, encodePng, type LoadPngOptions, loadPng, savePng } from './png.js';
export { type PsnrOptions, psnr } from './psnr.js';
export { ssim } from './ssim.js';
