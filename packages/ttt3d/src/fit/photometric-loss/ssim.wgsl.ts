import { C1, C2, RADIUS, WINDOW, window1d } from './window.js';

/** A float32 value as a WGSL f32 literal that parses back to exactly that value. */
function f32Literal(v: number): string {
  const s = String(Math.fround(v));
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** Threads per workgroup of every loss program, one element (pixel × channel) each. */
export const LOSS_WORKGROUP = 256;

/** Uniforms of the blur programs: the image size and M = h·w·3. */
export const BLUR_UNIFORMS = 'h : i32, w : i32, n : i32,';

/**
 * What every loss program shares: the window, SSIM's constants, the element index, and `ssimTerms` — S and
 * its partials (a, b, c) from the five windowed statistics, the expressions of ssim-terms.ts. Images are
 * `[h, w, 3]` flattened, element e = (i·w + j)·3 + c; statistics and maps are planes of M = h·w·3 elements.
 */
export const SSIM_WGSL = `
  const RADIUS = ${RADIUS};
  var<private> GAUSS : array<f32, ${WINDOW}> = array<f32, ${WINDOW}>(${Array.from(window1d(), f32Literal).join(', ')});
  const C1 : f32 = ${f32Literal(C1)};
  const C2 : f32 = ${f32Literal(C2)};

  fn elementIndex() -> i32 {
    return i32(linearWorkgroupIndex() * ${LOSS_WORKGROUP}u + localIndex);
  }

  /** [first, last] tap offsets of the window around position p on an axis of length len (zero padding). */
  fn taps(p : i32, len : i32) -> vec2<i32> {
    return vec2<i32>(max(-RADIUS, -p), min(RADIUS, len - 1 - p));
  }

  /** (S, ∂S/∂μx, ∂S/∂E[x²], ∂S/∂E[xy]) from μx, μy, E[x²], E[y²], E[xy]. */
  fn ssimTerms(mx : f32, my : f32, exx : f32, eyy : f32, exy : f32) -> vec4<f32> {
    let mxy = mx * my;
    let n1 = mxy * 2.0 + C1;
    let n2 = (exy - mxy) * 2.0 + C2;
    let d1 = mx * mx + my * my + C1;
    let d2 = exx - mx * mx + (eyy - my * my) + C2;
    let s = (n1 * n2) / (d1 * d2);
    let a = (2.0 * my * (n2 - n1)) / (d1 * d2) + 2.0 * mx * s * (1.0 / d2 - 1.0 / d1);
    return vec4<f32>(s, a, -s / d2, (2.0 * n1) / (d1 * d2));
  }
`;
