import { installHostUploads } from './host-upload.js';
import { registerWebGPUBackend } from './webgpu-device.js';
import { installDeviceTile } from './webgpu-tile.js';

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
  // Dawn rounds timestamp queries to 65.5 µs by default (a browser's guard against timing attacks), which made
  // every kernel profile of a short program on the H100 read 0.0655 ms; a Node process has nothing to guard
  nav.gpu = dawn.create(['disable-dawn-features=timestamp_quantization']);
  return undefined;
}

/**
 * The adapter search, first run in a child Node process. Where there is no adapter, Dawn writes its
 * reasons from native code straight to file descriptor 2 ("Couldn't load Vulkan: …" without a Vulkan
 * loader, "vkCreateInstance: Found no drivers!" without a driver), which this process cannot redirect;
 * run here, those lines would follow every `auto` start on a machine without a GPU. The child's stderr
 * is kept out of the terminal and its first line goes into the probe's reason instead. A driver that
 * crashes during the search takes only the child down. Returns undefined where no child can be started
 * (the caller then searches in this process).
 */
async function probeInChild(): Promise<GpuProbe | undefined> {
  interface ChildProcessModule {
    execFile(
      file: string,
      args: readonly string[],
      options: { cwd: string; timeout: number; windowsHide: boolean },
      callback: (error: (Error & { code?: unknown; signal?: unknown }) | null, stdout: string, stderr: string) => void,
    ): unknown;
  }
  let childProcess: ChildProcessModule;
  let cwd: string;
  try {
    const cp = 'node:child_process';
    const url = 'node:url';
    childProcess = (await import(/* @vite-ignore */ cp)) as ChildProcessModule;
    const { fileURLToPath } = (await import(/* @vite-ignore */ url)) as { fileURLToPath(u: URL): string };
    // resolving 'webgpu' from this module's folder finds the package this module would load
    cwd = fileURLToPath(new URL('.', import.meta.url));
  } catch {
    return undefined;
  }
  const script = `
    const report = (r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); };
    let dawn;
    try { dawn = await import('webgpu'); }
    catch (e) { report({ ok: false, reason: "the optional 'webgpu' package (Dawn for Node) could not be loaded: " + String(e && e.message).split('\\n')[0] }); }
    try {
      const adapter = await dawn.create([]).requestAdapter({ powerPreference: 'high-performance' });
      report(adapter ? { ok: true } : { ok: false });
    } catch (e) { report({ ok: false, reason: 'requestAdapter failed: ' + String(e && e.message) }); }`;
  const node = (globalThis as { process?: { execPath?: string } }).process?.execPath;
  if (!node) return undefined;
  return new Promise((resolve) => {
    try {
      childProcess.execFile(
        node,
        ['--input-type=module', '--eval', script],
        { cwd, timeout: 120_000, windowsHide: true },
        (error, stdout, stderr) => {
          const said = firstLine(stderr);
          try {
            const r = JSON.parse(stdout) as { ok: boolean; reason?: string };
            if (r.ok) resolve({ ok: true });
            else resolve({ ok: false, reason: r.reason ?? `${NO_ADAPTER}${said ? ` (Dawn: ${said})` : ''}` });
          } catch {
            const how = error?.signal ? `signal ${String(error.signal)}` : `exit code ${String(error?.code ?? 0)}`;
            resolve({ ok: false, reason: `the adapter search crashed (${how})${said ? `: ${said}` : ''}` });
          }
        },
      );
    } catch {
      resolve(undefined);
    }
  });
}

const NO_ADAPTER = 'no adapter (no GPU driver; on Linux install a Vulkan driver such as lavapipe)';

/** The first line of a child's stderr worth quoting, without Dawn's severity prefix. */
function firstLine(stderr: string): string | undefined {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  return line?.replace(/^(Warning|Error): /, '').slice(0, 200);
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info?.description, info?.vendor, info?.architecture, info?.device].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  return parts.length > 0 ? [...new Set(parts)].join(' ') : 'unnamed adapter';
}

async function probeOnce(): Promise<GpuProbe> {
  if (isNode() && !(globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu) {
    const quiet = await probeInChild();
    if (quiet && !quiet.ok) return quiet;
  }
  const missing = await installDawn();
  if (missing) return { ok: false, reason: missing };
  const gpu = (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu as GPU;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { ok: false, reason: NO_ADAPTER };
  const description = describeAdapter(adapter);
  const backend = await import('@tensorflow/tfjs-backend-webgpu');
  installHostUploads(backend.WebGPUBackend);
  installDeviceTile();
  // tfjs' factory requests no optional features but timestamps; ours also asks for subgroups
  registerWebGPUBackend(backend.WebGPUBackend);
  return { ok: true, adapter: description };
}

/** Probes for WebGPU once per process and registers tfjs' WebGPU backend when an adapter exists. */
export function probeWebGPU(): Promise<GpuProbe> {
  probe ??= probeOnce();
  return probe;
}
