import { observeOutputsPrograms } from '../op/webgpu-outputs.js';
import type { WebGPUProgram } from '../op/webgpu-program.js';
import { tf } from '../tf.js';

interface ProgramRunner {
  runWebGPUProgram(program: WebGPUProgram, ...rest: unknown[]): unknown;
}

/** A dispatched program as it was asked for: its class name and its `shaderKey` (tfjs extends the key once it runs). */
export interface RecordedProgram {
  name: string;
  shaderKey: string;
}

/**
 * The WGSL programs `fn` dispatches on the active WebGPU backend, in order, with what `fn` returned: for tests
 * that pin how many programs a call runs, both tfjs' (`runWebGPUProgram`) and those writing several outputs
 * (`runWebGPUOutputs`). The backend's `runWebGPUProgram` is wrapped only while `fn` runs; warm the pipelines
 * first to leave compilation out.
 */
export function recordPrograms<T>(fn: () => T): { result: T; programs: RecordedProgram[] } {
  const backend = tf.backend() as unknown as ProgramRunner;
  const original = backend.runWebGPUProgram;
  const programs: RecordedProgram[] = [];
  backend.runWebGPUProgram = function (this: ProgramRunner, program: WebGPUProgram, ...rest: unknown[]) {
    programs.push({ name: program.constructor.name, shaderKey: program.shaderKey });
    return original.call(this, program, ...rest);
  };
  const observed = observeOutputsPrograms((program) => {
    programs.push({ name: program.constructor.name, shaderKey: program.shaderKey });
  });
  try {
    return { result: fn(), programs };
  } finally {
    backend.runWebGPUProgram = original;
    observeOutputsPrograms(observed);
  }
}
