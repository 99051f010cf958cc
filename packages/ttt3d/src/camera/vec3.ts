/** A point or direction in world or camera space. */
export type Vec3 = [number, number, number];

export function sub(a: readonly number[], b: readonly number[]): Vec3 {
  return [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
}

export function dot(a: readonly number[], b: readonly number[]): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}

export function cross(a: readonly number[], b: readonly number[]): Vec3 {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

export function norm(a: readonly number[]): number {
  return Math.sqrt(dot(a, a));
}

/** `a / |a|`; the caller guarantees `|a| > 0`. */
export function normalize(a: readonly number[]): Vec3 {
  const n = norm(a);
  return [a[0]! / n, a[1]! / n, a[2]! / n];
}
