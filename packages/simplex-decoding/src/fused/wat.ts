/**
 * A WebAssembly text assembler for the few forms the host kernels' modules use (collect.wat.ts): one
 * `(module …)` of an imported memory and functions with named params, result and locals, their bodies
 * as flat instructions (no folded forms), from the opcode table below. Kept to that subset so that the
 * module ships as readable text with no build step and no dependency; what it emits is the binary
 * format of the WebAssembly core spec, section by section, as wabt's `wat2wasm` writes it.
 */

type Sexp = string | Sexp[];

const VALUE_TYPES: Record<string, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** How an instruction's immediates are written. */
type Immediate = 'none' | 'local' | 'label' | 'block' | 'end' | 'i32' | 'memarg' | 'v128';

/** Opcode bytes (before the immediates), the immediates, and for memory accesses the natural alignment (log2 bytes). */
const OPCODES: Record<string, { bytes: number[]; immediate: Immediate; align?: number }> = {
  block: { bytes: [0x02], immediate: 'block' },
  loop: { bytes: [0x03], immediate: 'block' },
  if: { bytes: [0x04], immediate: 'block' },
  end: { bytes: [0x0b], immediate: 'end' },
  br: { bytes: [0x0c], immediate: 'label' },
  br_if: { bytes: [0x0d], immediate: 'label' },
  return: { bytes: [0x0f], immediate: 'none' },
  select: { bytes: [0x1b], immediate: 'none' },
  'local.get': { bytes: [0x20], immediate: 'local' },
  'local.set': { bytes: [0x21], immediate: 'local' },
  'local.tee': { bytes: [0x22], immediate: 'local' },
  'i32.const': { bytes: [0x41], immediate: 'i32' },
  'i32.eqz': { bytes: [0x45], immediate: 'none' },
  'i32.lt_u': { bytes: [0x49], immediate: 'none' },
  'i32.ge_u': { bytes: [0x4f], immediate: 'none' },
  'i32.popcnt': { bytes: [0x69], immediate: 'none' },
  'i32.add': { bytes: [0x6a], immediate: 'none' },
  'i32.sub': { bytes: [0x6b], immediate: 'none' },
  'i32.and': { bytes: [0x71], immediate: 'none' },
  'i32.or': { bytes: [0x72], immediate: 'none' },
  'i32.shl': { bytes: [0x74], immediate: 'none' },
  'i32.shr_u': { bytes: [0x76], immediate: 'none' },
  'v128.load': { bytes: [0xfd, 0x00], immediate: 'memarg', align: 4 },
  'v128.store': { bytes: [0xfd, 0x0b], immediate: 'memarg', align: 4 },
  'v128.const': { bytes: [0xfd, 0x0c], immediate: 'v128' },
  'i8x16.swizzle': { bytes: [0xfd, 0x0e], immediate: 'none' },
  'i32x4.splat': { bytes: [0xfd, 0x11], immediate: 'none' },
  'f32x4.splat': { bytes: [0xfd, 0x13], immediate: 'none' },
  'f32x4.ne': { bytes: [0xfd, 0x42], immediate: 'none' },
  'f32x4.ge': { bytes: [0xfd, 0x46], immediate: 'none' },
  'v128.or': { bytes: [0xfd, 0x50], immediate: 'none' },
  'v128.any_true': { bytes: [0xfd, 0x53], immediate: 'none' },
  'i32x4.bitmask': { bytes: [0xfd, 0xa4, 0x01], immediate: 'none' },
  'i32x4.add': { bytes: [0xfd, 0xae, 0x01], immediate: 'none' },
};

function unsigned(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    const b = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? b : b | 0x80);
  } while (v !== 0);
  return out;
}

function signed(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...unsigned(items.length), ...items.flat()];
const utf8 = (s: string): number[] => vector([...new TextEncoder().encode(s)].map((b) => [b]));
const section = (id: number, body: number[]): number[] => [id, ...unsigned(body.length), ...body];

function parse(text: string): Sexp {
  const tokens = text.replace(/;;[^\n]*/g, '').match(/"[^"]*"|[()]|[^\s()]+/g) ?? [];
  const stack: Sexp[][] = [[]];
  for (const token of tokens) {
    if (token === '(') stack.push([]);
    else if (token === ')') {
      const list = stack.pop() as Sexp[];
      (stack[stack.length - 1] as Sexp[]).push(list);
    } else (stack[stack.length - 1] as Sexp[]).push(token);
  }
  return (stack[0] as Sexp[])[0] as Sexp;
}

const atom = (x: Sexp | undefined, what: string): string => {
  if (typeof x !== 'string') throw new Error(`wat: expected ${what}, received ${JSON.stringify(x)}`);
  return x;
};
const unquote = (s: string): string => s.slice(1, -1);

function integer(s: string): number {
  const v = Number(s.replace(/_/g, ''));
  if (!Number.isInteger(v)) throw new Error(`wat: expected an integer, received ${s}`);
  return v;
}

/** One function: its signature, and its body encoded (locals declaration, instructions, final end). */
function assembleFunc(func: Sexp[]): { params: number[]; results: number[]; exportName?: string; body: number[] } {
  const locals: string[] = [];
  const params: number[] = [];
  const results: number[] = [];
  const localTypes: number[] = [];
  let exportName: string | undefined;
  const code: number[] = [];
  const labels: (string | undefined)[] = [];
  const localIndex = (s: string): number => {
    const i = s.startsWith('$') ? locals.indexOf(s) : integer(s);
    if (i < 0) throw new Error(`wat: unknown local ${s}`);
    return i;
  };
  let at = 1;
  for (; at < func.length && Array.isArray(func[at]); at++) {
    const [head, ...rest] = func[at] as Sexp[];
    if (head === 'export') exportName = unquote(atom(rest[0], 'an export name'));
    else if (head === 'param' || head === 'local') {
      const named = atom(rest[0], 'a type').startsWith('$');
      const names = named ? [atom(rest[0], 'a name')] : rest.map(() => '');
      const types = (named ? rest.slice(1) : rest).map((t) => VALUE_TYPES[atom(t, 'a type')] as number);
      names.forEach((name) => {
        locals.push(name);
      });
      (head === 'param' ? params : localTypes).push(...types);
    } else if (head === 'result') results.push(...rest.map((t) => VALUE_TYPES[atom(t, 'a type')] as number));
    else throw new Error(`wat: unsupported function field ${String(head)}`);
  }
  const words = func.slice(at).map((x) => atom(x, 'a flat instruction'));
  for (let i = 0; i < words.length; i++) {
    const name = words[i] as string;
    const op = OPCODES[name];
    if (op === undefined) throw new Error(`wat: unsupported instruction ${name}`);
    code.push(...op.bytes);
    switch (op.immediate) {
      case 'local':
        code.push(...unsigned(localIndex(words[++i] as string)));
        break;
      case 'label': {
        const target = words[++i] as string;
        const depth = target.startsWith('$') ? labels.length - 1 - labels.lastIndexOf(target) : integer(target);
        if (depth >= labels.length) throw new Error(`wat: unknown label ${target}`);
        code.push(...unsigned(depth));
        break;
      }
      case 'block':
        labels.push(words[i + 1]?.startsWith('$') ? words[++i] : undefined);
        code.push(0x40);
        break;
      case 'end':
        labels.pop();
        break;
      case 'i32':
        code.push(...signed(integer(words[++i] as string)));
        break;
      case 'memarg': {
        let offset = 0;
        let align = op.align as number;
        for (; /^(offset|align)=/.test(words[i + 1] ?? ''); i++) {
          const [key, value] = (words[i + 1] as string).split('=') as [string, string];
          if (key === 'offset') offset = integer(value);
          else align = Math.log2(integer(value));
        }
        code.push(...unsigned(align), ...unsigned(offset));
        break;
      }
      case 'v128': {
        if (words[++i] !== 'i32x4') throw new Error(`wat: v128.const supports the i32x4 shape, received ${words[i]}`);
        const lanes = new Int32Array(4).map((_, lane) => integer(words[i + 1 + lane] as string));
        i += 4;
        code.push(...new Uint8Array(lanes.buffer));
        break;
      }
      case 'none':
        break;
    }
  }
  // runs of one type, as wat2wasm groups them
  const groups: number[][] = [];
  for (let j = 0; j < localTypes.length; ) {
    let run = 1;
    while (localTypes[j + run] === localTypes[j]) run++;
    groups.push([...unsigned(run), localTypes[j] as number]);
    j += run;
  }
  return { params, results, exportName, body: [...vector(groups), ...code, 0x0b] };
}

/** The binary module of `text` (see the file's comment for the forms it takes). */
export function assembleWat(text: string): Uint8Array<ArrayBuffer> {
  const module = parse(text);
  if (!Array.isArray(module) || module[0] !== 'module') throw new Error('wat: expected (module …)');
  const imports: number[][] = [];
  const funcs: ReturnType<typeof assembleFunc>[] = [];
  for (const field of module.slice(1)) {
    if (!Array.isArray(field)) throw new Error(`wat: unexpected ${field} in the module`);
    if (field[0] === 'import') {
      const desc = field[3] as Sexp[];
      if (desc[0] !== 'memory') throw new Error('wat: only a memory may be imported');
      const limits = desc.slice(1).map((x) => integer(atom(x, 'a page count')));
      const limitBytes = limits.length === 1 ? [0x00, ...unsigned(limits[0] as number)] : [0x01, ...limits.flatMap(unsigned)];
      imports.push([...utf8(unquote(atom(field[1], 'a module name'))), ...utf8(unquote(atom(field[2], 'a name'))), 0x02, ...limitBytes]);
    } else if (field[0] === 'func') funcs.push(assembleFunc(field));
    else throw new Error(`wat: unsupported module field ${String(field[0])}`);
  }
  const signatures: string[] = [];
  const typeOf = funcs.map((f) => {
    const key = JSON.stringify([f.params, f.results]);
    if (!signatures.includes(key)) signatures.push(key);
    return signatures.indexOf(key);
  });
  const types = signatures.map((key) => {
    const [params, results] = JSON.parse(key) as [number[], number[]];
    return [0x60, ...vector(params.map((t) => [t])), ...vector(results.map((t) => [t]))];
  });
  const exports = funcs.flatMap((f, i) => (f.exportName === undefined ? [] : [[...utf8(f.exportName), 0x00, ...unsigned(i)]]));
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...(imports.length > 0 ? section(2, vector(imports)) : []),
    ...section(3, vector(typeOf.map((t) => unsigned(t)))),
    ...(exports.length > 0 ? section(7, vector(exports)) : []),
    ...section(10, vector(funcs.map((f) => [...unsigned(f.body.length), ...f.body]))),
  ]);
}
