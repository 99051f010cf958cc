/**
 * WGSL statements that stage a tile of `rows` rows (`count` of them valid, the rest zero) of a `[·, HD]`
 * buffer in workgroup memory, in the two layouts the flash programs' 4×4 register tiles read:
 * transposed (`[HD][stride]` vec4s over rows: an operand whose rows a thread owns four of) and row-major
 * (`[rows][DP]`, vec4 over columns, zero past HD). Global loads are coalesced (consecutive threads read
 * consecutive floats of a row). In the transposed layout each thread gathers four rows of one column into
 * a vec4 and stores it whole; `stride` = rows/4 + 1 vec4s per column keeps the stores of consecutive
 * columns in different banks (at rows/4 vec4s, 8 threads of a store phase hit the same banks).
 * `scale` multiplies the values (the softmax scale folded into Q or K).
 */
export function loadTransposed(dst: string, src: string, base: string, rows: number, count: string, stride: string, scale = ''): string {
  return `
      for (var e = tid; e < HD * ${rows / 4}; e += NT) {
        let dd = e % HD;
        let r4 = e / HD;
        let b = ${base} + r4 * 4 * HD + dd;
        var x = vec4<f32>(0.0);
        if (r4 * 4 < ${count}) { x.x = ${src}[b]; }
        if (r4 * 4 + 1 < ${count}) { x.y = ${src}[b + HD]; }
        if (r4 * 4 + 2 < ${count}) { x.z = ${src}[b + 2 * HD]; }
        if (r4 * 4 + 3 < ${count}) { x.w = ${src}[b + 3 * HD]; }
        ${dst}[dd * ${stride} + r4] = x${scale};
      }`;
}

export function loadRows(dst: string, src: string, base: string, rows: number, count: string): string {
  return `
      for (var e = tid; e < ${rows} * DP4 * 4; e += NT) {
        let r = e / (DP4 * 4);
        let dd = e % (DP4 * 4);
        var x = 0.0;
        if (r < ${count} && dd < HD) { x = ${src}[${base} + r * HD + dd]; }
        ${dst}[r * DP4 + dd / 4][dd % 4] = x;
      }`;
}
