import { describe, expect, it } from 'vitest';
import { pixelScaleOffset } from '../scripts/data.js';
import { parseTrainArgs, RUN_CONFIG, TINY } from '../scripts/train.js';

describe('parseTrainArgs', () => {
  it('adds the run config and a one-pixel scale offset for the run image size', () => {
    const o = parseTrainArgs(['--out', 'w', '--config', '{"imageSize":64}']);
    expect(o.config).toMatchObject({ ...RUN_CONFIG, imageSize: 64 });
    expect(o.config?.scaleOffset).toBeCloseTo(Math.log(64 / (4 * Math.tan(0.4))), 10);
    expect(pixelScaleOffset(128)).toBeCloseTo(4.33, 2);
    expect(o.steps).toBe(2000);
    expect(Object.keys(o)).not.toContain('lr');
  });

  it('skips the `--` that pnpm passes on from `pnpm --filter @tessera/ttt3d train -- …`', () => {
    expect(parseTrainArgs(['--', '--out', 'w', '--lr', '0.001'])).toEqual(parseTrainArgs(['--out', 'w', '--lr', '0.001']));
    expect(parseTrainArgs(['--', '--out', 'w']).out).toBe('w');
  });

  it('lets --config restore the authors\u2019 ray-only queries and scale offset', () => {
    const o = parseTrainArgs(['--out', 'w', '--config', '{"virtualColour":false,"scaleOffset":2.3}']);
    expect(o.config).toMatchObject({ virtualColour: false, scaleOffset: 2.3 });
  });

  it('falls back to the --tiny preset, then to explicit flags', () => {
    const o = parseTrainArgs(['--out', 'w', '--tiny', '--input-views', '5', '--lr', '1e-3']);
    expect(o).toMatchObject({ steps: TINY.steps, inputViews: 5, targetViews: TINY.targetViews, lr: 1e-3 });
  });

  it('reads the loss weights, --lambda-alpha among them', () => {
    const o = parseTrainArgs(['--out', 'w', '--lambda-alpha', '0.5', '--lambda-ray-depth', '0.3']);
    expect(o).toMatchObject({ lambdaAlpha: 0.5, lambdaRayDepth: 0.3 });
    expect(Object.keys(parseTrainArgs(['--out', 'w']))).not.toContain('lambdaAlpha');
    expect(() => parseTrainArgs(['--out', 'w', '--lambda-alpha', 'x'])).toThrow(/--lambda-alpha.*x/);
  });

  it('reads a list of input-view counts', () => {
    expect(parseTrainArgs(['--out', 'w', '--input-views', '4,8,16,32']).inputViews).toEqual([4, 8, 16, 32]);
    expect(() => parseTrainArgs(['--out', 'w', '--input-views', '4,0'])).toThrow(/--input-views.*4,0/);
  });

  it('names the flag and the received value in its errors', () => {
    expect(() => parseTrainArgs(['--out', 'w', '--bogus', '1'])).toThrow(/unknown flag --bogus/);
    expect(() => parseTrainArgs(['--out', 'w', '--lr', 'fast'])).toThrow(/--lr.*fast/);
    expect(() => parseTrainArgs(['--tiny'])).toThrow(/--out DIR is required/);
  });
});
