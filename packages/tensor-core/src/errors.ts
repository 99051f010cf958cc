/**
 * Every error Tessera raises on bad input or broken files is a `TesseraError`: the message names the
 * argument, what was expected and what was received, so a user can fix the call without reading code.
 */
export class TesseraError extends Error {
  override readonly name: string = 'TesseraError';
}

/** A tensor's rank, shape or a dimension relation is wrong. */
export class ShapeError extends TesseraError {
  override readonly name = 'ShapeError';
}

/** A tensor has the wrong dtype. */
export class DtypeError extends TesseraError {
  override readonly name = 'DtypeError';
}

/** A number or option is outside its allowed range, not an integer, or not finite. */
export class ValueError extends TesseraError {
  override readonly name = 'ValueError';
}

/** A requested backend cannot be initialised. */
export class BackendError extends TesseraError {
  override readonly name = 'BackendError';
}

/** A file or byte buffer does not follow its format (safetensors, .ply, ...). */
export class FormatError extends TesseraError {
  override readonly name = 'FormatError';
}

/** Formats a received value for an error message: short, unambiguous, never the whole tensor. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, 8).map(describeValue).join(', ');
    return value.length > 8 ? `[${items}, … (${value.length} items)]` : `[${items}]`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as Uint8Array).length})`;
  if (typeof value === 'object') {
    const shape = (value as { shape?: unknown }).shape;
    const dtype = (value as { dtype?: unknown }).dtype;
    if (Array.isArray(shape) && typeof dtype === 'string') return `Tensor<${dtype}>[${shape.join(', ')}]`;
    return Object.prototype.toString.call(value);
  }
  return String(value);
}

/**
 * A long loop (a generation, a fit, an optimisation) was stopped through its `AbortSignal`; `cause`
 * carries the signal's reason. Named 'AbortError', as the DOM's, so `err.name === 'AbortError'` checks
 * that handle `fetch` aborts handle these too.
 */
export class AbortError extends TesseraError {
  override readonly name = 'AbortError';
}
