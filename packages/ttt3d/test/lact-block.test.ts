import { philoxUniform, type Tensor, tf } from '@tessera/tensor-core';
import { describeBackends, expectAllClose, expectNoLeaks } from '@tessera/tensor-core/testing';
import { expect, it } from 'vitest';
import { type FastWeights, fastWeightApply, fastWeightUpdate, lactLearningRates } from '../src/lact/index.js';
import { LaCTBlock } from '../src/lact-block/index.js';

// tiny: width 16, 2 fast-weight heads of 8 (hidden 16), attention heads of 8, 3 views of 4 tokens
const WIDTH = 16;
const make = (seed = 3): LaCTBlock => new LaCTBlock(WIDTH, { heads: 2, attentionHeadDim: 8, fastHiddenRatio: 2, mlpRatio: 2, seed });
const tokens = (shape: number[], seed: number): Tensor => philoxUniform(shape, { seed, low: -1, high: 1 });

/** torch's LayerNorm(bias=False) and RMSNorm written out, to compose the block by hand. */
const layerNorm = (x: Tensor, w: Tensor): Tensor => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), w);
};
const rmsNorm = (x: Tensor, w: Tensor, eps: number): Tensor => tf.mul(tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w);
const lin = (x: Tensor, w: Tensor, b?: Tensor): Tensor => {
  const y = tf.matMul(tf.reshape(x, [-1, w.shape[1] as number]), w, false, true);
  return tf.reshape(b ? tf.add(y, b) : y, [...x.shape.slice(0, -1), w.shape[0] as number]);
};
const silu = (x: Tensor): Tensor => tf.mul(x, tf.sigmoid(x));
const l2 = (x: Tensor): Tensor => tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-5));
/** [B, L, H·d] → [B, H, L, d] ("b l (h d) -> b h l d"). */
const heads = (x: Tensor, h: number): Tensor => {
  const [b, l, d] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [b, l, h, d / h]), [0, 2, 1, 3]);
};

/** The block composed from the ops and the authors' formulas, reading the weights by their state-dict names. */
function byHand(block: LaCTBlock, x: Tensor, updateViews: number): { output: Tensor; finalState: FastWeights } {
  const p = block.stateDict();
  const w = (name: string): Tensor => p[name] as Tensor;
  const [b, v, t, d] = x.shape as [number, number, number, number];
  // window attention per view
  let h = tf.reshape(x, [b * v, t, d]);
  const n0 = layerNorm(h, w('module_list.0.ln.weight'));
  const qkv = lin(n0, w('module_list.0.f.to_qkv.weight'));
  const [q0, k0, v0] = tf.split(qkv, 3, -1) as [Tensor, Tensor, Tensor];
  const eps = 2 ** -23;
  const q = rmsNorm(heads(q0, 2), w('module_list.0.f.q_norm.weight'), eps);
  const k = rmsNorm(heads(k0, 2), w('module_list.0.f.k_norm.weight'), eps);
  const att = tf.matMul(tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(8))), heads(v0, 2));
  h = tf.add(h, lin(tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [b * v, t, d]), w('module_list.0.f.c_proj.weight')));
  h = tf.reshape(h, [b, v * t, d]);
  // LaCT: update on the first updateViews views, apply to all
  const n1 = layerNorm(h, w('module_list.1.ln.weight'));
  const [fq, fk, fv] = tf.split(silu(lin(n1, w('module_list.1.f.to_qkv.weight'))), 3, -1) as [Tensor, Tensor, Tensor];
  const lr = lactLearningRates(
    tf.transpose(tf.reshape(lin(n1, w('module_list.1.f.lr_fc.weight'), w('module_list.1.f.lr_fc.bias')), [b, v * t, 2, 3]), [0, 2, 1, 3]),
  );
  const tile = (name: string): Tensor => tf.tile(tf.expandDims(w(name), 0), [b, 1, 1, 1]);
  const W0 = { w0: tile('module_list.1.f.w0'), w1: tile('module_list.1.f.w1'), w2: tile('module_list.1.f.w2') };
  const u = updateViews * t;
  const part = (z: Tensor): Tensor => tf.slice(z, [0, 0, 0, 0], [b, 2, u, z.shape[3] as number]);
  const K = l2(heads(fk, 2));
  const V = heads(fv, 2);
  const W1 = fastWeightUpdate(W0, part(K), part(V), part(lr));
  const o = fastWeightApply(W1, l2(heads(fq, 2)));
  const merged = tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, v * t, d]);
  h = tf.add(h, lin(rmsNorm(merged, w('module_list.1.f.o_norm.weight'), 1e-5), w('module_list.1.f.c_proj.weight')));
  // MLP with exact GELU
  const n2 = layerNorm(h, w('module_list.2.ln.weight'));
  const a = lin(n2, w('module_list.2.f.c_fc.weight'));
  const gelu = tf.mul(tf.mul(a, 0.5), tf.add(tf.erf(tf.div(a, Math.SQRT2)), 1));
  h = tf.add(h, lin(gelu, w('module_list.2.f.c_proj.weight')));
  return { output: tf.reshape(h, [b, v, t, d]), finalState: W1 };
}

describeBackends('LaCTBlock', () => {
  it("names its parameters as tttLRM's Block state dict", () => {
    const block = make();
    const names = block.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`);
    expect(names).toEqual([
      'module_list.0.ln.weight [16]',
      'module_list.0.f.to_qkv.weight [48, 16]',
      'module_list.0.f.c_proj.weight [16, 16]',
      'module_list.0.f.q_norm.weight [8]',
      'module_list.0.f.k_norm.weight [8]',
      'module_list.1.ln.weight [16]',
      'module_list.1.f.w0 [2, 8, 16]',
      'module_list.1.f.w1 [2, 16, 8]',
      'module_list.1.f.w2 [2, 8, 16]',
      'module_list.1.f.to_qkv.weight [48, 16]',
      'module_list.1.f.c_proj.weight [16, 16]',
      'module_list.1.f.lr_fc.weight [6, 16]',
      'module_list.1.f.lr_fc.bias [6]',
      'module_list.1.f.o_norm.weight [16]',
      'module_list.2.ln.weight [16]',
      'module_list.2.f.c_fc.weight [32, 16]',
      'module_list.2.f.c_proj.weight [16, 32]',
    ]);
    block.dispose();
  });

  it('update-then-apply equals the hand composition of norms, attention, fastWeightUpdate/Apply and MLP', async () => {
    const block = make();
    const x = tokens([2, 3, 4, WIDTH], 11);
    for (const updateViews of [3, 2]) {
      const ours = block.forward(x, { updateViews });
      const ref = tf.tidy(() => byHand(block, x, updateViews));
      await expectAllClose(ours.output, ref.output, { atol: 2e-5, rtol: 1e-4 });
      for (const key of ['w0', 'w1', 'w2'] as const)
        await expectAllClose(ours.finalState[key], ref.finalState[key], { atol: 2e-5, rtol: 1e-4 });
      tf.dispose([ours, ref]);
    }
    tf.dispose(x);
    block.dispose();
  });

  it('query-only views neither write the fast weights nor change the content views', async () => {
    const block = make();
    const x = tokens([1, 3, 4, WIDTH], 12);
    const content = tf.slice(x, [0, 0, 0, 0], [1, 2, 4, WIDTH]);
    const joint = block.forward(x, { updateViews: 2 });
    const alone = block.forward(content);
    await expectAllClose(tf.slice(joint.output, [0, 0, 0, 0], [1, 2, 4, WIDTH]), alone.output, { atol: 1e-5 });
    for (const key of ['w0', 'w1', 'w2'] as const) await expectAllClose(joint.finalState[key], alone.finalState[key], { atol: 1e-6 });
    tf.dispose([x, content, joint, alone]);
    block.dispose();
  });

  it('apply-then-update is causal: changing a later chunk leaves earlier outputs unchanged', async () => {
    const block = make();
    const x = tokens([1, 3, 4, WIDTH], 13);
    const later = tokens([1, 1, 4, WIDTH], 14);
    const changed = tf.concat([tf.slice(x, [0, 0, 0, 0], [1, 2, 4, WIDTH]), later], 1);
    const a = block.forward(x, { order: 'apply-then-update' });
    const b = block.forward(changed, { order: 'apply-then-update' });
    const first2 = (t: Tensor): Tensor => tf.slice(t, [0, 0, 0, 0], [1, 2, 4, WIDTH]);
    await expectAllClose(first2(a.output), first2(b.output), { atol: 0, rtol: 0 });
    // …and the last chunk does depend on the earlier ones: its output is not that of the chunk alone
    const lastAlone = block.forward(tf.slice(x, [0, 2, 0, 0], [1, 1, 4, WIDTH]), { order: 'apply-then-update' });
    const diff = (await tf.max(tf.abs(tf.sub(tf.slice(a.output, [0, 2, 0, 0], [1, 1, 4, WIDTH]), lastAlone.output))).data())[0] as number;
    expect(diff).toBeGreaterThan(1e-4);
    tf.dispose([x, later, changed, a, b, lastAlone]);
    block.dispose();
  });

  it('carrying finalState into initialState over two calls equals one apply-then-update call', async () => {
    const block = make();
    const x = tokens([2, 4, 4, WIDTH], 15);
    const one = block.forward(x, { order: 'apply-then-update', chunkViews: 2 });
    const first = block.forward(tf.slice(x, [0, 0, 0, 0], [2, 2, 4, WIDTH]), { order: 'apply-then-update', chunkViews: 2 });
    const second = block.forward(tf.slice(x, [0, 2, 0, 0], [2, 2, 4, WIDTH]), {
      order: 'apply-then-update',
      chunkViews: 2,
      initialState: first.finalState,
    });
    await expectAllClose(tf.concat([first.output, second.output], 1), one.output, { atol: 1e-5 });
    for (const key of ['w0', 'w1', 'w2'] as const) await expectAllClose(second.finalState[key], one.finalState[key], { atol: 1e-5 });
    tf.dispose([x, one, first, second]);
    block.dispose();
  });

  it('gradients reach every parameter through the fast-weight update', async () => {
    const block = make();
    const x = tokens([1, 2, 4, WIDTH], 16);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(block.forward(x, { updateViews: 1 }).output)) as tf.Scalar,
      block.parameters(),
    );
    for (const [name, p] of block.namedParameters()) {
      const g = grads[p.name] as Tensor;
      const norm = (await tf.norm(g).data())[0] as number;
      expect(Number.isFinite(norm) && norm > 0, name).toBe(true);
    }
    tf.dispose([x, value, ...Object.values(grads)]);
    block.dispose();
  });

  it('leaves no tensors behind', async () => {
    const block = make();
    const x = tokens([1, 2, 4, WIDTH], 17);
    await expectNoLeaks(() => {
      const r = block.forward(x, { order: 'apply-then-update' });
      const s = block.initialState(1);
      tf.dispose([r, s]);
    });
    tf.dispose(x);
    block.dispose();
  });
});
