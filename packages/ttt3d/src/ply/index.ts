export { decodePly } from './decode.js';
export { encodePly } from './encode.js';
export { readPly, writePly } from './file.js';
export { plyProperties } from './layout.js';
