import { tf, ValueError } from '@tessera/tensor-core';
import { PARTIAL_WIDTH } from './composite-backward.program.js';
import { TILE_SIZE } from './constants.js';
import { GRAD_HEAD } from './gaussian-backward.program.js';
import { KEY_WORDS } from './intersections.wgsl.js';
import { PRE_STRIDE } from './projection.wgsl.js';
import { RADIX_BLOCK, RADIX_BUCKETS } from './radix.wgsl.js';

/** The active backend's largest storage binding (WebGPU), or undefined elsewhere. */
export function maxStorageBinding(): number | undefined {
  const backend = tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } };
  return backend.device?.limits?.maxStorageBufferBindingSize;
}

/** One storage buffer of the WebGPU rasteriser: what it holds (with its shape) and its size. */
export interface StorageBinding {
  name: string;
  bytes: number;
}

/**
 * The largest storage buffer the WebGPU forward (kernel.ts) binds for `n` Gaussians of `shK` SH coefficients,
 * `capacity` intersections and a width × height image, or the backward, which also binds the forward's. Only the
 * buffers that grow fastest are counted (the rest, such as the depth order's 12 bytes a Gaussian, are smaller than one
 * of these for every shape).
 */
export function largestStorageBinding(
  pass: 'forward' | 'backward',
  n: number,
  shK: number,
  capacity: number,
  width: number,
  height: number,
): StorageBinding {
  const tiles = Math.ceil(width / TILE_SIZE) * Math.ceil(height / TILE_SIZE);
  // the tile-sorted list, then either the first pass' histograms or the tile ranges after it (radix-sort.ts)
  const keyTail = Math.max(RADIX_BUCKETS * Math.ceil(capacity / RADIX_BLOCK), tiles + 1);
  const bindings: StorageBinding[] = [
    { name: `sh [${n}, ${shK}, 3]`, bytes: 12 * n * shK },
    { name: `pre [${n}, ${PRE_STRIDE}]`, bytes: 4 * PRE_STRIDE * n },
    { name: `keys (${capacity} intersections)`, bytes: 4 * (KEY_WORDS * capacity + keyTail) },
    { name: `image [${height}, ${width}, 5]`, bytes: 20 * width * height },
  ];
  if (pass === 'backward') {
    bindings.push(
      { name: `partials [${capacity}, ${PARTIAL_WIDTH}]`, bytes: 4 * PARTIAL_WIDTH * capacity },
      { name: `gradients [${n}, ${GRAD_HEAD + 3 * shK}]`, bytes: 4 * (GRAD_HEAD + 3 * shK) * n },
    );
  }
  return bindings.reduce((a, b) => (b.bytes > a.bytes ? b : a));
}

/**
 * Throws before the first dispatch when a buffer of the WebGPU pass would exceed the device's largest storage binding
 * (`limit`, `maxStorageBinding()`: undefined off WebGPU, where there is nothing to check): the device otherwise fails mid-pass with a
 * validation error about a bind group, which names neither the buffer nor what to change.
 */
export function checkStorageBindings(
  pass: 'forward' | 'backward',
  n: number,
  shK: number,
  attrs: { capacity: number; width: number; height: number },
  limit: number | undefined,
): void {
  if (limit === undefined) return;
  const largest = largestStorageBinding(pass, n, shK, attrs.capacity, attrs.width, attrs.height);
  if (largest.bytes <= limit) return;
  throw new ValueError(
    `rasterize: the WebGPU ${pass} would bind ${largest.name}, ${largest.bytes} bytes, above this device's maxStorageBufferBindingSize of ${limit} bytes; render fewer Gaussians, fewer SH coefficients or fewer intersections (maxIntersections)`,
  );
}
