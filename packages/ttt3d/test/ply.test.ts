import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { philoxUniform, tf, ValueError } from '@tessera/tensor-core';
import { expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gaussians } from '../src/gaussians/index.js';
import { decodePly, encodePly, plyProperties, readPly, writePly } from '../src/ply/index.js';
import { DEGREE1, HAND_ROWS, handPly } from './cases.js';

function shExpected(): number[] {
  const out: number[] = [];
  for (const n of [0, 1]) for (let k = 0; k < 4; k++) for (let c = 0; c < 3; c++) out.push(100 * n + 10 * k + c);
  return out;
}

describe('plyProperties', () => {
  it('lists the 62 graphdeco properties for SH degree 3 and 17 for degree 0', () => {
    expect(plyProperties(3)).toHaveLength(62);
    expect(plyProperties(0)).toEqual(
      'x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3'.split(' '),
    );
    expect(plyProperties(1)).toEqual(DEGREE1.map(([, name]) => name));
  });
});

describe('decodePly', () => {
  it('reads a hand-built 3DGS file, un-flattening f_rest channel-major', async () => {
    const g = decodePly(handPly(DEGREE1, HAND_ROWS));
    expect([g.count, g.shDegree]).toEqual([2, 1]);
    await expectAllClose(g.means, [0.5, 0, 0.25, 1.5, -1, 2.25]);
    await expectAllClose(g.sh, shExpected());
    await expectAllClose(g.opacityLogits, [-1.5, -0.5]);
    await expectAllClose(g.logScales, [-2, -3, -4, -3, -3, -4]);
    await expectAllClose(g.quaternions, [1, 0, -0.25, 2, 1, 0.5, -0.25, 2]);
    g.dispose();
  });

  it('finds properties by name, skipping extra properties, other elements and comments', async () => {
    const props: [string, string][] = [...DEGREE1.slice(3).reverse(), ['uchar', 'red'], ['double', 'extra'], ...DEGREE1.slice(0, 3)];
    const rows = HAND_ROWS.map((r) => [...r.slice(3).reverse(), 255, 1e300, ...r.slice(0, 3)]);
    const body = handPly(props, rows);
    // put a comment line and a data-less element before the vertex element
    const text = new TextDecoder('latin1').decode(body);
    const patched = text.replace(
      'format binary_little_endian 1.0\n',
      'format binary_little_endian 1.0\ncomment made by hand\nelement camera 0\nproperty float fx\n',
    );
    const bytes = Uint8Array.from(patched, (ch) => ch.charCodeAt(0));
    const g = decodePly(bytes);
    await expectAllClose(g.sh, shExpected());
    await expectAllClose(g.means, [0.5, 0, 0.25, 1.5, -1, 2.25]);
    g.dispose();
  });
});

describe('encodePly', () => {
  it('writes exactly the bytes of the hand-built file (header and records)', async () => {
    const g = decodePly(handPly(DEGREE1, HAND_ROWS));
    expect(await encodePly(g)).toEqual(handPly(DEGREE1, HAND_ROWS));
    g.dispose();
  });

  it('round-trips every value bit for bit, −0 and tiny values included, for each SH degree', async () => {
    for (const degree of [0, 1, 2, 3]) {
      const k = (degree + 1) ** 2;
      const fields = tf.tidy(() => ({
        means: philoxUniform([5, 3], { seed: degree, low: -0.5, high: 0.5 }),
        logScales: philoxUniform([5, 3], { seed: 10 + degree, low: -5, high: 0 }),
        quaternions: tf.tensor2d([-0, 1e-40, 3.4e38, -1, 0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 1], [5, 4]),
        opacityLogits: philoxUniform([5], { seed: 20 + degree, low: -0.5, high: 0.5 }),
        sh: philoxUniform([5, k, 3], { seed: 30 + degree }),
      }));
      const g = new Gaussians(fields);
      const bytes = await encodePly(g);
      const back = decodePly(bytes);
      expect(back.shDegree).toBe(degree);
      for (const [name, t] of Object.entries(g.toTensors())) {
        const a = new Uint32Array((await t.data()).buffer);
        const b = new Uint32Array((await back.toTensors()[name as keyof typeof fields].data()).buffer);
        expect(b, name).toEqual(a);
      }
      expect(await encodePly(back)).toEqual(bytes);
      g.dispose();
      back.dispose();
    }
  });

  it('writes an empty file for N = 0 that reads back as N = 0', async () => {
    const e = Gaussians.empty(2);
    const back = decodePly(await encodePly(e));
    expect([back.count, back.shDegree]).toEqual([0, 2]);
    e.dispose();
    back.dispose();
  });
});

describe('encodePly / decodePly leaks', () => {
  it('leaks no tensors', async () => {
    const g = decodePly(handPly(DEGREE1, HAND_ROWS));
    await expectNoLeaks(async () => {
      await encodePly(g);
      return decodePly(await encodePly(g)).toTensors();
    });
    g.dispose();
  });
});

describe('writePly / readPly', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ttt3d-ply-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a file that reads back equal, replacing an existing file and leaving no temporary behind', async () => {
    const path = join(dir, 'scene.ply');
    await writeFile(path, 'old contents');
    const g = decodePly(handPly(DEGREE1, HAND_ROWS));
    await writePly(path, g);
    expect(await readdir(dir)).toEqual(['scene.ply']);
    expect(new Uint8Array(await readFile(path))).toEqual(handPly(DEGREE1, HAND_ROWS));
    const back = await readPly(path);
    await expectAllClose(back.sh, g.sh, { atol: 0, rtol: 0 });
    g.dispose();
    back.dispose();
  });

  it('leaves nothing when the directory does not exist, and rejects an empty path', async () => {
    const g = Gaussians.empty();
    await expect(writePly(join(dir, 'missing', 'a.ply'), g)).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
    await expect(writePly('', g)).rejects.toThrow(ValueError);
    await expect(readPly('')).rejects.toThrow(/path: expected a non-empty file path/);
    g.dispose();
  });
});
