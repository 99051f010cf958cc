/**
 * GPU entry of the tttLRM training script, bundled by ../shared/gpu/pack.sh:
 *   bash /work/shared/gpu/pack.sh packages/ttt3d/gpu/train.ts
 *   # on the device, carrying .gpu: bash .gpu/run.sh train --out $OUT/tttlrm --max-seconds 540 [--resume]
 * initBackend('webgpu') sets up navigator.gpu (Dawn) before the WebGPU backend is imported, as tensor-core does for
 * every entry; the flags are those of scripts/train.ts.
 */
import { initBackend, tf } from '@tessera/tensor-core';
import { main } from '../scripts/train.js';

await initBackend('webgpu');
const device = (tf.backend() as unknown as { adapterInfo?: { description?: string } }).adapterInfo;
console.log(`backend ${tf.getBackend()} ${device?.description ?? ''}`);
await main(process.argv.slice(2), true);
