import { describeValue, FormatError } from '../errors.js';
import { DTYPES, isSafetensorsDtype, type SafetensorsDtype, SUPPORTED_DTYPES } from './dtypes.js';

/** One tensor as the header describes it, validated against the file. */
export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range in the file (absolute, not relative to the data buffer). */
  start: number;
  end: number;
}

export interface ParsedFile {
  metadata: Record<string, string>;
  /** In header order. */
  entries: TensorEntry[];
}

export const METADATA_KEY = '__metadata__';

function fail(message: string): never {
  throw new FormatError(`safetensors: ${message}`);
}

function describeJsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and validates the whole layout of a safetensors file — header, every entry, and that the
 * tensors tile the data buffer exactly — without touching tensor data. Throws `FormatError`.
 *
 * Holes and overlaps are rejected as the reference Rust implementation does: a reader that accepted
 * them would load files that other tools refuse, and an overlap usually means a corrupt header.
 */
export function parseSafetensors(bytes: Uint8Array): ParsedFile {
  if (bytes.length < 8) {
    fail(`file too short: expected at least 8 bytes (the header length), received ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(Number.MAX_SAFE_INTEGER)) {
    fail(`header length ${declared} is too large to be real (the file has ${bytes.length} bytes)`);
  }
  const headerLength = Number(declared);
  if (headerLength > bytes.length - 8) {
    fail(`header length ${headerLength} runs past the end of the file: only ${bytes.length - 8} bytes follow the 8-byte prefix`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(header)) fail(`header: expected a JSON object, received ${describeJsonKind(header)}`);

  const metadata = parseMetadata(header[METADATA_KEY]);
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    entries.push(parseEntry(name, raw, dataStart, dataLength));
  }
  checkTiling(entries, dataStart, dataLength);
  return { metadata, entries };
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) fail(`${METADATA_KEY}: expected an object of string values, received ${describeJsonKind(raw)}`);
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      fail(`${METADATA_KEY}[${JSON.stringify(key)}]: expected a string value, received ${describeJsonKind(value)} ${describeValue(value)}`);
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays data rather than a prototype
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

function parseEntry(name: string, raw: unknown, dataStart: number, dataLength: number): TensorEntry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(raw)) fail(`${where}: expected an object { dtype, shape, data_offsets }, received ${describeJsonKind(raw)}`);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!(field in raw)) fail(`${where}: missing "${field}"`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') fail(`${where}: dtype: expected a string, received ${describeJsonKind(dtype)} ${describeValue(dtype)}`);
  if (!isSafetensorsDtype(dtype)) {
    fail(`${where}: unsupported dtype ${JSON.stringify(dtype)}; supported dtypes are ${SUPPORTED_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`${where}: shape: expected an array of non-negative integers, received ${describeValue(shape)}`);
  }
  const dims = shape as number[];
  const validOffsets =
    Array.isArray(offsets) &&
    offsets.length === 2 &&
    offsets.every((o) => Number.isSafeInteger(o)) &&
    0 <= offsets[0] &&
    offsets[0] <= offsets[1] &&
    offsets[1] <= dataLength;
  if (!validOffsets) {
    fail(
      `${where}: data_offsets: expected [begin, end] with 0 ≤ begin ≤ end ≤ ${dataLength} (the data buffer's length), received ${describeValue(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  const numel = dims.reduce((a, b) => a * b, 1);
  const expected = numel * DTYPES[dtype].size;
  if (expected !== end - begin) {
    fail(
      `${where}: shape/bytes mismatch: shape [${dims.join(', ')}] of ${dtype} needs ${expected} bytes, received data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
    );
  }
  return { name, dtype, shape: dims, start: dataStart + begin, end: dataStart + end };
}

function checkTiling(entries: readonly TensorEntry[], dataStart: number, dataLength: number): void {
  // Ties on start put empty tensors first, so an empty tensor at a neighbour's boundary is no overlap.
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.end - b.end);
  let covered = dataStart;
  let previous: TensorEntry | undefined;
  const rel = (at: number) => at - dataStart;
  const range = (e: TensorEntry) => `[${rel(e.start)}, ${rel(e.end)}]`;
  for (const entry of sorted) {
    if (entry.start < covered) {
      // covered > dataStart, so some tensor set it
      const other = previous as TensorEntry;
      fail(
        `data_offsets overlap: tensor ${JSON.stringify(other.name)} ${range(other)} and tensor ${JSON.stringify(entry.name)} ${range(entry)} share bytes`,
      );
    }
    if (entry.start > covered) {
      fail(
        `hole in the data buffer: bytes [${rel(covered)}, ${rel(entry.start)}) belong to no tensor (before tensor ${JSON.stringify(entry.name)})`,
      );
    }
    if (entry.end > covered) {
      covered = entry.end;
      previous = entry;
    }
  }
  if (rel(covered) !== dataLength) {
    fail(`trailing bytes: data buffer bytes [${rel(covered)}, ${dataLength}) belong to no tensor`);
  }
}
