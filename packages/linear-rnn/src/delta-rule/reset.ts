/**
 * A log-decay below this is a full reset of the state: e^g rounds to 0 in float32 there (e^{−104} is
 * under half the smallest subnormal), so the recurrence forgets everything before the token, as it does
 * for g = −∞. The chunked forms cannot take the cumulative decay γ through such a token (γᵢ − γⱼ would be
 * −∞ − (−∞) = NaN, or lose every later digit to a huge γ), so they count resets instead: a token's
 * decay from j to i is e^{γ'ᵢ − γ'ⱼ} when no reset lies in (j, i] and 0 otherwise, with γ' the
 * cumulative sum of the log-decays that are not resets.
 */
export const RESET_BELOW = -104;

/** `RESET_BELOW` as a WGSL literal. */
export const RESET_BELOW_WGSL = `${RESET_BELOW}.0`;
