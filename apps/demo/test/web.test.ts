import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The web page (web/, vite.config.ts) in Debian's Chromium with WebGPU on SwiftShader (../shared/gpu/README.md).
const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist-web');
const artifacts = join(root, '.artifacts');
const required = process.env.TESSERA_REQUIRE_WEBGPU === '1';
const present = existsSync(CHROMIUM);
if (!present && !required) {
  console.warn(`web.test.ts: skipped — ${CHROMIUM} is absent (apt-get install -y chromium); CI (TESSERA_REQUIRE_WEBGPU=1) fails instead`);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.runIf(present || required)('the web page in Chromium (WebGPU on SwiftShader)', () => {
  let server: Server | undefined;
  let profile: string | undefined;
  beforeAll(async () => {
    if (!present) return;
    const { build } = await import('vite');
    await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'error' });
    server = await serve(dist);
    profile = await mkdtemp(join(tmpdir(), 'tessera-chromium-'));
    await mkdir(artifacts, { recursive: true });
  }, 300_000);
  afterAll(async () => {
    server?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it("runs on webgpu, streams ≥ 20 tokens, draws the splats and the trained DiT's block mask, reconstructs with tttLRM, logs no error", async () => {
    expect(present, `${CHROMIUM} is required (TESSERA_REQUIRE_WEBGPU=1): apt-get install -y chromium`).toBe(true);
    const { chromium } = await import('playwright-core');
    const context = await chromium.launchPersistentContext(profile as string, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 1000 },
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--ignore-gpu-blocklist',
        '--enable-unsafe-swiftshader',
        '--use-webgpu-adapter=swiftshader',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const errors: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const { port } = (server as Server).address() as AddressInfo;
      // ?tokens=20: the LM panel's first run stops at the 20 tokens checked, leaving the software adapter to the rest
      await page.goto(`http://127.0.0.1:${port}/?tokens=20`);
      await page.waitForFunction(
        () => document.body.dataset.backend !== undefined || document.body.dataset.error !== undefined,
        undefined,
        {
          timeout: 90_000,
        },
      );
      const state = () =>
        page.evaluate(
          () => (globalThis as unknown as { tessera: { backend: string; adapter: string; tokens: number; splatFrames: number } }).tessera,
        );
      const first = await state();
      expect(first.backend, `page error: ${errors.join(' | ')}`).toBe('webgpu');
      expect(first.adapter.toLowerCase()).toContain('swiftshader');
      expect(await page.locator('#backend').textContent()).toContain('WebGPU');

      await page.waitForFunction(
        () => (globalThis as unknown as { tessera: { tokens: number } }).tessera.tokens >= 20 || document.body.dataset.error !== undefined,
        undefined,
        {
          // ~30 s idle (0.7 tokens/s on SwiftShader); generous for a busy machine — a limit, not a speed check
          timeout: 240_000,
        },
      );
      const after = await state();
      expect(after.tokens, `page error: ${errors.join(' | ')}`).toBeGreaterThanOrEqual(20);
      expect(after.splatFrames).toBeGreaterThanOrEqual(1);

      const pixels = await page.evaluate(() => {
        const c = document.getElementById('splat-canvas') as HTMLCanvasElement;
        const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
        let sum = 0;
        let sq = 0;
        const n = d.length / 4;
        for (let i = 0; i < d.length; i += 4) {
          const v = ((d[i] as number) + (d[i + 1] as number) + (d[i + 2] as number)) / 3;
          sum += v;
          sq += v * v;
        }
        return { mean: sum / n, variance: sq / n - (sum / n) ** 2 };
      });
      // a white canvas (nothing drawn) or a flat one has ~0 variance; the bunny on white gives hundreds
      expect(pixels.variance).toBeGreaterThan(50);

      await page.screenshot({ path: join(artifacts, 'web-page.png'), fullPage: true });
      await page.locator('#splat-canvas').screenshot({ path: join(artifacts, 'web-splat.png') });

      // the sparse panel draws the committed teacher's block scores once the LM has finished
      await page.waitForFunction(
        () => (globalThis as unknown as { tessera: { ready: boolean } }).tessera.ready || document.body.dataset.error !== undefined,
        undefined,
        { timeout: 240_000 },
      );
      expect(await page.locator('#sparse-status').textContent()).toContain('trained teacher DiT');
      expect(await page.locator('#sparse-meta').textContent()).toMatch(/sparsity \d/);

      // "Reconstruct" streams views into the trained tttLRM, whose weights are assets of the build
      const served = await page.evaluate(async () => {
        const config = await fetch('./tttlrm/config.json');
        const weights = await fetch('./tttlrm/model.safetensors');
        return {
          imageSize: config.ok ? ((await config.json()) as { imageSize?: number }).imageSize : undefined,
          bytes: weights.ok ? (await weights.arrayBuffer()).byteLength : 0,
        };
      });
      expect(served.imageSize).toBe(128);
      expect(served.bytes).toBeGreaterThan(1_000_000);
      expect(await page.locator('#splat-reconstruct').isEnabled()).toBe(true);
      // The push itself (tttLRM on SwiftShader: 130–200 s idle, over 240 s beside CI's other tests, mostly compiling the
      // model's WGSL) runs when asked, TESSERA_WEB_RECONSTRUCT=1; the same stream code runs in test/reconstruct.test.ts.
      if (process.env.TESSERA_WEB_RECONSTRUCT === '1') {
        await page.locator('#splat-reconstruct').click();
        await page.waitForFunction(
          () =>
            (globalThis as unknown as { tessera: { reconstructPushes: number } }).tessera.reconstructPushes >= 1 ||
            (document.getElementById('splat-status')?.textContent ?? '').startsWith('reconstruction failed'),
          undefined,
          { timeout: 480_000 },
        );
        expect(await page.locator('#splat-status').textContent()).not.toMatch(/failed/);
        expect(await page.locator('#splat-meta').textContent()).toMatch(/tttLRM after [48] views: \d+ Gaussians/);
        await page.locator('#splat-canvas').screenshot({ path: join(artifacts, 'web-reconstruct.png') });
      }
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 900_000);
});
