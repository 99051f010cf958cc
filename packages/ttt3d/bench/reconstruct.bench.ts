import { philoxUniform, type Tensor } from '@tessera/tensor-core';
import { bench, type BenchResult, type BenchRow, compare, defineBench, kernelProfile } from '@tessera/tensor-core/bench';
import { DEFAULT_TTTLRM_CONFIG, TTTLRM, type TTTLRMConfig } from '../src/tttlrm/index.js';
import { orbitCameras } from '../src/camera/index.js';

/** Timing for a call of tens of ms to seconds: fixed rounds, one call each. */
const SLOW = { warmup: 1, warmupMs: 0, rounds: 3, iterations: 1 };

/**
 * tttLRM reconstruction time against the number of input views (the paper's point: fast weights make it linear in
 * the views, where joint attention over all views would be quadratic). One row per view count V: `forward` (encode V
 * views through the LaCT blocks, decode V virtual views = the input cameras, V·H·W Gaussians) against the 4-view
 * forward, so a speed-up of 4/V is exactly linear. Weights are the default config's initialisation: the time does not
 * depend on training. Full on WebGPU: 4…64 views at 128² and 256² (the target: 64 views at 256² in < 2 s);
 * otherwise a 32² model of width 32 at 2 and 4 views.
 */
export default defineBench({
  name: 'tttlrm-reconstruct',
  async run({ backend, size, log }) {
    const full = size === 'full' && backend === 'webgpu';
    const sizes = full ? [128, 256] : [32];
    const views = full ? [4, 8, 16, 32, 64] : [2, 4];
    const rows: BenchRow[] = [];
    for (const px of sizes) {
      const config: Partial<TTTLRMConfig> = full ? { imageSize: px } : { imageSize: px, width: 32, depth: 2, attentionHeadDim: 16 };
      const model = new TTTLRM(config);
      const c = model.config;
      log(`tttLRM width ${c.width} depth ${c.depth} (default ${DEFAULT_TTTLRM_CONFIG.width}×${DEFAULT_TTTLRM_CONFIG.depth}) at ${px}²`);
      let base: BenchResult | undefined;
      for (const v of views) {
        const cameras = orbitCameras(v, { radius: 2.2, elevation: 0.3, fov: 0.8, size: px });
        const images: Tensor = philoxUniform([v, px, px, 3], { seed: v, low: 0, high: 1 });
        const r = await bench(
          `reconstruct ${v} views`,
          () => {
            const g = model.forward(images, cameras);
            return [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh];
          },
          SLOW,
        );
        log(
          `  ${v} views: ${r.median.toFixed(1)} ms (${(r.median / v).toFixed(2)} ms a view, ${(v * px * px).toLocaleString('en')} Gaussians)`,
        );
        base ??= r;
        rows.push(compare('tttLRM forward (encode + decode)', `${v} views ${px}²`, `${views[0]} views`, base, r));
        // at the target size, where the time goes: tfjs kernels and Tessera ops, then WGSL programs
        if (full && px === 256 && v === views.at(-1)) {
          const forward = () => {
            const g = model.forward(images, cameras);
            return [g.means, g.logScales, g.quaternions, g.opacityLogits, g.sh];
          };
          rows.push(...(await kernelProfile(`tttLRM forward by kernel`, `${v} views ${px}²`, forward, { top: 15 })));
          rows.push(...(await kernelProfile(`tttLRM forward by program`, `${v} views ${px}²`, forward, { by: 'program', top: 15 })));
        }
        images.dispose();
      }
      model.dispose();
    }
    return rows;
  },
});
