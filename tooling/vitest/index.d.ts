import type { UserConfig } from 'vitest/config';

export function tesseraVitestConfig(configUrl: string, overrides?: UserConfig): UserConfig;
