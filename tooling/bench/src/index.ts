export { parseArgs, runSuites, type RunOptions } from './run-suites.js';
export { loadSuites, type LoadSuitesOptions } from './load-suites.js';
