export { parseArgs, runSuites, type RunOptions } from './run-suites.js';
