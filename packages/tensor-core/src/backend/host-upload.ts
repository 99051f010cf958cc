/**
 * What this module touches of tfjs-backend-webgpu 4.22's `WebGPUBackend` (private members, pinned by
 * the exact tfjs version in package.json).
 */
interface TensorData {
  values: ArrayLike<number> | null;
  dtype: string;
  shape: number[];
  resource: unknown;
}

interface UploadingBackend {
  tensorMap: { get(dataId: object): TensorData | undefined };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  queue: GPUQueue;
  uploadToGPU(dataId: object): void;
}

const PATCHED = Symbol('tessera.hostUpload');

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Uploads host-valued tensors (every `tf.tensor`, `tf.zeros`, and the scalar tfjs makes of a JS number
 * operand) with `queue.writeBuffer` into a pooled buffer. tfjs instead creates a new mapped-at-creation
 * buffer per upload, which Dawn in Node turns into ~0.7 ms per tensor, however small (measured on the
 * lent H100: `tf.mul(x, 2)` 0.83 ms against 0.07 ms with a device-made scalar).
 * Safe because the pool holds no buffer that unsubmitted commands still use (tfjs defers releasing
 * those to its next submit), and the write is queued before every command that reads the tensor.
 * Other dtypes (complex64, string) keep tfjs' own path.
 */
export function installHostUploads(backendClass: { prototype: object }): void {
  const proto = backendClass.prototype as UploadingBackend & { [PATCHED]?: true };
  if (proto[PATCHED]) return;
  const original = proto.uploadToGPU;
  proto.uploadToGPU = function (this: UploadingBackend, dataId: object): void {
    const data = this.tensorMap.get(dataId);
    const values = data?.values;
    if (!data || data.resource != null || !values || !['float32', 'int32', 'bool'].includes(data.dtype) || values.length === 0) {
      original.call(this, dataId);
      return;
    }
    const typed =
      data.dtype === 'float32'
        ? values instanceof Float32Array
          ? values
          : Float32Array.from(values)
        : values instanceof Int32Array
          ? values
          : Int32Array.from(values);
    const buffer = this.bufferManager.acquireBuffer(
      4 * sizeOf(data.shape),
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
    this.queue.writeBuffer(buffer, 0, typed as GPUAllowSharedBufferSource);
    data.values = null;
    data.resource = buffer;
  };
  proto[PATCHED] = true;
}
