export { mirrorAscent, type MirrorAscentOptions, type MirrorAscentResult } from './mirror-ascent.js';
