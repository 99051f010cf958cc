import { describe, expect, it } from 'vitest';
import { DtypeError, ShapeError, TesseraError, ValueError } from '../src/errors.js';
import { Module } from '../src/module/index.js';
import { philoxUniform } from '../src/philox/index.js';
import { readSafetensors, writeSafetensors } from '../src/safetensors/index.js';
import { tf } from '../src/tf.js';
import { describeBackends, expectAllClose } from '../src/testing/index.js';

/** Uniform in [-scale, scale), from the seeded RNG so every backend starts from the same weights. */
function init(shape: number[], seed: number, scale = 0.5): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.sub(philoxUniform(shape, { seed }), 0.5), 2 * scale));
}

class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(inDim: number, outDim: number, seed: number) {
    super();
    this.weight = this.param('weight', init([inDim, outDim], seed));
    this.bias = this.param('bias', tf.zeros([outDim]));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(tf.matMul(x, this.weight), this.bias));
  }
}

class Attention extends Module {
  readonly wq: tf.Variable;
  readonly wk: tf.Variable;
  constructor(dim: number, seed: number) {
    super();
    this.wq = this.param('wq', init([dim, dim], seed));
    this.wk = this.param('wk', init([dim, dim], seed + 1));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.matMul(tf.tanh(tf.matMul(x, this.wq)), this.wk));
  }
}

class Block extends Module {
  readonly attn: Attention;
  readonly mlp: Linear;
  constructor(dim: number, seed: number) {
    super();
    this.attn = this.child('attn', new Attention(dim, seed));
    this.mlp = this.child('mlp', new Linear(dim, dim, seed + 2));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.add(x, tf.add(this.attn.forward(x), this.mlp.forward(x))));
  }
}

/** A list of modules, registered as children '0', '1', … */
class ModuleList<M extends Module> extends Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }
}

class TinyModel extends Module {
  readonly embed: Linear;
  readonly layers: ModuleList<Block>;
  readonly scale: tf.Variable;
  readonly head: Linear;
  constructor(seed: number) {
    super();
    this.embed = this.child('embed', new Linear(3, 4, seed));
    this.layers = this.child('layers', new ModuleList([new Block(4, seed + 10), new Block(4, seed + 20)]));
    this.scale = this.param('scale', tf.scalar(0.5), false);
    this.head = this.child('head', new Linear(4, 2, seed + 30));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = this.embed.forward(x);
      for (const block of this.layers.items) h = block.forward(h);
      return tf.mul(this.head.forward(h), this.scale);
    });
  }
}

const PATHS = [
  'embed.weight',
  'embed.bias',
  'layers.0.attn.wq',
  'layers.0.attn.wk',
  'layers.0.mlp.weight',
  'layers.0.mlp.bias',
  'layers.1.attn.wq',
  'layers.1.attn.wk',
  'layers.1.mlp.weight',
  'layers.1.mlp.bias',
  'scale',
  'head.weight',
  'head.bias',
];

async function snapshot(m: Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [path, v] of Object.entries(m.stateDict())) out[path] = Array.from(await v.data());
  return out;
}

describeBackends('Module', () => {
  it('names variables by dotted path, depth-first in registration order', () => {
    const m = new TinyModel(1);
    expect(m.namedParameters().map(([path]) => path)).toEqual(PATHS);
    expect(Object.keys(m.stateDict())).toEqual(PATHS);
    expect(m.namedParameters()[2]?.[1]).toBe(m.layers.items[0]?.attn.wq);
    m.dispose();
  });

  it('lists only trainable variables in parameters(), and counts every scalar in numParameters()', () => {
    const m = new TinyModel(1);
    const params = m.parameters();
    expect(params).toHaveLength(PATHS.length - 1);
    expect(params).not.toContain(m.scale);
    expect(params.every((v) => v instanceof tf.Variable && v.trainable)).toBe(true);
    expect(m.scale.trainable).toBe(false);
    // embed 3·4+4, two blocks of (2·4·4 + 4·4+4), scale 1, head 4·2+2
    expect(m.numParameters()).toBe(16 + 2 * 52 + 1 + 10);
    m.dispose();
  });

  it('returns the live variables from stateDict(), not copies', () => {
    const m = new TinyModel(1);
    const dict = m.stateDict();
    expect(dict['embed.weight']).toBe(m.embed.weight);
    expect(dict.scale).toBe(m.scale);
    m.dispose();
  });

  it('loads a state dict into a second instance, which keeps the values after the first is disposed', async () => {
    const a = new TinyModel(1);
    const b = new TinyModel(2);
    const x = init([5, 3], 99, 1);
    expect(await snapshot(b)).not.toEqual(await snapshot(a));
    b.loadStateDict(a.stateDict());
    const want = await snapshot(a);
    expect(await snapshot(b)).toEqual(want);
    await expectAllClose(b.forward(x), a.forward(x), { atol: 0, rtol: 0 });
    a.dispose();
    expect(await snapshot(b)).toEqual(want);
    tf.dispose([x]);
    b.dispose();
  });

  it('loads its own state dict without losing data', async () => {
    const m = new TinyModel(1);
    const before = await snapshot(m);
    const start = tf.memory().numTensors;
    m.loadStateDict(m.stateDict());
    expect(await snapshot(m)).toEqual(before);
    expect(tf.memory().numTensors).toBe(start);
    m.dispose();
  });

  it('checks every shape before assigning anything, naming the path and both shapes', async () => {
    const a = new TinyModel(1);
    const b = new TinyModel(2);
    const dict = { ...a.stateDict(), 'layers.1.attn.wq': tf.zeros([4, 3]) };
    const before = await snapshot(b);
    expect(() => b.loadStateDict(dict)).toThrow(ShapeError);
    expect(() => b.loadStateDict(dict)).toThrow(/"layers\.1\.attn\.wq": expected shape \[4, 4\], received \[4, 3\]/);
    expect(await snapshot(b)).toEqual(before);
    tf.dispose(dict['layers.1.attn.wq']);
    a.dispose();
    b.dispose();
  });

  it('rejects a dtype mismatch and values that are not live tensors', async () => {
    const a = new TinyModel(1);
    const bad = tf.zeros([2], 'int32');
    const dict = { ...a.stateDict(), 'head.bias': bad };
    expect(() => a.loadStateDict(dict)).toThrow(DtypeError);
    expect(() => a.loadStateDict(dict)).toThrow(/"head\.bias": expected dtype float32, received int32/);
    expect(() => a.loadStateDict({ ...a.stateDict(), scale: 2 as unknown as tf.Tensor })).toThrow(
      /"scale": expected a live tensor, received 2/,
    );
    expect(() => a.loadStateDict(null as unknown as Record<string, tf.Tensor>)).toThrow(/dict: expected an object of tensors by path/);
    expect(() => a.loadStateDict(a.stateDict(), { strict: 'no' as unknown as boolean })).toThrow(
      /opts\.strict: expected a boolean, received "no"/,
    );
    bad.dispose();
    a.dispose();
  });

  it('lists both missing and unexpected keys when strict, and assigns nothing', async () => {
    const a = new TinyModel(1);
    const b = new TinyModel(2);
    const { scale: _scale, 'head.bias': _bias, ...rest } = a.stateDict();
    const extra = tf.zeros([1]);
    const dict = { ...rest, 'extra.weight': extra };
    const before = await snapshot(b);
    expect(() => b.loadStateDict(dict)).toThrow(ValueError);
    expect(() => b.loadStateDict(dict)).toThrow(/missing keys: "scale", "head\.bias"; unexpected keys: "extra\.weight"/);
    expect(() => b.loadStateDict(rest)).toThrow(/missing keys: "scale", "head\.bias"; unexpected keys: none/);
    expect(await snapshot(b)).toEqual(before);
    extra.dispose();
    a.dispose();
    b.dispose();
  });

  it('loads a subset with { strict: false }, ignoring unknown keys', async () => {
    const b = new TinyModel(2);
    const before = await snapshot(b);
    const w = tf.fill([3, 4], 7);
    const other = tf.zeros([9]);
    b.loadStateDict({ 'embed.weight': w, unknown: other }, { strict: false });
    const after = await snapshot(b);
    expect(after['embed.weight']).toEqual(Array(12).fill(7));
    expect({ ...after, 'embed.weight': [] }).toEqual({ ...before, 'embed.weight': [] });
    // the dict's tensors stay the caller's: still live, disposable without affecting the module
    expect(w.isDisposed).toBe(false);
    tf.dispose([w, other]);
    expect(Array.from(await b.embed.weight.data())).toEqual(Array(12).fill(7));
    b.dispose();
  });

  it('dispose() frees every variable and leaves no tensors behind', () => {
    const start = tf.memory().numTensors;
    const m = new TinyModel(1);
    expect(tf.memory().numTensors).toBe(start + PATHS.length);
    const vars = m.namedParameters().map(([, v]) => v);
    m.dispose();
    expect(vars.every((v) => v.isDisposed)).toBe(true);
    expect(tf.memory().numTensors).toBe(start);
    m.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('throws a TesseraError when used after dispose()', () => {
    const m = new TinyModel(1);
    const dict = { scale: tf.scalar(1) };
    m.dispose();
    const calls: [string, () => unknown][] = [
      ['namedParameters', () => m.namedParameters()],
      ['parameters', () => m.parameters()],
      ['numParameters', () => m.numParameters()],
      ['stateDict', () => m.stateDict()],
      ['loadStateDict', () => m.loadStateDict(dict, { strict: false })],
    ];
    for (const [method, call] of calls) {
      expect(call).toThrow(TesseraError);
      expect(call).toThrow(new RegExp(`TinyModel\\.${method}: the module was disposed`));
    }
    expect(() => m.layers.parameters()).toThrow(/ModuleList\.parameters: the module was disposed/);
    tf.dispose(dict);
  });

  it('trains with tf.train.adam over parameters(): the loss falls and only trainable variables move', async () => {
    const m = new TinyModel(3);
    const x = init([16, 3], 7, 1);
    const target = init([16, 2], 8, 0.5);
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(m.forward(x), target))) as tf.Scalar);
    const initial = (await loss().data())[0] as number;
    const before = await snapshot(m);
    const optimizer = tf.train.adam(0.05);
    let counted = -1;
    for (let step = 0; step < 30; step++) {
      optimizer.minimize(loss, false, m.parameters());
      // the optimizer allocates its moment slots on the first step; after that nothing accumulates
      if (step === 1) counted = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(counted);
    const final = (await loss().data())[0] as number;
    expect(final).toBeLessThan(initial * 0.75);
    const after = await snapshot(m);
    expect(after['embed.weight']).not.toEqual(before['embed.weight']);
    expect(after['layers.1.attn.wk']).not.toEqual(before['layers.1.attn.wk']);
    expect(after.scale).toEqual(before.scale);
    optimizer.dispose();
    tf.dispose([x, target]);
    m.dispose();
  });

  it('round-trips a state dict through safetensors', async () => {
    const a = new TinyModel(1);
    const b = new TinyModel(2);
    const bytes = await writeSafetensors(a.stateDict(), { metadata: { format: 'pt' } });
    const dict = readSafetensors(bytes);
    expect(Object.keys(dict).sort()).toEqual([...PATHS].sort());
    b.loadStateDict(dict);
    tf.dispose(dict);
    expect(await snapshot(b)).toEqual(await snapshot(a));
    a.dispose();
    b.dispose();
  });
});

class Probe extends Module {
  register(name: string, init: tf.Tensor, trainable?: boolean): tf.Variable {
    return this.param(name, init, trainable);
  }
  adopt<M extends Module>(name: string, m: M): M {
    return this.child(name, m);
  }
}

describe('Module registration', () => {
  it('takes ownership of init: the tensor is disposed and only the variable remains', () => {
    const start = tf.memory().numTensors;
    const p = new Probe();
    const init = tf.ones([2, 2]);
    const v = p.register('w', init);
    expect(init.isDisposed).toBe(true);
    expect(v.isDisposed).toBe(false);
    expect(tf.memory().numTensors).toBe(start + 1);
    p.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('rejects dotted, empty and duplicate names, disposing init all the same', () => {
    const start = tf.memory().numTensors;
    const p = new Probe();
    p.register('w', tf.ones([1]));
    expect(() => p.register('a.b', tf.ones([1]))).toThrow(ValueError);
    expect(() => p.register('a.b', tf.ones([1]))).toThrow(
      /Probe\.param: name: expected letters, digits or underscores \(no dots; paths come from nesting\), received "a\.b"/,
    );
    expect(() => p.register('', tf.ones([1]))).toThrow(/received ""/);
    expect(() => p.register('w', tf.ones([1]))).toThrow(/Probe\.param: name: "w" is already registered in this module/);
    expect(() => p.adopt('w', new Probe())).toThrow(/Probe\.child: name: "w" is already registered/);
    expect(() => p.register('t', tf.ones([1]), 'yes' as unknown as boolean)).toThrow(/trainable: expected a boolean, received "yes"/);
    expect(tf.memory().numTensors).toBe(start + 1);
    p.dispose();
  });

  it('rejects an init that is not a live tensor', () => {
    const p = new Probe();
    const t = tf.ones([1]);
    t.dispose();
    expect(() => p.register('w', t)).toThrow(/Probe\.param\("w"\): init: expected a live tensor/);
    expect(() => p.register('w', [1] as unknown as tf.Tensor)).toThrow(/received \[1\]/);
  });

  it('rejects children that are not modules, disposed, or would make a cycle', () => {
    const outer = new Probe();
    const inner = outer.adopt('inner', new Probe());
    expect(() => outer.adopt('x', {} as Module)).toThrow(/Probe\.child\("x"\): expected a Module/);
    expect(() => outer.adopt('self', outer)).toThrow(/would make a cycle/);
    expect(() => inner.adopt('up', outer)).toThrow(/would make a cycle/);
    const gone = new Probe();
    gone.dispose();
    expect(() => outer.adopt('gone', gone)).toThrow(/Probe\.child\("gone"\): the module was disposed/);
    outer.dispose();
  });

  it('lists a shared child once in parameters() but under every path in stateDict()', () => {
    const shared = new Probe();
    const w = shared.register('w', tf.ones([3]));
    const root = new Probe();
    root.adopt('encoder', shared);
    root.adopt('decoder', shared);
    expect(Object.keys(root.stateDict())).toEqual(['encoder.w', 'decoder.w']);
    expect(root.namedParameters()).toEqual([['encoder.w', w]]);
    expect(root.parameters()).toEqual([w]);
    expect(root.numParameters()).toBe(3);
    root.dispose();
    expect(w.isDisposed).toBe(true);
  });

  it('reports a child disposed on its own when the parent is used', () => {
    const root = new Probe();
    const kid = root.adopt('kid', new Probe());
    kid.register('w', tf.ones([1]));
    kid.dispose();
    expect(() => root.stateDict()).toThrow(/Probe: child module "kid" \(Probe\) was disposed/);
    root.dispose();
  });

  it('gives two instances distinct tfjs variable names', () => {
    const a = new Probe();
    const b = new Probe();
    const va = a.register('w', tf.ones([1]));
    const vb = b.register('w', tf.ones([1]));
    expect(va.name).not.toBe(vb.name);
    a.dispose();
    b.dispose();
  });
});
