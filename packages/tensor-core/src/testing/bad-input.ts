import type { TensorContainer } from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { checkFunction } from '../checks.js';
import { describeValue, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';

/** An error class a bad-input case expects (`ValueError`, `ShapeError`, …). */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * One row of a bad-input table: the inputs are built before the call (so that tensors the op leaks are
 * told apart from the case's own), the call must throw — or reject — an `error` whose message contains
 * `message`, and it must leave the live tensor count unchanged.
 */
export interface BadInputCase<T = undefined> {
  /** What is wrong, e.g. 'k above the vocabulary'. */
  name: string;
  /** Builds the case's tensors; disposed after the check. */
  inputs?: () => T;
  call(inputs: T): unknown;
  error: ErrorClass;
  /** A fragment (or pattern) the message must contain: the argument's name and the received value. */
  message: string | RegExp;
}

/** A case with its input type erased, for tables that mix input shapes. */
export interface ErasedBadInputCase {
  readonly name: string;
  run(): Promise<void>;
}

/** Types one case of a table: `badInput({ name, inputs: () => ({ q }), call: ({ q }) => op(q), … })`. */
export function badInput<T = undefined>(c: BadInputCase<T>): ErasedBadInputCase {
  checkOptions(c, ['name', 'inputs', 'call', 'error', 'message'], 'badInput');
  if (typeof c.name !== 'string' || c.name === '')
    throw new ValueError(`badInput.name: expected a non-empty string, received ${describeValue(c.name)}`);
  checkFunction(c.call, `badInput(${c.name}).call`);
  if (c.inputs !== undefined) checkFunction(c.inputs, `badInput(${c.name}).inputs`);
  checkFunction(c.error, `badInput(${c.name}).error`);
  if (typeof c.message !== 'string' && !(c.message instanceof RegExp)) {
    throw new ValueError(`badInput(${c.name}).message: expected a string or RegExp, received ${describeValue(c.message)}`);
  }
  return {
    name: c.name,
    run: async () => {
      const inputs = (c.inputs ? c.inputs() : undefined) as T;
      try {
        const before = tf.memory().numTensors;
        let thrown: unknown;
        let result: unknown;
        try {
          result = await c.call(inputs);
        } catch (e) {
          thrown = e;
        }
        if (thrown === undefined) {
          tf.dispose(result as TensorContainer);
          expect.fail(`${c.name}: expected ${c.error.name} matching ${String(c.message)}, but the call returned`);
        }
        expect(thrown, c.name).toBeInstanceOf(c.error);
        const text = (thrown as Error).message;
        if (typeof c.message === 'string') expect(text, c.name).toContain(c.message);
        else expect(text, c.name).toMatch(c.message);
        expect(tf.memory().numTensors, `${c.name}: live tensors after the error`).toBe(before);
      } finally {
        if (inputs !== undefined) tf.dispose(inputs as TensorContainer);
      }
    },
  };
}

/** One `it` per case (call inside a `describe` or `describeBackends`). */
export function itRejects(cases: readonly ErasedBadInputCase[]): void {
  if (!Array.isArray(cases)) throw new ValueError(`cases: expected an array of badInput() cases, received ${describeValue(cases)}`);
  for (const c of cases) it(`rejects ${c.name}`, () => c.run());
}
