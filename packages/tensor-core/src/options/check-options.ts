import { describeValue, ValueError } from '../errors.js';

/**
 * The one options check of every public function, constructor and layer (DESIGN.md, API conventions):
 * `undefined` becomes `{}`; anything but a plain object is an error; a key outside `known` is an error
 * that lists the known keys and suggests the closest one, so `{ temprature: 0.7 }` fails instead of being
 * ignored. `name` is how messages refer to the object (`opts`, `config`, `regularizer`).
 * Returns the object, typed, for destructuring.
 */
export function checkOptions<O extends object>(opts: O | undefined, known: readonly (keyof O & string)[], name = 'opts'): O {
  if (opts === undefined) return {} as O;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || isTensorLike(opts)) {
    throw new ValueError(`${name}: expected an options object { ${known.join(', ')} }, received ${describeValue(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    if ((known as readonly string[]).includes(key)) continue;
    const near = closest(key, known);
    const hint = near === undefined ? '' : ` (did you mean ${near}?)`;
    const list = known.length === 0 ? 'none' : known.join(', ');
    throw new ValueError(`${name}.${key}: expected one of the known options (${list}), received an unknown option${hint}`);
  }
  return opts;
}

function isTensorLike(value: object): boolean {
  return Array.isArray((value as { shape?: unknown }).shape) && typeof (value as { dtype?: unknown }).dtype === 'string';
}

/** The known key within edit distance ⌈len/3⌉ of `key` (a typo), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.ceil(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] as number;
}
