// The `bunny` package (Stanford bunny, CommonJS) ships no types: vertex positions and triangle indices.
declare module 'bunny' {
  const mesh: { positions: [number, number, number][]; cells: [number, number, number][] };
  export default mesh;
}
