/**
 * Stand-ins for the node builtins that the demo's parts import for their CLI paths (weights from disk, PNG files).
 * The page reaches none of them except `fileURLToPath` and `join` at module load; anything else throws, naming itself.
 */
function unavailable(name: string): () => never {
  return () => {
    throw new Error(`${name} is not available in the browser`);
  };
}
export const fileURLToPath = (u: URL | string): string => (typeof u === 'string' ? new URL(u).pathname : u.pathname);
export const join = (...parts: string[]): string => parts.join('/').replace(/\/+/g, '/');
export const dirname = (p: string): string => p.replace(/\/[^/]*\/?$/, '') || '/';
export const existsSync = (): boolean => false;
export const readFile = unavailable('readFile');
export const readFileSync = unavailable('readFileSync');
export const readdirSync = unavailable('readdirSync');
export const mkdir = unavailable('mkdir');
export const rename = unavailable('rename');
export const rm = unavailable('rm');
export const rmdir = unavailable('rmdir');
export const stat = unavailable('stat');
export const randomBytes = unavailable('randomBytes');
export const deflateSync = unavailable('deflateSync');
export const inflateSync = unavailable('inflateSync');
export const createRequire = unavailable('createRequire');
export const tmpdir = unavailable('tmpdir');
export const parseArgs = unavailable('parseArgs');
export default {};
