import type { UserConfig } from 'vitest/config';

export function tesseraVitestConfig(configUrl: string, overrides?: UserConfig): UserConfig;
import type { BaseSequencer } from 'vitest/node';

/** A sequencer class that starts the named test files (relative to the package) first. */
export function longFirst(names: string[]): typeof BaseSequencer;
