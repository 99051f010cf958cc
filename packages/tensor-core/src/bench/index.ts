export { bench, sync, type BenchOptions, type BenchResult } from './bench.js';
export { compare, formatTable, gigabytesPerSecond, gigaflopsPerSecond, type BenchReport, type BenchRow, type RowExtras } from './report.js';
export { kernelProfile, type KernelProfileOptions } from './kernel-profile.js';
export { defineBench, type BenchContext, type BenchSuite } from './suite.js';
export { runKernel, runProgram } from './run-program.js';
export { withBindGroupCache } from '../backend/bind-group-cache.js';
