const f32 = Math.fround;

/** 2^(j/64), j < 64, correctly rounded doubles. */
const STEPS = Float64Array.from({ length: 64 }, (_, j) => 2 ** (j / 64));
/** 2^m for m in [−MIN_EXP, 0] (exact doubles). */
const MIN_EXP = 160;
const POWERS = Float64Array.from({ length: MIN_EXP + 1 }, (_, i) => 2 ** (i - MIN_EXP));
const INV_STEP = 64 / Math.LN2;
/** ln 2 / 64 split in two: the high part's 32 significant bits keep n · STEP_HI exact for |n| < 2^21. */
const STEP_HI = f32(Math.LN2 / 64 / 2 ** -13) * 2 ** -13;
const STEP_LO = Math.LN2 / 64 - STEP_HI;
/** 1.5 · 2^52: adding and subtracting it rounds a double of magnitude < 2^51 to an integer. */
const ROUND = 6755399441055744;
/**
 * The relative half-width of the interval known to hold Math.exp(x): this approximation is within ~1e-15
 * of exp(x) and V8's Math.exp (fdlibm) within 1 ulp, 2.2e-16; 2^-40 leaves a margin of ~1000.
 */
const SLACK = 2 ** -40;
/** Below it exp(x) < 2^-150 (half the least float32 subnormal): the float32 result is 0. */
const ZERO_BELOW = -110;

/**
 * float32(Math.exp(x)) for x ≤ 0 (−∞ included, no NaN), bit for bit, about three times as fast as Math.exp
 * on V8: exp(x) = 2^m · 2^(j/64) · exp(r), |r| ≤ ln 2 / 128, with a degree-5 polynomial for exp(r), then
 * float32 rounding of both ends of an interval that holds Math.exp(x) — when they differ (x within ~2^-40
 * relative of a float32 rounding boundary, about 1 in 10^4) Math.exp itself decides.
 */
export function exp32(x: number): number {
  if (x < ZERO_BELOW) return 0;
  const n = x * INV_STEP + ROUND - ROUND;
  const r = x - n * STEP_HI - n * STEP_LO;
  const i = n | 0;
  const poly = 1 + r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120)))));
  const e = (STEPS[i & 63] as number) * (POWERS[(i >> 6) + MIN_EXP] as number) * poly;
  const lo = f32(e - e * SLACK);
  return lo === f32(e + e * SLACK) ? lo : f32(Math.exp(x));
}
