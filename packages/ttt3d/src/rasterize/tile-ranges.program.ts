import { flatGrid, LINEAR_WORKGROUP_INDEX, type WebGPUProgram } from '@tessera/tensor-core';
import { INTERSECTIONS_WGSL } from './intersections.wgsl.js';

const WORKGROUP = 128;

/**
 * Per tile (one thread each): [start, end) of its entries in the sorted intersection list, by two binary
 * searches over the tile word. Writes `[tiles, 2]`.
 */
export class TileRangesProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = `tessera_gs_tile_ranges_${WORKGROUP}`;
  variableNames = ['keys', 'offsets'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout: WebGPUProgram['dispatchLayout'];
  dispatch: [number, number, number];
  uniforms = 'n : i32, capacity : i32, tiles : i32,';

  constructor(tiles: number) {
    this.outputShape = [tiles, 2];
    ({ dispatchLayout: this.dispatchLayout, dispatch: this.dispatch } = flatGrid(this.outputShape, Math.ceil(tiles / WORKGROUP)));
  }

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  ${INTERSECTIONS_WGSL}

  /** First entry whose tile is ≥ tile. */
  fn lowerBound(tile : i32, stored : i32) -> i32 {
    var lo = 0;
    var hi = stored;
    while (lo < hi) {
      let mid = (lo + hi) / 2;
      if (keys[KEY_WORDS * mid] < tile) { lo = mid + 1; } else { hi = mid; }
    }
    return lo;
  }

  fn main(index : i32) {
    let tile = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (tile >= uniforms.tiles) { return; }
    let stored = storedIntersections();
    result[2 * tile] = lowerBound(tile, stored);
    result[2 * tile + 1] = lowerBound(tile + 1, stored);
  }
`;
  }
}
