/**
 * GPU entry of the evaluation script (flags of scripts/eval.ts), bundled by ../shared/gpu/pack.sh:
 *   bash .gpu/run.sh eval --weights $OUT/tttlrm/weights --json $OUT/tttlrm-eval.json
 */
import { initBackend } from '@tessera/tensor-core';
import { main } from '../scripts/eval.js';

await initBackend('webgpu');
await main(process.argv.slice(2), true);
