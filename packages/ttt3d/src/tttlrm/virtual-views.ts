import type { Camera } from '../camera/index.js';

/** Lloyd iterations at most; the assignments of a few dozen cameras settle in far fewer. */
const MAX_ITERATIONS = 100;

const dist2 = (a: readonly number[], b: readonly number[]): number => a.reduce((s, x, i) => s + (x - (b[i] as number)) ** 2, 0);

/**
 * Indices (ascending) of `count` representative cameras among `cameras`, as tttLRM's data loader picks its virtual
 * views when there are fewer of them than input views (`data/dataset_scene.py`): K-means over each camera's
 * [centre, viewing direction] (6-D), then the camera nearest each cluster centre. Deliberate differences: the
 * clustering starts from the camera nearest the mean and adds the farthest camera from those chosen, one at a time
 * (deterministic, where sklearn's k-means++ draws from a seeded RNG), and a camera nearest two centres is taken once,
 * the second centre taking its nearest camera not yet taken (the authors keep the duplicate, which doubles its
 * Gaussians). All cameras when `count ≥ cameras.length`.
 */
export function representativeCameras(cameras: readonly Camera[], count: number): number[] {
  const n = cameras.length;
  if (count >= n) return cameras.map((_, i) => i);
  const points = cameras.map((c) => [...c.center(), ...c.cameraToWorldDirection([0, 0, 1])]);
  const mean = points[0]!.map((_, j) => points.reduce((s, p) => s + (p[j] as number), 0) / n);
  const nearest = (to: readonly number[], among: number[]): number =>
    among.reduce((best, i) => (dist2(points[i]!, to) < dist2(points[best]!, to) ? i : best), among[0]!);
  const all = points.map((_, i) => i);
  const seeds = [nearest(mean, all)];
  while (seeds.length < count) {
    const gap = (i: number) => Math.min(...seeds.map((s) => dist2(points[i]!, points[s]!)));
    seeds.push(all.reduce((best, i) => (gap(i) > gap(best) ? i : best), 0));
  }
  let centres = seeds.map((i) => [...points[i]!]);
  let labels: number[] = [];
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    const next = points.map((p) => centres.reduce((best, c, k) => (dist2(p, c) < dist2(p, centres[best]!) ? k : best), 0));
    if (next.every((l, i) => l === labels[i])) break;
    labels = next;
    // an emptied cluster keeps its centre
    centres = centres.map((c, k) => {
      const members = points.filter((_, i) => labels[i] === k);
      return members.length === 0 ? c : c.map((_, j) => members.reduce((s, p) => s + (p[j] as number), 0) / members.length);
    });
  }
  return nearestDistinct(points, centres);
}

/**
 * For each centre in turn, the index of the point nearest it among those not yet taken (so a point nearest two
 * centres is taken once), ascending. `centres.length ≤ points.length`.
 */
export function nearestDistinct(points: readonly (readonly number[])[], centres: readonly (readonly number[])[]): number[] {
  const taken = new Set<number>();
  for (const c of centres) {
    let best = -1;
    points.forEach((p, i) => {
      if (!taken.has(i) && (best < 0 || dist2(p, c) < dist2(points[best]!, c))) best = i;
    });
    taken.add(best);
  }
  return [...taken].sort((a, b) => a - b);
}
