import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const weights = here('./weights/');
const shim = here('./web/src/node-shim.ts');

/**
 * `virtual:lm-mixes`: the committed LM weight folders (weights/lm/<mix> with model.safetensors), found at build
 * time, so the page fetches only files that exist (a 404 would be a console error) and says "to be trained" otherwise.
 */
function lmMixes(): Plugin {
  const id = 'virtual:lm-mixes';
  return {
    name: 'tessera-lm-mixes',
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load(source) {
      if (source !== `\0${id}`) return undefined;
      const root = `${weights}lm/`;
      const mixes = existsSync(root)
        ? readdirSync(root).filter((m) => existsSync(`${root}${m}/model.safetensors`) && existsSync(`${root}${m}/config.json`))
        : [];
      return `export default ${JSON.stringify(mixes.sort())};`;
    },
  };
}

// The parts' modules import node builtins for their CLI paths (files, PNG encoding); the page never calls those,
// but their imports must resolve in a browser bundle.
const NODE_BUILTINS = ['fs', 'fs/promises', 'path', 'url', 'crypto', 'zlib', 'module', 'os', 'util', 'child_process'];

export default defineConfig({
  root: here('./web/'),
  base: './',
  // weights/ (absent until trained) is served and copied as is: weights/lm/<mix>/{config.json,model.safetensors}
  publicDir: weights,
  plugins: [lmMixes()],
  resolve: {
    alias: NODE_BUILTINS.flatMap((m) => [{ find: new RegExp(`^node:${m.replace('/', '\\/')}$`), replacement: shim }]),
  },
  build: {
    outDir: here('./dist-web/'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 8000,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
