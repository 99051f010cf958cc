import { AbortError, describeValue, ValueError } from './errors.js';

/** Checks an optional `AbortSignal` option (the one check of every function that takes `signal`). */
export function checkSignal(signal: AbortSignal | undefined, name = 'signal'): AbortSignal | undefined {
  if (
    signal !== undefined &&
    (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')
  ) {
    throw new ValueError(`${name}: expected an AbortSignal, received ${describeValue(signal)}`);
  }
  return signal;
}

/** Throws `AbortError` (its `cause` the signal's reason) when `signal` has fired; `where` ends the message. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) {
    throw new AbortError(`signal: expected not aborted, received an abort ${where}`, { cause: signal.reason });
  }
}

/**
 * Resolves after pending timers, I/O and abort events have run (setImmediate in Node, a zero timeout
 * elsewhere): long loops (fits, distillation, mirror ascent) await it between steps so that an abort
 * can arrive and a test runner's RPC is answered.
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}
