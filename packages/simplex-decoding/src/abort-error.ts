import { TesseraError } from '@tessera/tensor-core';

/** A generation or another long loop (`mirrorAscent`) was stopped through its `AbortSignal`; `cause` carries the signal's reason. */
export class AbortError extends TesseraError {
  override readonly name = 'AbortError';
}

/** Throws `AbortError` when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) {
    throw new AbortError(`signal: expected not aborted, received an abort ${where}`, { cause: signal.reason });
  }
}
