import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { describeValue, DtypeError, ShapeError, TesseraError, ValueError } from '../errors.js';
import { checkOptions } from '../options/check-options.js';
import { tf } from '../tf.js';

export interface LoadStateDictOptions {
  /** When true (the default), the dict must hold exactly the module's variables; missing or unexpected keys throw. */
  strict?: boolean;
}

type Entry = { kind: 'param'; name: string; variable: Variable } | { kind: 'child'; name: string; module: Module };

/** Parameter and child names: one path segment, so dotted paths split unambiguously. */
const NAME = /^[A-Za-z0-9_]+$/;

// tfjs registers variables by name and throws on a duplicate, so names carry a per-process module id.
let nextModuleId = 0;

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function formatKeys(keys: readonly string[]): string {
  return keys.length === 0 ? 'none' : keys.map((k) => JSON.stringify(k)).join(', ');
}

/**
 * Base class of every Tessera layer: named `tf.Variable` parameters and child modules, addressed by
 * dotted paths built from nesting (`layers.0.attn.wq`), as in PyTorch's `nn.Module`, so state dicts
 * move to and from PyTorch checkpoints through safetensors.
 *
 * Subclasses register state in their constructor with `param` and `child`. Registration order is the
 * order of `namedParameters()` and `stateDict()`.
 */
export abstract class Module {
  // ES private fields, so subclasses in other packages are free to use any member names.
  readonly #entries: Entry[] = [];
  readonly #id = nextModuleId++;
  #disposed = false;

  /**
   * Registers a `tf.Variable` named `name` with `init`'s value and returns it. Takes ownership of
   * `init`: it is disposed here (also when registration fails). `trainable: false` keeps the variable
   * out of `parameters()` (an optimizer's var list) but in `stateDict()`.
   */
  protected param(name: string, init: Tensor, trainable = true): Variable {
    if (!(init instanceof tf.Tensor) || init.isDisposed) {
      throw new ValueError(`${this.#label()}.param(${describeValue(name)}): init: expected a live tensor, received ${describeValue(init)}`);
    }
    let variable: Variable;
    try {
      this.#checkLive('param');
      this.#checkName(name, 'param');
      if (typeof trainable !== 'boolean') {
        throw new ValueError(
          `${this.#label()}.param(${describeValue(name)}): trainable: expected a boolean, received ${describeValue(trainable)}`,
        );
      }
      variable = tf.variable(init, trainable, `tessera/${this.#id}/${this.#label()}.${name}`);
    } finally {
      // tf.variable shares init's reference-counted data, so this drops only init's handle.
      init.dispose();
    }
    this.#entries.push({ kind: 'param', name, variable });
    return variable;
  }

  /** Registers `module` as a child named `name` (its paths are prefixed `name.`) and returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    this.#checkLive('child');
    this.#checkName(name, 'child');
    if (!(module instanceof Module)) {
      throw new ValueError(`${this.#label()}.child(${describeValue(name)}): expected a Module, received ${describeValue(module)}`);
    }
    if (module.#disposed) throw new TesseraError(`${this.#label()}.child(${describeValue(name)}): the module was disposed`);
    if ((module as Module) === this || module.#contains(this)) {
      throw new ValueError(
        `${this.#label()}.child(${describeValue(name)}): the module contains this one; registering it would make a cycle`,
      );
    }
    this.#entries.push({ kind: 'child', name, module });
    return module;
  }

  /**
   * Every variable (trainable or not) with its dotted path, depth-first in registration order. A
   * variable reachable by several paths (a child shared for weight tying) is listed once, first path.
   */
  namedParameters(): [string, Variable][] {
    this.#checkLive('namedParameters');
    const seen = new Set<Variable>();
    const out: [string, Variable][] = [];
    for (const [path, variable] of this.#walk('')) {
      if (seen.has(variable)) continue;
      seen.add(variable);
      out.push([path, variable]);
    }
    return out;
  }

  /** The trainable variables, each once: the `varList` for `optimizer.minimize(loss, false, varList)`. */
  parameters(): Variable[] {
    this.#checkLive('parameters');
    return this.namedParameters()
      .filter(([, v]) => v.trainable)
      .map(([, v]) => v);
  }

  /** Number of scalars in all variables, trainable or not (each shared variable counted once). */
  numParameters(): number {
    this.#checkLive('numParameters');
    return this.namedParameters().reduce((n, [, v]) => n + v.size, 0);
  }

  /**
   * Every variable (trainable or not) by dotted path. These are the live variables, not copies: they
   * change as the module trains and must not be disposed by the caller. Serialise them with
   * `writeSafetensors(module.stateDict())`.
   */
  stateDict(): Record<string, Tensor> {
    this.#checkLive('stateDict');
    // fromEntries defines own properties, whatever the path spells
    return Object.fromEntries(this.#walk(''));
  }

  /**
   * Assigns values from `dict` (e.g. a `readSafetensors` result) to the variables with the same paths.
   * Everything is checked before anything is assigned: keys (with `strict`), then each value's shape
   * (`ShapeError`) and dtype (`DtypeError`). The dict's tensors are not disposed or taken over; the
   * variables share their data until next assigned, so the caller may dispose the dict afterwards.
   */
  loadStateDict(dict: Record<string, Tensor>, opts: LoadStateDictOptions = {}): void {
    this.#checkLive('loadStateDict');
    const where = `${this.#label()}.loadStateDict`;
    if (typeof dict !== 'object' || dict === null || Array.isArray(dict) || dict instanceof tf.Tensor) {
      throw new ValueError(`${where}: dict: expected an object of tensors by path, received ${describeValue(dict)}`);
    }
    checkOptions(opts, ['strict'], `${where}: opts`);
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') throw new ValueError(`${where}: opts.strict: expected a boolean, received ${describeValue(strict)}`);
    const own = this.#walk('');
    const ownPaths = new Set(own.map(([path]) => path));
    if (strict) {
      const missing = own.map(([path]) => path).filter((path) => !Object.hasOwn(dict, path));
      const unexpected = Object.keys(dict).filter((key) => !ownPaths.has(key));
      if (missing.length > 0 || unexpected.length > 0) {
        throw new ValueError(
          `${where}: the state dict does not match the module's variables: missing keys: ${formatKeys(missing)}; unexpected keys: ${formatKeys(unexpected)} (pass { strict: false } to load a subset)`,
        );
      }
    }
    const pairs: [Variable, Tensor][] = [];
    for (const [path, variable] of own) {
      if (!Object.hasOwn(dict, path)) continue;
      const value = dict[path];
      if (!(value instanceof tf.Tensor) || value.isDisposed) {
        throw new ValueError(`${where}: "${path}": expected a live tensor, received ${describeValue(value)}`);
      }
      if (!tf.util.arraysEqual(value.shape, variable.shape)) {
        throw new ShapeError(`${where}: "${path}": expected shape ${formatShape(variable.shape)}, received ${formatShape(value.shape)}`);
      }
      if (value.dtype !== variable.dtype) {
        throw new DtypeError(`${where}: "${path}": expected dtype ${variable.dtype}, received ${value.dtype}`);
      }
      pairs.push([variable, value]);
    }
    for (const [variable, value] of pairs) {
      // assign() releases the variable's data before taking the new value's, so assigning a variable
      // its own data (loading a module's own state dict) would free it
      if (value.dataId !== variable.dataId) variable.assign(value);
    }
  }

  /** Disposes every variable, recursively. Idempotent; any other method called afterwards throws. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const entry of this.#entries) {
      if (entry.kind === 'param') entry.variable.dispose();
      else entry.module.dispose();
    }
  }

  #walk(prefix: string): [string, Variable][] {
    const out: [string, Variable][] = [];
    for (const entry of this.#entries) {
      const path = prefix + entry.name;
      if (entry.kind === 'param') {
        out.push([path, entry.variable]);
      } else {
        if (entry.module.#disposed) {
          throw new TesseraError(`${this.#label()}: child module "${path}" (${entry.module.#label()}) was disposed`);
        }
        out.push(...entry.module.#walk(`${path}.`));
      }
    }
    return out;
  }

  #contains(target: Module): boolean {
    return this.#entries.some((e) => e.kind === 'child' && (e.module === target || e.module.#contains(target)));
  }

  #checkLive(method: string): void {
    if (this.#disposed) throw new TesseraError(`${this.#label()}.${method}: the module was disposed`);
  }

  #checkName(name: string, method: string): void {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new ValueError(
        `${this.#label()}.${method}: name: expected letters, digits or underscores (no dots; paths come from nesting), received ${describeValue(name)}`,
      );
    }
    if (this.#entries.some((e) => e.name === name)) {
      throw new ValueError(`${this.#label()}.${method}: name: "${name}" is already registered in this module`);
    }
  }

  #label(): string {
    return this.constructor.name || 'Module';
  }
}
