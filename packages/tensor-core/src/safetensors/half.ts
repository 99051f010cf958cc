/**
 * Conversions between float32 and the 16-bit floats safetensors stores: IEEE 754 binary16 (F16) and
 * bfloat16 (BF16, the top half of a float32). Widening is exact; narrowing rounds to nearest, ties to
 * even, as PyTorch's `.half()` and `.bfloat16()` do, so a file written here matches one written there.
 */

// A DataView reinterprets bits independently of the host's byte order.
const scratch = new DataView(new ArrayBuffer(4));

function float32Bits(value: number): number {
  scratch.setFloat32(0, value);
  return scratch.getUint32(0);
}

/** float32 → binary16 bits. Overflow rounds to ±Inf; NaN stays a (quiet) NaN with its sign. */
export function float32ToF16Bits(value: number): number {
  const x = float32Bits(value);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  // binary16 exponent: rebias from 127 to 15
  const e = exponent - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below 2^-25 even the largest such value rounds to zero; this also covers float32 subnormals.
    if (e < -10) return sign;
    // Subnormal binary16: value / 2^-24 with the implicit leading bit made explicit.
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the correctly rounded result (up to Inf).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

let f16Table: Float32Array | undefined;

/** binary16 bits → its float32 value (exact: every binary16 is a float32). */
export function f16BitsToFloat32(bits: number): number {
  f16Table ??= buildF16Table();
  return f16Table[bits & 0xffff] as number;
}

// 256 KiB once, so loading F16 weights is a table look-up per element rather than bit surgery.
function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[bits] = mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else table[bits] = sign * (1024 + mantissa) * 2 ** (exponent - 25);
  }
  return table;
}

/** float32 → bfloat16 bits. Values past the largest bfloat16 round to ±Inf; NaN stays a quiet NaN. */
export function float32ToBF16Bits(value: number): number {
  const x = float32Bits(value);
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) & 0x8000) | 0x7fc0;
  // Adding 0x7fff plus the kept part's lowest bit rounds half to even in one carry.
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → its float32 value (exact). */
export function bf16BitsToFloat32(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}
