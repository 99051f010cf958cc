export type { SafetensorsDtype } from './dtypes.js';
export { loadSafetensors, saveSafetensors } from './file.js';
export { readSafetensors, readSafetensorsMetadata } from './read.js';
export { type WriteSafetensorsOptions, writeSafetensors } from './write.js';
