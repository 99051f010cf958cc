/**
 * The (β, λ) settings of arXiv 2602.18292, Tables 1–3 (Section 4.4), which list them as (β, λ). The
 * coverage term's weight in the objective is β̄ = λ·β (Eq. 17), so the presets have β̄ = λ·β =
 * 0.001, 0.004 and 0.025. The paper reports all three with 5 mirror-ascent steps per token.
 */
export const BOK_PRESETS = {
  mild: { beta: 0.01, lambda: 0.1 },
  medium: { beta: 0.02, lambda: 0.2 },
  strong: { beta: 0.05, lambda: 0.5 },
} as const satisfies Record<string, { beta: number; lambda: number }>;

export type BokPresetName = keyof typeof BOK_PRESETS;
