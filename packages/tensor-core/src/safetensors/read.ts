import type { Tensor } from '@tensorflow/tfjs-core';
import { describeValue, FormatError, ValueError } from '../errors.js';
import { tf } from '../tf.js';
import { DTYPES, HOST_LITTLE_ENDIAN } from './dtypes.js';
import { bf16BitsToFloat32, f16BitsToFloat32 } from './half.js';
import { parseSafetensors, type TensorEntry } from './header.js';

type Values = Float32Array | Int32Array | Uint8Array;

function checkBytes(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`bytes: expected a Uint8Array, received ${describeValue(bytes)}`);
}

/**
 * Decodes one tensor's bytes. Offsets in a file need not be aligned to the element size, so on a
 * little-endian host 32-bit values are copied out before being viewed as a typed array; elsewhere a
 * DataView reads each one little-endian.
 */
export function decodeValues(entry: TensorEntry, src: Uint8Array, littleEndianHost = HOST_LITTLE_ENDIAN): Values {
  const n = src.length;
  const view = new DataView(src.buffer, src.byteOffset, n);
  switch (entry.dtype) {
    case 'F32':
    case 'I32': {
      const Typed = entry.dtype === 'F32' ? Float32Array : Int32Array;
      if (littleEndianHost) {
        const copy = new Uint8Array(src);
        return new Typed(copy.buffer);
      }
      const out = new Typed(n / 4);
      if (entry.dtype === 'F32') for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
      else for (let i = 0; i < out.length; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'F16':
    case 'BF16': {
      const widen = entry.dtype === 'F16' ? f16BitsToFloat32 : bf16BitsToFloat32;
      const out = new Float32Array(n / 2);
      for (let i = 0; i < out.length; i++) out[i] = widen(view.getUint16(2 * i, true));
      return out;
    }
    case 'U8':
      return Int32Array.from(src);
    case 'BOOL': {
      const bad = src.findIndex((b) => b > 1);
      if (bad >= 0) {
        throw new FormatError(
          `safetensors: tensor ${JSON.stringify(entry.name)}: BOOL values must be bytes 0 or 1, received ${src[bad]} at flat index ${bad}`,
        );
      }
      // a copy: `slice` on a Node Buffer would be a view of the caller's bytes
      return new Uint8Array(src);
    }
  }
}

/**
 * Reads a safetensors file (Hugging Face's format: u64 header length, JSON header, raw little-endian
 * data) into tensors on the active backend: F32 → float32, F16 and BF16 → float32 (widened exactly),
 * I32 and U8 → int32, BOOL → bool.
 *
 * The whole file is validated before the first tensor is created, so a `FormatError` leaves nothing
 * behind. The caller owns (and disposes) the returned tensors.
 */
export function readSafetensors(bytes: Uint8Array): Record<string, Tensor> {
  checkBytes(bytes);
  const { entries } = parseSafetensors(bytes);
  // Decoding validates BOOL bytes, so it too happens before any tensor exists.
  const decoded = entries.map((entry) => decodeValues(entry, bytes.subarray(entry.start, entry.end)));
  const tensors: Tensor[] = [];
  try {
    entries.forEach((entry, i) => {
      tensors.push(tf.tensor(decoded[i] as Values, entry.shape, DTYPES[entry.dtype].tf));
    });
  } catch (e) {
    tf.dispose(tensors);
    throw e;
  }
  // fromEntries defines own properties, so a tensor named "__proto__" stays a tensor
  return Object.fromEntries(entries.map((entry, i) => [entry.name, tensors[i] as Tensor]));
}

/** The header's `__metadata__` string map (`{}` when absent). Validates the whole file; creates no tensors. */
export function readSafetensorsMetadata(bytes: Uint8Array): Record<string, string> {
  checkBytes(bytes);
  return parseSafetensors(bytes).metadata;
}
