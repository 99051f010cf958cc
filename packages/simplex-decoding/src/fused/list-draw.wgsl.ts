import { DRAW_MAIN_WGSL } from '../sample/draw-output.js';
import { SORT_LIST_WGSL } from './select-list.wgsl.js';
import { KEPT_OF_LIST_WGSL, SELECT_DRAW_WGSL } from './select-stages.wgsl.js';

/**
 * The draw from a top-k list in workgroup memory that `RadixListDrawProgram` and `CandidatesDrawProgram` share
 * (the one-workgroup path's list draw, so all three draw the same token): the list state that `keptOfList` and
 * `drawFromList` read (listMode 0: the list starts with the top-k set), the write of both outputs and `main`
 * (draw-output.ts: the program defines `fn drawRow(row : i32)`), the sorts, top-p/min-p and the inverse CDF.
 * Expects the program's `candKey`, `candId` and `CAP`, keys.wgsl.ts and the uniforms `DRAW_UNIFORM_FIELDS`.
 */
export const LIST_DRAW_WGSL = `
  struct ListState {
    zmax : f32,
    listLen : u32,
    listMode : u32,
  }
  struct Goal {
    goalMass : f32,
  }

  var<workgroup> state : ListState;
  var<workgroup> search : Goal;

  ${DRAW_MAIN_WGSL}
  fn writeParams(row : i32, status : i32, id : i32, logprob : f32) {
    writeDraw(row, id, logprob);
  }

  ${SORT_LIST_WGSL}
  ${KEPT_OF_LIST_WGSL}
  ${SELECT_DRAW_WGSL}`;

/** `LIST_DRAW_WGSL`'s tail, once `state` holds the list: rank order, the kept prefix, id order, the inverse CDF of `row`. */
export const LIST_DRAW_TAIL_WGSL = `
    for (var phase = 0u; phase < 2u; phase++) {
      let m = workgroupUniformLoad(&state.listLen);
      sortList(m, phase == 1u);
      if (t == 0u) {
        if (phase == 0u) {
          state.listLen = keptOfList();
        } else {
          drawFromList(row, m);
        }
      }
    }`;
