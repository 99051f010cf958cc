import type { Tensor, TypedArray } from '@tensorflow/tfjs-core';
import { describeValue, DtypeError, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';
import {
  DEFAULT_DTYPE,
  DTYPES,
  describeTargets,
  HOST_LITTLE_ENDIAN,
  isSafetensorsDtype,
  isStorableDtype,
  type SafetensorsDtype,
  SUPPORTED_DTYPES,
} from './dtypes.js';
import { float32ToBF16Bits, float32ToF16Bits } from './half.js';
import { METADATA_KEY } from './header.js';

export interface WriteSafetensorsOptions {
  /** Free-form strings stored as the header's `__metadata__` (e.g. `{ format: 'pt' }` for transformers). */
  metadata?: Record<string, string>;
  /**
   * Storage dtype per tensor name. float32 tensors may be stored as F16 or BF16 (rounded to nearest,
   * ties to even; F16 overflows to ±Inf), int32 tensors as U8 (values must lie in 0..255). Tensors not
   * named here are stored as float32 → F32, int32 → I32, bool → BOOL.
   */
  dtypes?: Record<string, SafetensorsDtype>;
}

const WRITE_OPTIONS = ['metadata', 'dtypes'] as const;

interface Item {
  name: string;
  tensor: Tensor;
  dtype: SafetensorsDtype;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof tf.Tensor);
}

function describeName(name: string): string {
  return `[${JSON.stringify(name)}]`;
}

function planItems(tensors: Record<string, Tensor>, dtypes: Record<string, unknown>): Item[] {
  if (!isRecord(tensors)) {
    throw new ValueError(`tensors: expected an object of tensors by name, received ${describeValue(tensors)}`);
  }
  for (const name of Object.keys(dtypes)) {
    if (!Object.hasOwn(tensors, name)) {
      throw new ValueError(`opts.dtypes${describeName(name)}: names no tensor in tensors`);
    }
  }
  const items = Object.entries(tensors).map(([name, tensor]): Item => {
    if (name === '') throw new ValueError('tensors: tensor names must be non-empty, received ""');
    if (name === METADATA_KEY) {
      throw new ValueError(`tensors: "${METADATA_KEY}" is reserved for the header's metadata and cannot name a tensor`);
    }
    const where = `tensors${describeName(name)}`;
    if (!(tensor instanceof tf.Tensor)) throw new ValueError(`${where}: expected a tensor, received ${describeValue(tensor)}`);
    if (tensor.isDisposed) throw new ValueError(`${where}: expected a live tensor, received a disposed one`);
    if (!isStorableDtype(tensor.dtype)) {
      throw new DtypeError(`${where}: expected dtype float32, int32 or bool, received ${tensor.dtype}`);
    }
    const requested = Object.hasOwn(dtypes, name) ? dtypes[name] : undefined;
    if (requested === undefined) return { name, tensor, dtype: DEFAULT_DTYPE[tensor.dtype] };
    if (!isSafetensorsDtype(requested)) {
      throw new ValueError(
        `opts.dtypes${describeName(name)}: expected one of ${SUPPORTED_DTYPES.join(', ')}, received ${describeValue(requested)}`,
      );
    }
    if (DTYPES[requested].tf !== tensor.dtype) {
      throw new DtypeError(
        `opts.dtypes${describeName(name)}: ${requested} cannot store ${tensor.dtype} values; ${tensor.dtype} tensors are written as ${describeTargets(tensor.dtype)}`,
      );
    }
    return { name, tensor, dtype: requested };
  });
  // Widest elements first, then by name: deterministic, and with the 8-byte-aligned data start every
  // tensor sits at a multiple of its element size, as the reference writer arranges.
  return items.sort((a, b) => DTYPES[b.dtype].size - DTYPES[a.dtype].size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function planMetadata(metadata: unknown): [string, string][] | undefined {
  if (metadata === undefined) return undefined;
  if (!isRecord(metadata)) throw new ValueError(`opts.metadata: expected an object of strings, received ${describeValue(metadata)}`);
  const entries = Object.entries(metadata);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') {
      throw new ValueError(`opts.metadata${describeName(key)}: expected a string, received ${describeValue(value)}`);
    }
  }
  return entries as [string, string][];
}

function encode(item: Item, values: TypedArray, out: Uint8Array, offset: number, littleEndianHost: boolean): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, values.length * DTYPES[item.dtype].size);
  const n = values.length;
  switch (item.dtype) {
    case 'F32':
    case 'I32': {
      const typed = item.dtype === 'F32' ? Float32Array : Int32Array;
      if (littleEndianHost && values instanceof typed) {
        out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), offset);
      } else if (item.dtype === 'F32') {
        for (let i = 0; i < n; i++) view.setFloat32(4 * i, values[i] as number, true);
      } else {
        for (let i = 0; i < n; i++) view.setInt32(4 * i, values[i] as number, true);
      }
      return;
    }
    case 'F16':
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float32ToF16Bits(values[i] as number), true);
      return;
    case 'BF16':
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float32ToBF16Bits(values[i] as number), true);
      return;
    case 'U8':
      for (let i = 0; i < n; i++) {
        const v = values[i] as number;
        if (!(v >= 0 && v <= 255)) {
          throw new ValueError(
            `tensors${describeName(item.name)}: U8 stores values 0..255, received ${describeValue(v)} at flat index ${i}`,
          );
        }
        out[offset + i] = v;
      }
      return;
    case 'BOOL':
      for (let i = 0; i < n; i++) out[offset + i] = values[i] ? 1 : 0;
      return;
  }
}

/**
 * Serialises tensors to a safetensors file (Hugging Face's format), readable by `safetensors` in
 * Python and Rust. The header is padded with spaces to a multiple of 8 bytes and tensors are laid out
 * contiguously, widest dtype first then by name, so the same input always gives the same bytes.
 *
 * Asynchronous because WebGPU tensors in Node can only be read back with `await t.data()`. Every
 * argument is checked before any data is read; the tensors are not disposed.
 */
export async function writeSafetensors(tensors: Record<string, Tensor>, opts: WriteSafetensorsOptions = {}): Promise<Uint8Array> {
  return encodeSafetensors(tensors, opts, HOST_LITTLE_ENDIAN);
}

/** `writeSafetensors` with the host byte order as a parameter, so tests cover the byte-swapping path. */
export async function encodeSafetensors(
  tensors: Record<string, Tensor>,
  opts: WriteSafetensorsOptions,
  littleEndianHost: boolean,
): Promise<Uint8Array> {
  checkOptions(opts, WRITE_OPTIONS);
  const dtypes = opts.dtypes ?? {};
  if (!isRecord(dtypes)) {
    throw new ValueError(`opts.dtypes: expected an object of dtypes by tensor name, received ${describeValue(dtypes)}`);
  }
  const metadata = planMetadata(opts.metadata);
  const items = planItems(tensors, dtypes);
  const values = await Promise.all(items.map((item) => item.tensor.data()));

  const fields: string[] = [];
  if (metadata !== undefined) {
    fields.push(`"${METADATA_KEY}":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  const offsets: number[] = [];
  let dataLength = 0;
  items.forEach((item) => {
    const begin = dataLength;
    dataLength += item.tensor.size * DTYPES[item.dtype].size;
    offsets.push(begin);
    fields.push(
      `${JSON.stringify(item.name)}:{"dtype":"${item.dtype}","shape":[${item.tensor.shape.join(',')}],"data_offsets":[${begin},${dataLength}]}`,
    );
  });
  const json = new TextEncoder().encode(`{${fields.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  items.forEach((item, i) => {
    encode(item, values[i] as TypedArray, out, 8 + headerLength + (offsets[i] as number), littleEndianHost);
  });
  return out;
}
