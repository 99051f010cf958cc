import './style.css';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initBackend } from '@tessera/tensor-core';
import { mountLm } from './lm-panel.js';
import { mountSparse } from './sparse-panel.js';
import { mountSplat } from './splat-panel.js';
import { byId, report } from './ui.js';

// tfjs' WASM binaries are bundled assets of this build (never a CDN)
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

async function start(): Promise<void> {
  const pill = byId('backend');
  const choice = await initBackend('auto');
  report.backend = choice.name;
  report.adapter = choice.adapter ?? '';
  document.body.dataset.backend = choice.name;
  if (choice.name === 'webgpu') {
    pill.dataset.state = 'webgpu';
    pill.textContent = `WebGPU · ${choice.adapter}`;
  } else {
    pill.dataset.state = 'fallback';
    pill.textContent = `${choice.name.toUpperCase()} (fallback)`;
    const notice = byId('notice');
    notice.hidden = false;
    notice.textContent = `WebGPU is not available in this browser (${choice.reason}); running on ${choice.name.toUpperCase()} instead — slower, and the splat viewer uses the CPU/WASM rasteriser rather than WGSL.`;
  }
  // one panel at a time: they share the device (and, on a software adapter, the CPU)
  await mountSplat();
  await mountLm();
  await mountSparse();
  report.ready = true;
  document.body.dataset.ready = 'true';
}

start().catch((e: unknown) => {
  const notice = byId('notice');
  notice.hidden = false;
  notice.textContent = `The demo failed to start: ${(e as Error).message}`;
  report.error = (e as Error).message;
  document.body.dataset.error = 'true';
  console.error(e);
});
