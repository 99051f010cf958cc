import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { ORDER_WGSL } from './intersections.wgsl.js';

const WORKGROUP = 128;

/**
 * Per tile (one thread each): its first entry in the tile-sorted intersection list, by binary search over the
 * tile word; writes `[tiles + 1]`, the last the stored count, so tile t's entries are [start(t), start(t + 1)).
 * Needed only when the tile sort takes more than one radix pass (more than 256 tiles); a single pass writes these
 * itself (radix-scatter.program.ts).
 */
export class TileRangesProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_tile_ranges_${WORKGROUP}`;
  variableNames = ['keys', 'order'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'n : i32, capacity : i32, tiles : i32,';

  constructor(tiles: number) {
    this.outputShape = [tiles + 1];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil((tiles + 1) / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${ORDER_WGSL}

  fn main(index : i32) {
    let tile = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (tile > uniforms.tiles) { return; }
    // first entry whose tile is ≥ tile
    var lo = 0;
    var hi = storedIntersections();
    while (lo < hi) {
      let mid = (lo + hi) / 2;
      if (keys[KEY_WORDS * mid] < tile) { lo = mid + 1; } else { hi = mid; }
    }
    result[tile] = lo;
  }
`;
  }
}
