import { FormatError } from '@tessera/tensor-core';

/** Byte sizes of the PLY scalar types, under both the classic and the sized names. */
const TYPE_SIZES: Record<string, number> = {
  char: 1,
  uchar: 1,
  int8: 1,
  uint8: 1,
  short: 2,
  ushort: 2,
  int16: 2,
  uint16: 2,
  int: 4,
  uint: 4,
  int32: 4,
  uint32: 4,
  float: 4,
  float32: 4,
  double: 8,
  float64: 8,
};

export interface PlyProperty {
  name: string;
  type: string;
  /** Byte offset within one record of its element. */
  offset: number;
}

export interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
  /** Bytes per record. */
  stride: number;
}

export interface PlyHeader {
  elements: PlyElement[];
  /** Byte offset of the first element's data. */
  dataOffset: number;
}

const END = 'end_header';
/** Headers longer than this are not .ply headers (3DGS' is about 1.5 kB). */
const MAX_HEADER_BYTES = 1 << 20;

/** Finds `end_header` followed by a line break; returns the offset just past it. */
function findHeaderEnd(bytes: Uint8Array): number {
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES);
  outer: for (let i = 0; i + END.length < limit; i++) {
    for (let j = 0; j < END.length; j++) if (bytes[i + j] !== END.charCodeAt(j)) continue outer;
    // end_header must start a line
    if (i > 0 && bytes[i - 1] !== 0x0a) continue;
    const after = i + END.length;
    if (bytes[after] === 0x0a) return after + 1;
    if (bytes[after] === 0x0d && bytes[after + 1] === 0x0a) return after + 2;
  }
  throw new FormatError(`ply: header has no "end_header" line within the first ${limit} bytes`);
}

/**
 * Parses a binary little-endian PLY header (scalar properties only) and lays out each element's record.
 * Throws FormatError naming the problem: bad magic, unsupported format, malformed or unknown lines.
 */
export function parsePlyHeader(bytes: Uint8Array): PlyHeader {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('ply: expected the file as a Uint8Array');
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'ply\n' && !(magic === 'ply\r' && bytes[4] === 0x0a)) {
    throw new FormatError(`ply: bad magic, expected the file to start with "ply" and a line break, received ${JSON.stringify(magic)}`);
  }
  const dataOffset = findHeaderEnd(bytes);
  const lines = new TextDecoder('latin1')
    .decode(bytes.subarray(0, dataOffset))
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l !== '');
  let format: string | undefined;
  const elements: PlyElement[] = [];
  for (const [index, line] of lines.slice(1, -1).entries()) {
    const words = line.split(/\s+/);
    const where = `ply header line ${index + 2} (${JSON.stringify(line)})`;
    switch (words[0]) {
      case 'comment':
      case 'obj_info':
        break;
      case 'format': {
        if (words.length !== 3) throw new FormatError(`${where}: expected "format <type> 1.0"`);
        format = words[1];
        if (format !== 'binary_little_endian') {
          throw new FormatError(`ply: unsupported format "${format}", expected binary_little_endian (the 3DGS layout)`);
        }
        if (words[2] !== '1.0') throw new FormatError(`ply: unsupported format version "${words[2]}", expected 1.0`);
        break;
      }
      case 'element': {
        const count = Number(words[2]);
        if (words.length !== 3 || !/^\d+$/.test(words[2] ?? '') || !Number.isSafeInteger(count)) {
          throw new FormatError(`${where}: expected "element <name> <count>" with a non-negative integer count`);
        }
        elements.push({ name: words[1]!, count, properties: [], stride: 0 });
        break;
      }
      case 'property': {
        const element = elements[elements.length - 1];
        if (!element) throw new FormatError(`${where}: property before any element`);
        if (words[1] === 'list') {
          throw new FormatError(`ply: unsupported list property "${words[4] ?? ''}" in element ${element.name}`);
        }
        const size = TYPE_SIZES[words[1] ?? ''];
        if (words.length !== 3 || size === undefined) {
          throw new FormatError(`${where}: expected "property <type> <name>" with a PLY scalar type`);
        }
        if (element.properties.some((p) => p.name === words[2])) {
          throw new FormatError(`ply: duplicate property "${words[2]}" in element ${element.name}`);
        }
        element.properties.push({ name: words[2]!, type: words[1]!, offset: element.stride });
        element.stride += size;
        break;
      }
      default:
        throw new FormatError(`${where}: unknown header keyword "${words[0]}"`);
    }
  }
  if (format === undefined) throw new FormatError('ply: header has no "format" line');
  return { elements, dataOffset };
}
