import { installHostUploads } from './host-upload.js';

/**
 * Makes `navigator.gpu` exist before tfjs' WebGPU backend is imported: the backend registers itself only
 * if it finds `navigator.gpu` at import time, and static imports are hoisted, so it is imported
 * dynamically here, after Dawn (the optional `webgpu` package) has been installed in Node.
 */
export interface GpuProbe {
  ok: boolean;
  /** Why WebGPU cannot be used, when `ok` is false. */
  reason?: string;
  /** Adapter description, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)" or "NVIDIA H100 80GB HBM3". */
  adapter?: string;
}

interface NavigatorWithGpu {
  gpu?: GPU;
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let probe: Promise<GpuProbe> | undefined;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

async function installDawn(): Promise<string | undefined> {
  const g = globalThis as { navigator?: NavigatorWithGpu };
  g.navigator ??= {};
  const nav = g.navigator;
  if (nav.gpu) return undefined;
  if (!isNode()) return 'navigator.gpu is missing (this browser has no WebGPU)';
  let dawn: DawnModule;
  try {
    // a variable specifier keeps browser bundlers from trying to resolve the Node-only package
    const specifier = 'webgpu';
    dawn = (await import(/* @vite-ignore */ specifier)) as DawnModule;
  } catch (e) {
    return `the optional 'webgpu' package (Dawn for Node) could not be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  Object.assign(globalThis, dawn.globals);
  nav.gpu = dawn.create([]);
  return undefined;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info?.description, info?.vendor, info?.architecture, info?.device].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unnamed adapter';
}

async function probeOnce(): Promise<GpuProbe> {
  const missing = await installDawn();
  if (missing) return { ok: false, reason: missing };
  const gpu = (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu as GPU;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { ok: false, reason: 'no adapter (no GPU driver; on Linux install a Vulkan driver such as lavapipe)' };
  const description = describeAdapter(adapter);
  const backend = await import('@tensorflow/tfjs-backend-webgpu');
  installHostUploads(backend.WebGPUBackend);
  return { ok: true, adapter: description };
}

/** Probes for WebGPU once per process and registers tfjs' WebGPU backend when an adapter exists. */
export function probeWebGPU(): Promise<GpuProbe> {
  probe ??= probeOnce();
  return probe;
}
