import type { DataType } from '@tensorflow/tfjs-core';

/** The safetensors dtypes Tessera reads and writes (the format defines more; those are rejected). */
export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'U8' | 'BOOL';

/** The tfjs dtypes a safetensors file can hold; every other dtype is rejected on write. */
export type StorableDtype = 'float32' | 'int32' | 'bool';

interface DtypeInfo {
  /** Bytes per element in the file. */
  size: number;
  /** The tfjs dtype the file's values load as, and the only one they can be written from. */
  tf: StorableDtype;
}

export const DTYPES: Readonly<Record<SafetensorsDtype, DtypeInfo>> = {
  F32: { size: 4, tf: 'float32' },
  F16: { size: 2, tf: 'float32' },
  BF16: { size: 2, tf: 'float32' },
  I32: { size: 4, tf: 'int32' },
  U8: { size: 1, tf: 'int32' },
  BOOL: { size: 1, tf: 'bool' },
};

export const SUPPORTED_DTYPES = Object.keys(DTYPES) as SafetensorsDtype[];

/** What a tensor is written as when `dtypes` does not say. */
export const DEFAULT_DTYPE: Readonly<Record<StorableDtype, SafetensorsDtype>> = { float32: 'F32', int32: 'I32', bool: 'BOOL' };

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value);
}

export function isStorableDtype(dtype: DataType): dtype is StorableDtype {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

/** The safetensors dtypes a tensor of `dtype` can be written as, e.g. `F32, F16 or BF16`. */
export function describeTargets(dtype: StorableDtype): string {
  const targets = SUPPORTED_DTYPES.filter((d) => DTYPES[d].tf === dtype);
  return targets.length === 1 ? (targets[0] as string) : `${targets.slice(0, -1).join(', ')} or ${targets[targets.length - 1]}`;
}

/**
 * Whether this host stores numbers little-endian, as safetensors does. Every platform tfjs runs on
 * (x86, ARM, WASM) is; on a big-endian host the byte-swapping paths keep files portable.
 */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
