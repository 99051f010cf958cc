import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/run-suites.js';

describe('parseArgs', () => {
  it('reads the options and the package directories', () => {
    expect(parseArgs(['packages/x', '--backend', 'wasm', '--json', 'out.json', '--size', 'quick', '--filter', 'a,b'])).toEqual({
      dirs: ['packages/x'],
      help: false,
      backend: 'wasm',
      json: 'out.json',
      size: 'quick',
      filter: 'a,b',
    });
  });

  it('skips a bare -- (pnpm bench -- --backend wasm) and keeps reading options after it', () => {
    expect(parseArgs(['.', '--', '--backend', 'wasm', '--json', 'r.json'])).toEqual({
      dirs: ['.'],
      help: false,
      backend: 'wasm',
      json: 'r.json',
    });
    expect(parseArgs(['--', '--', '--help'])).toEqual({ dirs: [], help: true });
  });

  it('rejects an unknown option, a missing value and a bad size', () => {
    expect(() => parseArgs(['--backnd', 'wasm'])).toThrow('unknown option --backnd');
    expect(() => parseArgs(['--json'])).toThrow('--json: expected a value');
    expect(() => parseArgs(['--size', 'huge'])).toThrow('--size: expected full or quick, received huge');
  });
});
