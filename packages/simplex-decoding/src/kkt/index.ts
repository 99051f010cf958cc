export { kkt, type KktResiduals } from './kkt.js';
export type { KktObjective } from './objective.js';
