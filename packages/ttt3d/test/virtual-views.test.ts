import { describe, expect, it } from 'vitest';
import { Camera, orbitCameras } from '../src/camera/index.js';
import { representativeCameras } from '../src/tttlrm/index.js';
import { nearestDistinct } from '../src/tttlrm/virtual-views.js';

const at = (azimuth: number, elevation: number): Camera =>
  Camera.fromLookAt(
    [2 * Math.cos(elevation) * Math.sin(azimuth), 2 * Math.sin(elevation), 2 * Math.cos(elevation) * Math.cos(azimuth)],
    [0, 0, 0],
    [0, 1, 0],
    { fovY: 0.8, width: 16, height: 16 },
  );

describe('representativeCameras (tttLRM’s K-means choice of virtual views)', () => {
  it('takes one camera from each of four well-separated groups, the one nearest its group’s centre', () => {
    // four groups of three around the azimuths 0, π/2, π, 3π/2; the middle camera of each group is nearest its centre
    const cameras = [0, 1, 2, 3].flatMap((g) => [-0.05, 0, 0.05].map((d) => at((g * Math.PI) / 2 + d, 0.3)));
    // shuffled, so that the answer does not follow from the input order
    const order = [7, 2, 10, 0, 5, 11, 3, 8, 1, 6, 9, 4];
    const shuffled = order.map((i) => cameras[i] as Camera);
    const picked = representativeCameras(shuffled, 4);
    expect(picked.map((i) => order[i])).toEqual(expect.arrayContaining([1, 4, 7, 10]));
    expect(picked).toEqual([...picked].sort((a, b) => a - b));
  });

  it('gives distinct indices, deterministically, and every camera when asked for as many or more', () => {
    const cameras = orbitCameras(20, { radius: 2, elevation: 0.3, fov: 0.8, size: 16 });
    for (const k of [1, 5, 8, 19]) {
      const picked = representativeCameras(cameras, k);
      expect(new Set(picked).size).toBe(k);
      expect(picked.every((i) => Number.isInteger(i) && i >= 0 && i < 20)).toBe(true);
      expect(representativeCameras(cameras, k)).toEqual(picked);
    }
    expect(representativeCameras(cameras, 20)).toEqual([...Array(20).keys()]);
    expect(representativeCameras(cameras, 30)).toEqual([...Array(20).keys()]);
  });

  it('spreads a ring of cameras evenly: 4 of 16 on a circle are a quarter turn apart', () => {
    const cameras = Array.from({ length: 16 }, (_, i) => at((i * Math.PI) / 8, 0.3));
    const picked = representativeCameras(cameras, 4);
    const gaps = picked.map((p, i) => ((picked[(i + 1) % 4] as number) - p + 16) % 16);
    expect(gaps.every((g) => g >= 3 && g <= 5)).toBe(true);
  });

  it('takes a camera nearest two centres once: the second centre takes its nearest camera not yet taken', () => {
    const points = [[0], [1], [5], [9]];
    expect(nearestDistinct(points, [[0.9], [1.2]])).toEqual([0, 1]);
    expect(nearestDistinct(points, [[1.2], [0.9], [8]])).toEqual([0, 1, 3]);
    expect(nearestDistinct(points, [[4], [6]])).toEqual([2, 3]);
  });
});
