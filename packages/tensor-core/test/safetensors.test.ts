import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DtypeError, FormatError, ValueError } from '../src/errors.js';
import { bf16BitsToFloat32, f16BitsToFloat32, float32ToBF16Bits, float32ToF16Bits } from '../src/safetensors/half.js';
import { decodeValues } from '../src/safetensors/read.js';
import { encodeSafetensors } from '../src/safetensors/write.js';
import {
  loadSafetensors,
  readSafetensors,
  readSafetensorsMetadata,
  type SafetensorsDtype,
  saveSafetensors,
  writeSafetensors,
} from '../src/safetensors/index.js';
import { tf } from '../src/tf.js';
import { describeBackends, expectAllClose, expectNoLeaks } from '../src/testing/index.js';

/** A file assembled from the spec, independently of our writer: u64 LE header length, header, data. */
function buildFile(header: string | Uint8Array, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function fileOf(header: unknown, dataLength: number, fill?: (view: DataView) => void): Uint8Array {
  const data = new Uint8Array(dataLength);
  fill?.(new DataView(data.buffer));
  return buildFile(JSON.stringify(header), data);
}

/** Raw stored bytes of one tensor in a file, found by parsing the header by hand. */
function rawBytes(file: Uint8Array, name: string): { dtype: string; shape: number[]; bytes: DataView } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  const {
    dtype,
    shape,
    data_offsets: [begin, end],
  } = header[name];
  return { dtype, shape, bytes: new DataView(file.buffer, file.byteOffset + 8 + n + begin, end - begin) };
}

function u16s(view: DataView): number[] {
  return Array.from({ length: view.byteLength / 2 }, (_, i) => view.getUint16(2 * i, true));
}

async function values(t: tf.Tensor | undefined): Promise<number[]> {
  if (!t) throw new Error('missing tensor');
  return Array.from(await t.data());
}

/**
 * The hand-built reference file. Its data buffer starts with a 3-byte BOOL tensor, so every later
 * tensor sits at an offset that is not a multiple of 4 or even 2.
 */
function referenceFile(): Uint8Array {
  const header = {
    __metadata__: { format: 'pt', note: 'héllo ✓' },
    mask: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] },
    f32: { dtype: 'F32', shape: [2, 2], data_offsets: [3, 19] },
    f16: { dtype: 'F16', shape: [8], data_offsets: [19, 35] },
    bf16: { dtype: 'BF16', shape: [2, 2], data_offsets: [35, 43] },
    i32: { dtype: 'I32', shape: [3], data_offsets: [43, 55] },
    u8: { dtype: 'U8', shape: [2, 2], data_offsets: [55, 59] },
    scale: { dtype: 'F32', shape: [], data_offsets: [59, 63] },
    empty: { dtype: 'F32', shape: [0, 4], data_offsets: [63, 63] },
    none: { dtype: 'BOOL', shape: [2, 0], data_offsets: [0, 0] },
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const data = new Uint8Array(63);
  const view = new DataView(data.buffer);
  data.set([1, 0, 1], 0);
  [1.5, -2, 3.25, 0.1].forEach((v, i) => {
    view.setFloat32(3 + 4 * i, v, true);
  });
  [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x7e00].forEach((b, i) => {
    view.setUint16(19 + 2 * i, b, true);
  });
  [0x3f80, 0xc020, 0x7f80, 0x0001].forEach((b, i) => {
    view.setUint16(35 + 2 * i, b, true);
  });
  [-2147483648, 0, 2147483647].forEach((v, i) => {
    view.setInt32(43 + 4 * i, v, true);
  });
  data.set([0, 1, 128, 255], 55);
  view.setFloat32(59, 0.5, true);
  return buildFile(json, data);
}

describeBackends('readSafetensors', () => {
  it('reads a hand-built file with every dtype, a scalar, empty tensors and unaligned offsets', async () => {
    const t = readSafetensors(referenceFile());
    expect(Object.keys(t).sort()).toEqual(['bf16', 'empty', 'f16', 'f32', 'i32', 'mask', 'none', 'scale', 'u8']);
    const expected: Record<string, { dtype: string; shape: number[]; values: number[] }> = {
      mask: { dtype: 'bool', shape: [3], values: [1, 0, 1] },
      f32: { dtype: 'float32', shape: [2, 2], values: [1.5, -2, 3.25, Math.fround(0.1)] },
      f16: {
        dtype: 'float32',
        shape: [8],
        values: [1, -2, 65504, 2 ** -24 /* ≈ 5.96e-8 */, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.NaN],
      },
      bf16: { dtype: 'float32', shape: [2, 2], values: [1, -2.5, Number.POSITIVE_INFINITY, 2 ** -133] },
      i32: { dtype: 'int32', shape: [3], values: [-2147483648, 0, 2147483647] },
      u8: { dtype: 'int32', shape: [2, 2], values: [0, 1, 128, 255] },
      scale: { dtype: 'float32', shape: [], values: [0.5] },
      empty: { dtype: 'float32', shape: [0, 4], values: [] },
      none: { dtype: 'bool', shape: [2, 0], values: [] },
    };
    for (const [name, want] of Object.entries(expected)) {
      const got = t[name] as tf.Tensor;
      expect(got.dtype, name).toBe(want.dtype);
      expect(got.shape, name).toEqual(want.shape);
      expect(await values(got), name).toEqual(want.values);
    }
    expect(Object.is((await values(t.f16))[6], -0)).toBe(true);
    tf.dispose(t);
  });

  it('accepts a header without padding and with extra trailing spaces', async () => {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setFloat32(0, 7, true);
    const header = '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    for (const padded of [header, `${header}   `]) {
      const t = readSafetensors(buildFile(padded, data));
      expect(await values(t.x)).toEqual([7]);
      tf.dispose(t);
    }
  });

  it('reads an empty file ({} header, no data) and a Node Buffer view into a larger buffer', async () => {
    expect(readSafetensors(buildFile('{}'))).toEqual({});
    const file = referenceFile();
    const pool = new Uint8Array(file.length + 5);
    pool.set(file, 5);
    const t = readSafetensors(Buffer.from(pool.buffer, 5, file.length));
    expect(await values(t.i32)).toEqual([-2147483648, 0, 2147483647]);
    // the tensors own copies: changing the input afterwards does not change them
    pool.fill(0);
    expect(await values(t.mask)).toEqual([1, 0, 1]);
    tf.dispose(t);
  });

  it('keeps a tensor named "__proto__" as an own property', async () => {
    const t = readSafetensors(buildFile('{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array([9])));
    expect(Object.keys(t)).toEqual(['__proto__']);
    expect(await values(Object.getOwnPropertyDescriptor(t, '__proto__')?.value)).toEqual([9]);
    tf.dispose(Object.values(t));
  });

  it('leaks no tensors', async () => {
    await expectNoLeaks(() => readSafetensors(referenceFile()));
  });
});

describe('readSafetensorsMetadata', () => {
  it('returns __metadata__, or {} when absent', () => {
    expect(readSafetensorsMetadata(referenceFile())).toEqual({ format: 'pt', note: 'héllo ✓' });
    expect(readSafetensorsMetadata(buildFile('{}'))).toEqual({});
  });

  it('validates the file and creates no tensors', () => {
    const before = tf.memory().numTensors;
    expect(() => readSafetensorsMetadata(buildFile('{"__metadata__":{"k":1}}'))).toThrow(FormatError);
    expect(() => readSafetensorsMetadata(buildFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'))).toThrow(
      /data_offsets: expected \[begin, end\] with 0 ≤ begin ≤ end ≤ 0/,
    );
    readSafetensorsMetadata(referenceFile());
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('readSafetensors on broken files', () => {
  const f32x2 = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const u64 = (n: bigint, rest = 0) => {
    const b = new Uint8Array(8 + rest);
    new DataView(b.buffer).setBigUint64(0, n, true);
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5), /file too short: expected at least 8 bytes \(the header length\), received 5 bytes/],
    ['a header length past the end', u64(100n, 10), /header length 100 runs past the end of the file: only 10 bytes follow/],
    ['a header length beyond 2^53', u64(0xffffffffffffffffn, 4), /header length 18446744073709551615 is too large/],
    ['a header that is not UTF-8', buildFile(new Uint8Array([0x7b, 0xff, 0x7d])), /header is not valid UTF-8/],
    ['a header that is not JSON', buildFile('{"a": '), /header is not valid JSON/],
    ['a JSON array header', buildFile('[]'), /header: expected a JSON object, received an array/],
    ['a JSON null header', buildFile('null'), /header: expected a JSON object, received null/],
    [
      'an entry that is not an object',
      fileOf({ a: 3 }, 0),
      /tensor "a": expected an object \{ dtype, shape, data_offsets \}, received a number/,
    ],
    ['an entry without dtype', fileOf({ a: { shape: [2], data_offsets: [0, 8] } }, 8), /tensor "a": missing "dtype"/],
    ['an entry without shape', fileOf({ a: { dtype: 'F32', data_offsets: [0, 8] } }, 8), /tensor "a": missing "shape"/],
    ['an entry without data_offsets', fileOf({ a: { dtype: 'F32', shape: [2] } }, 8), /tensor "a": missing "data_offsets"/],
    ['a dtype that is not a string', fileOf({ a: { ...f32x2, dtype: 4 } }, 8), /tensor "a": dtype: expected a string, received a number 4/],
    [
      'an unsupported dtype',
      fileOf({ a: { ...f32x2, dtype: 'F64', data_offsets: [0, 16] } }, 16),
      /tensor "a": unsupported dtype "F64"; supported dtypes are F32, F16, BF16, I32, U8, BOOL/,
    ],
    [
      'a shape that is not an array',
      fileOf({ a: { ...f32x2, shape: 2 } }, 8),
      /tensor "a": shape: expected an array of non-negative integers, received 2/,
    ],
    ['a negative dimension', fileOf({ a: { ...f32x2, shape: [-2] } }, 8), /tensor "a": shape: .*received \[-2\]/],
    ['a fractional dimension', fileOf({ a: { ...f32x2, shape: [1.5] } }, 8), /tensor "a": shape: .*received \[1\.5\]/],
    ['data_offsets of one number', fileOf({ a: { ...f32x2, data_offsets: [0] } }, 8), /tensor "a": data_offsets: .*received \[0\]/],
    ['data_offsets of three numbers', fileOf({ a: { ...f32x2, data_offsets: [0, 4, 8] } }, 8), /data_offsets: .*received \[0, 4, 8\]/],
    ['data_offsets as strings', fileOf({ a: { ...f32x2, data_offsets: ['0', '8'] } }, 8), /data_offsets: .*received \["0", "8"\]/],
    ['a negative begin', fileOf({ a: { ...f32x2, data_offsets: [-4, 4] } }, 8), /data_offsets: .*received \[-4, 4\]/],
    ['begin after end', fileOf({ a: { ...f32x2, data_offsets: [8, 0] } }, 8), /data_offsets: .*received \[8, 0\]/],
    [
      'an end past the data',
      fileOf({ a: { ...f32x2, data_offsets: [0, 16] } }, 8),
      /tensor "a": data_offsets: expected \[begin, end\] with 0 ≤ begin ≤ end ≤ 8 \(the data buffer's length\), received \[0, 16\]/,
    ],
    [
      'bytes that do not match the shape',
      fileOf({ a: { ...f32x2, shape: [3] } }, 8),
      /tensor "a": shape\/bytes mismatch: shape \[3\] of F32 needs 12 bytes, received data_offsets \[0, 8\] \(8 bytes\)/,
    ],
    [
      'a shape too large for the bytes',
      fileOf({ a: { ...f32x2, shape: [2 ** 40, 2 ** 20] } }, 8),
      /tensor "a": shape\/bytes mismatch: shape \[1099511627776, 1048576\] of F32 needs \d+ bytes/,
    ],
    [
      'overlapping tensors',
      fileOf({ a: f32x2, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
      /data_offsets overlap: tensor "a" \[0, 8\] and tensor "b" \[4, 8\] share bytes/,
    ],
    [
      'an empty tensor inside another',
      fileOf({ a: f32x2, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, 8),
      /data_offsets overlap: tensor "a" \[0, 8\] and tensor "e" \[4, 4\]/,
    ],
    [
      'a hole between tensors',
      fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12),
      /hole in the data buffer: bytes \[4, 8\) belong to no tensor \(before tensor "b"\)/,
    ],
    [
      'a hole at the start',
      fileOf({ a: { ...f32x2, data_offsets: [4, 12] } }, 12),
      /hole in the data buffer: bytes \[0, 4\) belong to no tensor \(before tensor "a"\)/,
    ],
    ['trailing bytes', fileOf({ a: f32x2 }, 12), /trailing bytes: data buffer bytes \[8, 12\) belong to no tensor/],
    ['data but no tensors', fileOf({}, 3), /trailing bytes: data buffer bytes \[0, 3\)/],
    [
      '__metadata__ that is not an object',
      fileOf({ __metadata__: 'x', a: f32x2 }, 8),
      /__metadata__: expected an object of string values, received a string/,
    ],
    ['__metadata__ that is null', fileOf({ __metadata__: null }, 0), /__metadata__: expected an object of string values, received null/],
    [
      'a __metadata__ value that is not a string',
      fileOf({ __metadata__: { k: 1 } }, 0),
      /__metadata__\["k"\]: expected a string value, received a number 1/,
    ],
    [
      'a BOOL byte other than 0 or 1 (after a valid tensor)',
      fileOf({ a: f32x2, m: { dtype: 'BOOL', shape: [2], data_offsets: [8, 10] } }, 10, (v) => v.setUint8(9, 2)),
      /tensor "m": BOOL values must be bytes 0 or 1, received 2 at flat index 1/,
    ],
  ];

  for (const [what, bytes, message] of cases) {
    it(`rejects ${what} with a FormatError, creating no tensors`, () => {
      const before = tf.memory().numTensors;
      expect(() => readSafetensors(bytes)).toThrow(FormatError);
      expect(() => readSafetensors(bytes)).toThrow(message);
      expect(() => readSafetensors(bytes)).toThrow(/^safetensors: /);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('accepts empty tensors at a neighbour boundary and two empty tensors at one offset', async () => {
    const file = fileOf(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        e1: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
        e2: { dtype: 'I32', shape: [0, 2], data_offsets: [4, 4] },
        b: { dtype: 'U8', shape: [1], data_offsets: [4, 5] },
      },
      5,
    );
    const t = readSafetensors(file);
    expect(Object.keys(t)).toEqual(['a', 'e1', 'e2', 'b']);
    tf.dispose(t);
  });

  it('rejects bytes that are not a Uint8Array with a ValueError', () => {
    expect(() => readSafetensors([1, 2, 3] as unknown as Uint8Array)).toThrow(ValueError);
    expect(() => readSafetensors([1, 2, 3] as unknown as Uint8Array)).toThrow(/bytes: expected a Uint8Array, received \[1, 2, 3\]/);
  });
});

describe('16-bit float conversions', () => {
  const f16Cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 + 2 ** -11, 0x3c00], // tie → even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa 2
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
    [65504, 0x7bff],
    [65519, 0x7bff], // below the tie with 65536
    [65520, 0x7c00], // the tie rounds to even, which is 65536 = Inf
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -14 - 2 ** -25, 0x0400], // tie between the largest subnormal (odd) and 2^-14
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie → even (zero)
    [-(2 ** -25), 0x8000],
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps → 2
    [2 ** -25 + 2 ** -35, 0x0001],
    [1e-10, 0x0000],
    [1e-45, 0x0000], // a float32 subnormal
  ];
  const bf16Cases: [number, number][] = [
    [1, 0x3f80],
    [-2.5, 0xc020],
    [0.1, 0x3dcd],
    [1 + 2 ** -8, 0x3f80], // tie → even
    [1 + 3 * 2 ** -8, 0x3f82], // tie → even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.3895313892515355e38, 0x7f7f], // largest bfloat16
    [3.4028234663852886e38, 0x7f80], // float32 max rounds past it to Inf
    [-3.4028234663852886e38, 0xff80],
    [Number.POSITIVE_INFINITY, 0x7f80],
    [Number.NEGATIVE_INFINITY, 0xff80],
    [-0, 0x8000],
    [2 ** -130, 0x0008], // float32 subnormal, exact in bfloat16
    [1e-45, 0x0000],
  ];
  const isF16NaN = (b: number) => (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
  const isBF16NaN = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

  it('writes F16 rounded to nearest, ties to even, overflowing to ±Inf, keeping NaN and -0', async () => {
    const x = tf.tensor1d([...f16Cases.map(([v]) => v), Number.NaN, -Number.NaN]);
    const file = await writeSafetensors({ x }, { dtypes: { x: 'F16' } });
    const { dtype, bytes } = rawBytes(file, 'x');
    expect(dtype).toBe('F16');
    const bits = u16s(bytes);
    expect(bits.slice(0, f16Cases.length).map((b) => b.toString(16))).toEqual(f16Cases.map(([, b]) => b.toString(16)));
    expect(isF16NaN(bits[f16Cases.length] as number)).toBe(true);
    x.dispose();
  });

  it('writes BF16 rounded to nearest, ties to even, overflowing to ±Inf, keeping NaN and -0', async () => {
    const x = tf.tensor1d([...bf16Cases.map(([v]) => v), Number.NaN]);
    const file = await writeSafetensors({ x }, { dtypes: { x: 'BF16' } });
    const bits = u16s(rawBytes(file, 'x').bytes);
    expect(bits.slice(0, bf16Cases.length).map((b) => b.toString(16))).toEqual(bf16Cases.map(([, b]) => b.toString(16)));
    expect(isBF16NaN(bits[bf16Cases.length] as number)).toBe(true);
    x.dispose();
  });

  it('widens every F16 and BF16 bit pattern exactly, and narrowing the result gives the bits back', () => {
    for (let bits = 0; bits < 65536; bits++) {
      const h = f16BitsToFloat32(bits);
      const b = bf16BitsToFloat32(bits);
      expect(Math.fround(h) === h || Number.isNaN(h)).toBe(true);
      if (Number.isNaN(h)) expect(isF16NaN(float32ToF16Bits(h))).toBe(true);
      else if (float32ToF16Bits(h) !== bits) expect.fail(`F16 0x${bits.toString(16)} → ${h} → 0x${float32ToF16Bits(h).toString(16)}`);
      if (Number.isNaN(b)) expect(isBF16NaN(float32ToBF16Bits(b))).toBe(true);
      else if (float32ToBF16Bits(b) !== bits) expect.fail(`BF16 0x${bits.toString(16)} → ${b} → 0x${float32ToBF16Bits(b).toString(16)}`);
    }
  });

  it('narrows within half an ulp (F16 relative error ≤ 2^-11, BF16 ≤ 2^-8)', () => {
    let x = 0.7;
    for (let i = 0; i < 2000; i++) {
      x = Math.fround((x * 9301 + 0.49297) % 1);
      const v = Math.fround((x - 0.5) * 2 ** ((i % 30) - 20)); // magnitudes 2^-21 .. 2^8, subnormals included
      expect(Math.abs(f16BitsToFloat32(float32ToF16Bits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
      expect(Math.abs(bf16BitsToFloat32(float32ToBF16Bits(v)) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -8);
    }
  });
});

/** One tensor per dtype and edge case; values exactly representable in their storage dtype. */
function sampleTensors(): { tensors: Record<string, tf.Tensor>; dtypes: Record<string, SafetensorsDtype> } {
  const tensors = {
    f32: tf.tensor2d([
      [1.5, -2, 3.25],
      [0.1, 1e30, -1e-30],
    ]),
    f16: tf.tensor1d([1, -2, 0.5, 65504, 2 ** -24, -0, Number.POSITIVE_INFINITY, Number.NaN]),
    bf16: tf.tensor2d([1, -2.5, 3.140625, 2 ** 100, -(2 ** -130), Number.NEGATIVE_INFINITY], [3, 2]),
    i32: tf.tensor1d([-2147483648, -1, 0, 7, 2147483647], 'int32'),
    u8: tf.tensor2d([0, 1, 128, 255], [2, 2], 'int32'),
    mask: tf.tensor1d([true, false, true], 'bool'),
    scalar: tf.scalar(0.25),
    empty: tf.zeros([0, 3]),
    emptyU8: tf.zeros([2, 0], 'int32'),
    ramp: tf.range(0, 1001, 1, 'float32'),
  };
  return { tensors, dtypes: { f16: 'F16', bf16: 'BF16', u8: 'U8', emptyU8: 'U8' } };
}

describeBackends('writeSafetensors', () => {
  it('round-trips every dtype, a scalar and empty tensors exactly', async () => {
    const { tensors, dtypes } = sampleTensors();
    const file = await writeSafetensors(tensors, { dtypes });
    const back = readSafetensors(file);
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = back[name] as tf.Tensor;
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(await values(got), name).toEqual(await values(t));
      const defaults: Record<string, string> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };
      expect(rawBytes(file, name).dtype, name).toBe(dtypes[name] ?? defaults[t.dtype]);
    }
    expect(Object.is((await values(back.f16))[5], -0)).toBe(true);
    tf.dispose([tensors, back]);
  });

  it('round-trips float32 through F16 and BF16 within half an ulp', async () => {
    const x = tf.tidy(() => tf.mul(tf.sub(tf.linspace(0, 1, 4097), 0.5), 300));
    const file = await writeSafetensors({ h: x, b: x }, { dtypes: { h: 'F16', b: 'BF16' } });
    const back = readSafetensors(file);
    await expectAllClose(back.h as tf.Tensor, x, { rtol: 2 ** -11, atol: 2 ** -25 });
    await expectAllClose(back.b as tf.Tensor, x, { rtol: 2 ** -8, atol: 0 });
    tf.dispose([x, back]);
  });

  it('round-trips metadata', async () => {
    const metadata = { format: 'pt', 'key with spaces': 'ünïcödé ✓ "quoted"', empty: '', '0': 'numeric-looking key' };
    const x = tf.scalar(1);
    const file = await writeSafetensors({ x }, { metadata });
    expect(readSafetensorsMetadata(file)).toEqual(metadata);
    expect(readSafetensorsMetadata(await writeSafetensors({ x }))).toEqual({});
    x.dispose();
  });

  it('leaks no tensors', async () => {
    const { tensors, dtypes } = sampleTensors();
    await expectNoLeaks(async () => {
      await writeSafetensors(tensors, { dtypes, metadata: { a: 'b' } });
    });
    tf.dispose(tensors);
  });
});

describe('writeSafetensors layout', () => {
  it('pads the header with spaces to a multiple of 8 and lays tensors out widest-first, then by name, with no holes', async () => {
    const t = {
      b: tf.tensor1d([1, 2, 3], 'int32'),
      a8: tf.tensor1d([1, 0, 1], 'bool'),
      a: tf.tensor1d([1, 2], 'float32'),
      h: tf.tensor1d([1, 2, 3]),
    };
    const file = await writeSafetensors(t, { dtypes: { h: 'F16' } });
    const view = new DataView(file.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    expect(text).toMatch(/^\{.*\} *$/);
    const header = JSON.parse(text);
    expect(Object.keys(header)).toEqual(['a', 'b', 'h', 'a8']);
    expect([header.a, header.b, header.h, header.a8].map((e) => e.data_offsets)).toEqual([
      [0, 8],
      [8, 20],
      [20, 26],
      [26, 29],
    ]);
    expect(file.length).toBe(8 + n + 29);
    tf.dispose(t);
  });

  it('gives the same bytes whatever the insertion order, and keeps integer-like names in sorted order', async () => {
    const x = tf.tensor1d([1, 2]);
    const y = tf.tensor1d([3], 'int32');
    const one = await writeSafetensors({ x, y, '10': x, '2': y }, { metadata: { b: '1', a: '2' } });
    const two = await writeSafetensors({ '2': y, y, '10': x, x }, { metadata: { b: '1', a: '2' } });
    expect(two).toEqual(one);
    const n = Number(new DataView(one.buffer).getBigUint64(0, true));
    expect(Object.keys(JSON.parse(new TextDecoder().decode(one.subarray(8, 8 + n))).__metadata__)).toEqual(['b', 'a']);
    expect(new TextDecoder().decode(one.subarray(8, 8 + n))).toMatch(/"10":.*"2":.*"x":.*"y":/);
    tf.dispose([x, y]);
  });

  it('writes the same bytes through the big-endian paths, which also decode them back', async () => {
    const { tensors, dtypes } = sampleTensors();
    const little = await encodeSafetensors(tensors, { dtypes }, true);
    const big = await encodeSafetensors(tensors, { dtypes }, false);
    expect(big).toEqual(little);
    const src = rawBytes(little, 'i32').bytes;
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    const entry = { name: 'i32', dtype: 'I32' as const, shape: [5], start: 0, end: 20 };
    expect(Array.from(decodeValues(entry, bytes, false))).toEqual(Array.from(decodeValues(entry, bytes, true)));
    expect(Array.from(decodeValues({ ...entry, dtype: 'F32' }, bytes, false))).toEqual(
      Array.from(decodeValues({ ...entry, dtype: 'F32' }, bytes, true)),
    );
    tf.dispose(tensors);
  });
});

describe('writeSafetensors bad input', () => {
  const x = () => tf.tensor1d([1, 2]);
  const i = (v: number[]) => tf.tensor1d(v, 'int32');

  it('rejects tensor names that are empty or __metadata__', async () => {
    const t = x();
    await expect(writeSafetensors({ '': t })).rejects.toThrow(/tensors: tensor names must be non-empty/);
    await expect(writeSafetensors({ __metadata__: t })).rejects.toThrow(ValueError);
    await expect(writeSafetensors({ __metadata__: t })).rejects.toThrow(/"__metadata__" is reserved for the header's metadata/);
    t.dispose();
  });

  it('rejects values that are not live tensors of a storable dtype', async () => {
    await expect(writeSafetensors({ a: 3 as unknown as tf.Tensor })).rejects.toThrow(/tensors\["a"\]: expected a tensor, received 3/);
    const t = x();
    t.dispose();
    await expect(writeSafetensors({ a: t })).rejects.toThrow(/tensors\["a"\]: expected a live tensor, received a disposed one/);
    const s = tf.tensor1d(['text'], 'string');
    await expect(writeSafetensors({ s })).rejects.toThrow(DtypeError);
    await expect(writeSafetensors({ s })).rejects.toThrow(/tensors\["s"\]: expected dtype float32, int32 or bool, received string/);
    s.dispose();
    await expect(writeSafetensors(x() as unknown as Record<string, tf.Tensor>)).rejects.toThrow(
      /tensors: expected an object of tensors by name/,
    );
  });

  it('rejects metadata values that are not strings', async () => {
    const t = x();
    const metadata = { ok: 'yes', n: 1 } as unknown as Record<string, string>;
    await expect(writeSafetensors({ t }, { metadata })).rejects.toThrow(/opts\.metadata\["n"\]: expected a string, received 1/);
    await expect(writeSafetensors({ t }, { metadata: 'x' as unknown as Record<string, string> })).rejects.toThrow(
      /opts\.metadata: expected an object/,
    );
    t.dispose();
  });

  it('rejects storage dtypes that are unknown, incompatible with the tensor, or name no tensor', async () => {
    const f = x();
    const n = i([1]);
    const b = tf.tensor1d([true], 'bool');
    const dtypes = (d: Record<string, string>) => ({ dtypes: d as Record<string, SafetensorsDtype> });
    await expect(writeSafetensors({ f }, dtypes({ f: 'F64' }))).rejects.toThrow(
      /opts\.dtypes\["f"\]: expected one of F32, F16, BF16, I32, U8, BOOL, received "F64"/,
    );
    await expect(writeSafetensors({ f }, dtypes({ f: 'U8' }))).rejects.toThrow(DtypeError);
    await expect(writeSafetensors({ f }, dtypes({ f: 'U8' }))).rejects.toThrow(
      /opts\.dtypes\["f"\]: U8 cannot store float32 values; float32 tensors are written as F32, F16 or BF16/,
    );
    await expect(writeSafetensors({ n }, dtypes({ n: 'F16' }))).rejects.toThrow(
      /F16 cannot store int32 values; int32 tensors are written as I32 or U8/,
    );
    await expect(writeSafetensors({ b }, dtypes({ b: 'I32' }))).rejects.toThrow(
      /I32 cannot store bool values; bool tensors are written as BOOL/,
    );
    await expect(writeSafetensors({ f }, dtypes({ g: 'F16' }))).rejects.toThrow(/opts\.dtypes\["g"\]: names no tensor in tensors/);
    await expect(writeSafetensors({ f }, dtypes({ constructor: 'F16' }))).rejects.toThrow(/opts\.dtypes\["constructor"\]: names no tensor/);
    tf.dispose([f, n, b]);
  });

  it('rejects U8 values outside 0..255, naming the tensor, value and index, rather than clamping', async () => {
    const hi = i([0, 255, 256]);
    const lo = i([-1]);
    await expect(writeSafetensors({ hi }, { dtypes: { hi: 'U8' } })).rejects.toThrow(ValueError);
    await expect(writeSafetensors({ hi }, { dtypes: { hi: 'U8' } })).rejects.toThrow(
      /tensors\["hi"\]: U8 stores values 0\.\.255, received 256 at flat index 2/,
    );
    await expect(writeSafetensors({ lo }, { dtypes: { lo: 'U8' } })).rejects.toThrow(/received -1 at flat index 0/);
    tf.dispose([hi, lo]);
  });
});

describe('saveSafetensors / loadSafetensors', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-safetensors-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through a file, leaving only that file', async () => {
    const { tensors, dtypes } = sampleTensors();
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, tensors, { dtypes, metadata: { format: 'pt' } });
    expect(await readdir(dir)).toEqual(['model.safetensors']);
    expect(readSafetensorsMetadata(await readFile(path))).toEqual({ format: 'pt' });
    const back = await loadSafetensors(path);
    for (const [name, t] of Object.entries(tensors)) {
      expect(await values(back[name]), name).toEqual(await values(t));
    }
    tf.dispose([tensors, back]);
  });

  it('replaces an existing file', async () => {
    const path = join(dir, 'w.safetensors');
    await writeFile(path, 'old');
    const x = tf.tensor1d([4, 5]);
    await saveSafetensors(path, { x });
    const back = await loadSafetensors(path);
    expect(await values(back.x)).toEqual([4, 5]);
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    tf.dispose([x, back]);
  });

  it('leaves an existing file intact and no temporary file when encoding fails', async () => {
    const path = join(dir, 'w.safetensors');
    await writeFile(path, 'old');
    const bad = tf.tensor1d([300], 'int32');
    await expect(saveSafetensors(path, { bad }, { dtypes: { bad: 'U8' } })).rejects.toThrow(ValueError);
    await expect(saveSafetensors(join(dir, 'new.safetensors'), { bad }, { dtypes: { bad: 'U8' } })).rejects.toThrow(ValueError);
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    expect(await readFile(path, 'utf8')).toBe('old');
    bad.dispose();
  });

  it('creates nothing when the directory does not exist', async () => {
    const x = tf.scalar(1);
    await expect(saveSafetensors(join(dir, 'missing', 'w.safetensors'), { x })).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
    x.dispose();
  });

  it('removes its temporary file when the final rename fails', async () => {
    // a non-empty directory at the target path: the temporary file is written, the rename fails
    const path = join(dir, 'target');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'x');
    const x = tf.scalar(1);
    await expect(saveSafetensors(path, { x })).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target']);
    expect(await readdir(path)).toEqual(['keep']);
    x.dispose();
  });

  it('reports broken and missing files', async () => {
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, new Uint8Array(4));
    const before = tf.memory().numTensors;
    await expect(loadSafetensors(path)).rejects.toThrow(FormatError);
    await expect(loadSafetensors(join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(loadSafetensors('')).rejects.toThrow(/path: expected a non-empty file path, received ""/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
