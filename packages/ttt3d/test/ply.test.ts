import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError, philoxUniform, tf, ValueError } from '@tessera/tensor-core';
import { expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Gaussians } from '../src/gaussians/index.js';
import { decodePly, encodePly, plyProperties, readPly, writePly } from '../src/ply/index.js';

/**
 * A .ply assembled from the 3DGS layout by hand (graphdeco save_ply with plyfile): header lines, then
 * float32 little-endian records. `props` lists [type, name]; `rows` one number per property per vertex.
 */
function handPly(
  props: readonly [string, string][],
  rows: readonly number[][],
  opts: { format?: string; count?: number } = {},
): Uint8Array {
  const header = [
    'ply',
    `format ${opts.format ?? 'binary_little_endian'} 1.0`,
    `element vertex ${opts.count ?? rows.length}`,
    ...props.map(([type, name]) => `property ${type} ${name}`),
    'end_header',
    '',
  ].join('\n');
  const size: Record<string, number> = { float: 4, uchar: 1, double: 8 };
  const stride = props.reduce((s, [type]) => s + size[type]!, 0);
  const head = new TextEncoder().encode(header);
  const out = new Uint8Array(head.length + rows.length * stride);
  out.set(head);
  const view = new DataView(out.buffer, head.length);
  let p = 0;
  for (const row of rows) {
    props.forEach(([type], i) => {
      if (type === 'float') view.setFloat32(p, row[i]!, true);
      else if (type === 'uchar') view.setUint8(p, row[i]!);
      else view.setFloat64(p, row[i]!, true);
      p += size[type]!;
    });
  }
  return out;
}

/** The degree-1 property list, written out by hand from graphdeco's construct_list_of_attributes. */
const DEGREE1: [string, string][] = [
  'x y z nx ny nz f_dc_0 f_dc_1 f_dc_2',
  'f_rest_0 f_rest_1 f_rest_2 f_rest_3 f_rest_4 f_rest_5 f_rest_6 f_rest_7 f_rest_8',
  'opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3',
]
  .join(' ')
  .split(' ')
  .map((name) => ['float', name]);

/**
 * Two degree-1 Gaussians. sh[n][k][c] = 100·n + 10·k + c, so f_rest (channel-major) reads
 * R of coefficients 1, 2, 3, then G of 1, 2, 3, then B.
 */
const SH_ROWS = [0, 1].map((n) => [
  ...[0, 1, 2].map((c) => 100 * n + c),
  ...[0, 1, 2].flatMap((c) => [1, 2, 3].map((k) => 100 * n + 10 * k + c)),
]);
const HAND_ROWS = [0, 1].map((n) => [n + 0.5, -n, 2 * n + 0.25, 0, 0, 0, ...SH_ROWS[n]!, -1.5 + n, -2 - n, -3, -4, 1, 0.5 * n, -0.25, 2]);

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

  it('rejects a bad magic and a header without end_header', () => {
    expect(() => decodePly(new TextEncoder().encode('PLY\nformat binary_little_endian 1.0\n'))).toThrow(FormatError);
    expect(() => decodePly(new TextEncoder().encode('PLY\nformat binary_little_endian 1.0\n'))).toThrow(/bad magic/);
    expect(() => decodePly(new TextEncoder().encode('ply\nformat binary_little_endian 1.0\nelement vertex 0\n'))).toThrow(
      /no "end_header"/,
    );
  });

  it('rejects ascii and big-endian files as unsupported formats', () => {
    expect(() => decodePly(handPly(DEGREE1, [], { format: 'ascii' }))).toThrow(/unsupported format "ascii"/);
    expect(() => decodePly(handPly(DEGREE1, [], { format: 'binary_big_endian' }))).toThrow(/unsupported format "binary_big_endian"/);
  });

  it('rejects a missing property, naming it', () => {
    const props = DEGREE1.filter(([, name]) => name !== 'rot_3');
    expect(() => decodePly(handPly(props, []))).toThrow(/missing property "rot_3" in element vertex/);
    const gap = DEGREE1.filter(([, name]) => name !== 'f_rest_4');
    gap.push(['float', 'f_rest_9']);
    expect(() => decodePly(handPly(gap, []))).toThrow(/missing property "f_rest_4"/);
  });

  it('rejects a needed property that is not float32, and an f_rest count that is no SH degree', () => {
    const typed = DEGREE1.map(([type, name]): [string, string] => (name === 'opacity' ? ['double', name] : [type, name]));
    expect(() => decodePly(handPly(typed, []))).toThrow(/property "opacity" has type double, expected float/);
    const five = DEGREE1.filter(([, name]) => !/f_rest_[5-8]/.test(name));
    expect(() => decodePly(handPly(five, []))).toThrow(/5 f_rest properties, expected 0, 9, 24 or 45/);
  });

  it('rejects a vertex count that runs past the end of the data (a truncated file)', () => {
    expect(() => decodePly(handPly(DEGREE1, HAND_ROWS, { count: 3 }))).toThrow(/vertex count 3 runs past the end of the data/);
    const whole = handPly(DEGREE1, HAND_ROWS);
    expect(() => decodePly(whole.subarray(0, whole.length - 1))).toThrow(FormatError);
  });

  it('rejects malformed header lines: list properties, unknown keywords, bad counts, no vertex element', () => {
    const withLine = (line: string): Uint8Array => new TextEncoder().encode(`ply\nformat binary_little_endian 1.0\n${line}\nend_header\n`);
    expect(() => decodePly(withLine('element face 1\nproperty list uchar int vertex_indices'))).toThrow(
      /unsupported list property "vertex_indices"/,
    );
    expect(() => decodePly(withLine('colour red'))).toThrow(/unknown header keyword "colour"/);
    expect(() => decodePly(withLine('element vertex -1'))).toThrow(/non-negative integer count/);
    expect(() => decodePly(withLine('element vertex 1\nproperty half x'))).toThrow(/PLY scalar type/);
    expect(() => decodePly(withLine('element face 0'))).toThrow(/no "vertex" element/);
    expect(() => decodePly(new TextEncoder().encode('ply\nelement vertex 0\nend_header\n'))).toThrow(/no "format" line/);
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
        means: tf.sub(philoxUniform([5, 3], { seed: degree }), 0.5),
        logScales: tf.mul(philoxUniform([5, 3], { seed: 10 + degree }), -5),
        quaternions: tf.tensor2d([-0, 1e-40, 3.4e38, -1, 0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 1], [5, 4]),
        opacityLogits: tf.sub(philoxUniform([5], { seed: 20 + degree }), 0.5),
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

  it('rejects something that is not Gaussians, and leaks no tensors', async () => {
    await expect(encodePly({} as Gaussians)).rejects.toThrow(/g: expected Gaussians/);
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
