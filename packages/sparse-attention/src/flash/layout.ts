import { type ProgramUniform, scalarUniforms } from '@tessera/tensor-core';

/**
 * Uniforms of the flash programs. Dense mode is the sparse walk with one query block per head
 * (`nq = 1`, `bq = lq`) and one segment per row. `qTiles` (`kTiles` in the dK/dV program) is the number
 * of tiles per query (key) block.
 */
export const FLASH_UNIFORMS =
  'heads : i32, lq : i32, lk : i32, causal : i32, sparse : i32, bq : i32, bk : i32, nq : i32, nk : i32, qTiles : i32, kTiles : i32, scale : f32,';

/** The static description of one flash call: sizes, mode and block geometry. */
export interface FlashGeometry {
  /** B·H. */
  heads: number;
  lq: number;
  lk: number;
  d: number;
  causal: boolean;
  sparse: boolean;
  /** Query and key block sizes (sparse mode). */
  bq: number;
  bk: number;
  scale: number;
}

/** Blocks per head along queries and keys: the mask's grid in sparse mode, one block of everything in dense mode. */
export function blockGrid(g: FlashGeometry): { nq: number; nk: number; bq: number; bk: number } {
  if (!g.sparse) return { nq: 1, nk: 1, bq: g.lq, bk: g.lk };
  return { nq: Math.ceil(g.lq / g.bq), nk: Math.ceil(g.lk / g.bk), bq: g.bq, bk: g.bk };
}

/** Uniform values for `FLASH_UNIFORMS`, with tiles of `tq` queries and `tk` keys. */
export function flashUniforms(g: FlashGeometry, tq: number, tk: number): ProgramUniform[] {
  const { nq, nk, bq, bk } = blockGrid(g);
  return [
    ...scalarUniforms('int32', [
      g.heads,
      g.lq,
      g.lk,
      g.causal ? 1 : 0,
      g.sparse ? 1 : 0,
      bq,
      bk,
      nq,
      nk,
      Math.ceil(bq / tq),
      Math.ceil(bk / tk),
    ]),
    ...scalarUniforms('float32', [g.scale]),
  ];
}

/** Workgroups of a query-tiled program (forward, dQ) and of the key-tiled dK/dV program. */
export function queryWorkgroups(g: FlashGeometry, tq: number): number {
  const { nq, bq } = blockGrid(g);
  return g.heads * nq * Math.ceil(bq / tq);
}

export function keyWorkgroups(g: FlashGeometry, tk: number): number {
  const { nk, bk } = blockGrid(g);
  return g.heads * nk * Math.ceil(bk / tk);
}
