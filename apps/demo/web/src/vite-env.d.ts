/// <reference types="vite/client" />
declare module 'virtual:lm-mixes' {
  const mixes: string[];
  export default mixes;
}
