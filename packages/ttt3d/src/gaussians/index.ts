export { type FieldRecord, type FromPointsOptions, GAUSSIAN_FIELDS, type GaussianFields, Gaussians } from './gaussians.js';
export { dcToRgb, MAX_SH_DEGREE, rgbToDc, SH_C0, shCoefficients, shDegreeOf } from './sh.js';
