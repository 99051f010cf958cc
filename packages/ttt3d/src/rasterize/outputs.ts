import { defineOp, type HostTensor, type Tensor, tf } from '@tessera/tensor-core';
import { OUTPUT_CHANNELS, outputUniforms, type RenderOutput, RenderOutputGradProgram, RenderOutputProgram } from './outputs.program.js';

/** Attributes of the output ops: which output, and the background blended behind the image. */
export interface OutputAttrs {
  output: RenderOutput;
  /** RGB, three numbers (read by the image only). */
  background: number[];
}

/** One output from the packed `[h, w, 5]` in tfjs ops: the oracle, and what the wasm backend runs. */
function outputReference(rendered: Tensor, { output, background }: OutputAttrs): Tensor {
  return tf.tidy(() => {
    const [h, w] = rendered.shape as [number, number, number];
    const trans = tf.slice(rendered, [0, 0, 4], [h, w, 1]);
    if (output === 'image') return tf.add(tf.slice(rendered, [0, 0, 0], [h, w, 3]), tf.mul(trans, tf.tensor1d(background)));
    if (output === 'depth') return tf.reshape(tf.slice(rendered, [0, 0, 3], [h, w, 1]), [h, w]);
    return tf.reshape(tf.sub(1, trans), [h, w]);
  });
}

/** The output ops' gradient with respect to the packed `[h, w, 5]`, in tfjs ops. */
function outputGradReference(dy: Tensor, { output, background }: OutputAttrs): Tensor {
  return tf.tidy(() => {
    const [h, w] = dy.shape as [number, number];
    if (output === 'image') {
      return tf.concat([dy, tf.zeros([h, w, 1]), tf.sum(tf.mul(dy, tf.tensor1d(background)), 2, true)], 2);
    }
    const column = tf.expandDims(output === 'depth' ? dy : tf.neg(dy), 2);
    return output === 'depth'
      ? tf.concat([tf.zeros([h, w, 3]), column, tf.zeros([h, w, 1])], 2)
      : tf.concat([tf.zeros([h, w, 4]), column], 2);
  });
}

/** cpu: one pass over the pixels, in float32 steps as tfjs' kernels rounded them (`Math.fround` per operation). */
function outputHost({ rendered }: Record<'rendered', HostTensor>, { output, background }: OutputAttrs): HostTensor {
  const [h, w] = rendered.shape as [number, number, number];
  const x = rendered.values;
  const channels = OUTPUT_CHANNELS[output];
  const out = new Float32Array(h * w * channels);
  const f = Math.fround;
  const bg = background.map(f);
  for (let p = 0; p < h * w; p++) {
    const t = x[5 * p + 4] as number;
    if (output === 'image') {
      for (let c = 0; c < 3; c++) out[3 * p + c] = f((x[5 * p + c] as number) + f(t * (bg[c] as number)));
    } else {
      out[p] = output === 'depth' ? (x[5 * p + 3] as number) : f(1 - t);
    }
  }
  return { shape: channels === 3 ? [h, w, 3] : [h, w], dtype: 'float32', values: out };
}

function outputGradHost({ dy }: Record<'dy', HostTensor>, { output, background }: OutputAttrs): HostTensor {
  const h = dy.shape[0] as number;
  const w = dy.shape[1] as number;
  const g = dy.values;
  const out = new Float32Array(h * w * 5);
  const f = Math.fround;
  const bg = background.map(f);
  for (let p = 0; p < h * w; p++) {
    if (output === 'image') {
      let dt = 0;
      for (let c = 0; c < 3; c++) {
        out[5 * p + c] = g[3 * p + c] as number;
        dt += f((g[3 * p + c] as number) * (bg[c] as number));
      }
      out[5 * p + 4] = dt;
    } else if (output === 'depth') {
      out[5 * p + 3] = g[p] as number;
    } else {
      out[5 * p + 4] = -(g[p] as number);
    }
  }
  return { shape: [h, w, 5], dtype: 'float32', values: out };
}

/** d(output) → d(packed `[h, w, 5]`): one program, where tfjs' slice, mul, add and sub gradients took up to nine. */
export const renderOutputGradOp = defineOp<'dy', OutputAttrs>({
  kernelName: 'TesseraRasterizeOutputGrad',
  inputs: ['dy'],
  reference: ({ dy }, attrs) => outputGradReference(dy, attrs),
  host: outputGradHost,
  webgpu: ({ inputs: { dy }, attrs, run }) => {
    const [h, w] = dy.shape as [number, number];
    return run(new RenderOutputGradProgram(attrs.output, h, w), [dy], 'float32', outputUniforms(h * w, attrs.background));
  },
});

/**
 * One output of a render (image with the background, depth, or alpha) from the rasteriser's packed `[h, w, 5]`:
 * one program each on WebGPU, and one program for its gradient; a loss using only the image has only that one
 * in its backward (three single-output ops, not one with three outputs: tfjs would hand such an op zero
 * gradients for the outputs a loss did not use, as host arrays its program would upload).
 */
export const renderOutputOp = defineOp<'rendered', OutputAttrs>({
  kernelName: 'TesseraRasterizeOutput',
  inputs: ['rendered'],
  reference: ({ rendered }, attrs) => outputReference(rendered, attrs),
  host: outputHost,
  webgpu: ({ inputs: { rendered }, attrs, run }) => {
    const [h, w] = rendered.shape as [number, number, number];
    return run(new RenderOutputProgram(attrs.output, h, w), [rendered], 'float32', outputUniforms(h * w, attrs.background));
  },
  gradient: {
    grad: (dy, _saved, attrs) => ({ rendered: () => renderOutputGradOp({ dy }, attrs) }),
  },
});

/** The three outputs of the packed render, in tfjs ops (the reference's path). */
export function outputsReference(packed: Tensor, background: number[]): Record<RenderOutput, Tensor> {
  return {
    image: outputReference(packed, { output: 'image', background }),
    depth: outputReference(packed, { output: 'depth', background }),
    alpha: outputReference(packed, { output: 'alpha', background }),
  };
}

/** The three outputs of the packed render through the output ops (three programs on WebGPU). */
export function outputs(packed: Tensor, background: number[]): Record<RenderOutput, Tensor> {
  return {
    image: renderOutputOp({ rendered: packed }, { output: 'image', background }),
    depth: renderOutputOp({ rendered: packed }, { output: 'depth', background }),
    alpha: renderOutputOp({ rendered: packed }, { output: 'alpha', background }),
  };
}
