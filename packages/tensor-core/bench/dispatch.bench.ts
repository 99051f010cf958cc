import { LINEAR_WORKGROUP_INDEX, tf, type WebGPUProgram } from '@tessera/tensor-core';
import { bench, type BenchRow, compare, defineBench, runProgram, withBindGroupCache } from '@tessera/tensor-core/bench';

/** Floats each program touches: small enough that a dispatch costs only its overhead. */
const SIZE = 256;
const WORKGROUP = 64;
/** Chain lengths: the slope between them is the cost of one more dispatch. */
const CHAINS = [1, 16, 128];

/** y = x + 1 over SIZE floats: a program whose cost is all overhead. */
class AddOneProgram implements WebGPUProgram {
  outputShape = [SIZE];
  shaderKey = 'tessera_bench_add_one';
  variableNames = ['x'];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number] = [SIZE / WORKGROUP, 1, 1];
  // the bound check reads a uniform: a shader reading none would drop the uniform binding tfjs always binds
  size = true;

  getUserCode(): string {
    return `
  ${LINEAR_WORKGROUP_INDEX}
  fn main(index : i32) {
    let i = i32(linearWorkgroupIndex()) * ${WORKGROUP} + i32(localIndex);
    if (i < uniforms.size) { result[i] = x[i] + 1.0; }
  }
`;
  }
}

interface DeviceBackend {
  device: GPUDevice;
}

/** The same work straight on the device: one compute pass, `k` dispatches ping-ponging two buffers, one submit. */
function rawChain(device: GPUDevice): (k: number) => void {
  const module = device.createShaderModule({
    code: `
@group(0) @binding(0) var<storage, read> x : array<f32>;
@group(0) @binding(1) var<storage, read_write> y : array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id : vec3<u32>) { if (id.x < arrayLength(&y)) { y[id.x] = x[id.x] + 1.0; } }
`,
  });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const a = device.createBuffer({ size: 4 * SIZE, usage });
  const b = device.createBuffer({ size: 4 * SIZE, usage });
  const group = (src: GPUBuffer, dst: GPUBuffer): GPUBindGroup =>
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: dst } },
      ],
    });
  const groups = [group(a, b), group(b, a)];
  return (k) => {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    for (let i = 0; i < k; i++) {
      pass.setBindGroup(0, groups[i % 2]!);
      pass.dispatchWorkgroups(SIZE / WORKGROUP);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
  };
}

/**
 * What one WGSL program costs through tfjs' WebGPU backend, the bound under every "fewer programs" change
 * (issue 15): chains of 1, 16 and 128 programs on 256 floats, each program a fresh object as the kernels make
 * them, against the same chain dispatched straight on the GPUDevice (one pass, one submit). The difference of the
 * 128- and 16-program rows over 112 is the marginal cost of one program, logged for both. Then the 128-program chain
 * with tfjs' submit batch (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE, 15 programs a submit) raised to 64 and 256, and the
 * chains with tensor-core's bind-group and uniform caches switched off. WebGPU only.
 */
export default defineBench({
  name: 'dispatch',
  async run({ backend, log }) {
    if (backend !== 'webgpu') {
      log('dispatch: WebGPU only, skipped');
      return [];
    }
    const device = (tf.backend() as unknown as DeviceBackend).device;
    const raw = rawChain(device);
    const rows: BenchRow[] = [];
    const medians = new Map<number, [number, number]>();
    const x = tf.zeros([SIZE]);
    for (const k of CHAINS) {
      log(`dispatch chain of ${k}`);
      const base = await bench(`raw Dawn, ${k} dispatches`, () => {
        raw(k);
        return [];
      });
      const ours = await bench(`tfjs runWebGPUProgram × ${k}`, () =>
        tf.tidy(() => {
          let y = x;
          for (let i = 0; i < k; i++) y = runProgram(new AddOneProgram(), [y]);
          return y;
        }),
      );
      medians.set(k, [base.median, ours.median]);
      rows.push(
        compare('chain of tiny programs', `${k} programs, ${SIZE} floats`, 'the same dispatches on the GPUDevice, one pass', base, ours),
      );
      if (k === 1) continue;
      // what tensor-core's device saves: a bind group and a uniform write per program (backend/bind-group-cache.ts)
      const uncached = await bench(`tfjs runWebGPUProgram × ${k}, no caches`, () =>
        withBindGroupCache(false, () =>
          tf.tidy(() => {
            let y = x;
            for (let i = 0; i < k; i++) y = runProgram(new AddOneProgram(), [y]);
            return y;
          }),
        ),
      );
      rows.push(
        compare(
          'chain of tiny programs, bind-group + uniform caches',
          `${k} programs, ${SIZE} floats`,
          'no caches (a createBindGroup and a writeBuffer a program)',
          uncached,
          ours,
        ),
      );
    }
    // tfjs ends the pass and submits every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE programs (15): does a longer batch pay?
    const flags = tf.env();
    const defaultBatch = flags.getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
    const k = CHAINS[CHAINS.length - 1]!;
    const chain = (): tf.Tensor =>
      tf.tidy(() => {
        let y = x;
        for (let i = 0; i < k; i++) y = runProgram(new AddOneProgram(), [y]);
        return y;
      });
    for (const batch of [64, 256]) {
      log(`dispatch chain of ${k}, a submit every ${batch} programs`);
      const base = await bench(`submit every ${defaultBatch}`, chain);
      flags.set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', batch);
      try {
        const ours = await bench(`submit every ${batch}`, chain);
        rows.push(
          compare(
            `chain, a submit every ${batch} programs`,
            `${k} programs, ${SIZE} floats`,
            `a submit every ${defaultBatch} (tfjs' default)`,
            base,
            ours,
          ),
        );
      } finally {
        flags.set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', defaultBatch);
      }
    }
    x.dispose();
    const lo = CHAINS[1]!;
    const hi = CHAINS[2]!;
    const [rawLo, oursLo] = medians.get(lo)!;
    const [rawHi, oursHi] = medians.get(hi)!;
    const per = (a: number, b: number): string => `${(((b - a) / (hi - lo)) * 1000).toFixed(2)} µs`;
    log(`one more program: tfjs ${per(oursLo, oursHi)}, raw Dawn ${per(rawLo, rawHi)}`);
    return rows;
  },
});
