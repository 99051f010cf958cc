import { describeValue, ValueError } from '../errors.js';

/**
 * An on/off environment switch that defaults to on: unset, empty or `1` is on, `0` off, anything else a
 * ValueError naming the variable. Read where no `process` exists (a browser) as unset.
 */
export function envSwitch(name: string): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const value = env?.[name];
  if (value === undefined || value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new ValueError(`${name}: expected 0 or 1, received ${describeValue(value)}`);
}
