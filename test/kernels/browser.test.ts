/**
 * The loss library in a real browser (headless Chromium through playwright-core), bundled from
 * src/index.ts by esbuild for the browser platform — proving the import graph has no Node-only
 * import and that the kernels degrade as documented:
 *   - synchronous first use: where the browser refuses to compile the module synchronously on
 *     the main thread (older Chromium: modules over 4 KiB), 'auto' quietly runs the JS path;
 *   - after `await initKernels()` on a cross-origin isolated page: backend 'wasm' works, on the
 *     calling thread (no Atomics.wait on the main thread), with the same results;
 *   - on a page that is not cross-origin isolated (no SharedArrayBuffer): initKernels() resolves
 *     false and backend 'wasm' is a clear XentError.
 * Skipped where Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT } from '../helpers/shared.js';

const CHROMIUM = process.env.XENT_CHROMIUM ?? '/usr/bin/chromium';
const skip = requires({ chromium: CHROMIUM });

const PAGE_SCRIPT = `
import * as xent from './xent.js';
const n = 8, v = 1000;
const x = new Float32Array(n * v);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 4;
const t = new Int32Array(n).map((_, i) => (i * 37) % v);
const m = { data: x, shape: [n, v] };
const out = {};
out.isolated = globalThis.crossOriginIsolated === true;
out.autoBefore = xent.crossEntropy(m, t).loss;
out.js = xent.crossEntropy(m, t, { backend: 'js' }).loss;
out.availableBefore = xent.kernelsAvailable();
out.init = await xent.initKernels();
try {
  const r = xent.crossEntropy(m, t, { backend: 'wasm', grad: true, threads: 4 });
  const g = xent.crossEntropy({ data: Float64Array.from(x), shape: [n, v] }, t, { backend: 'js', grad: true });
  let maxDiff = 0;
  for (let i = 0; i < n * v; i++) maxDiff = Math.max(maxDiff, Math.abs(r.grad[i] - g.grad[i]));
  out.wasm = r.loss;
  out.gradMaxDiff = maxDiff;
  const lse = xent.logSumExp(m, { backend: 'wasm' });
  out.lse0 = lse[0];
  out.lse0js = xent.logSumExp(m, { backend: 'js' })[0];
} catch (e) {
  out.wasmError = { name: e.name, code: e.code, message: e.message };
}
window.__result = out;
`;

async function bundle(): Promise<string> {
  const esbuild = await import('esbuild');
  const r = await esbuild.build({
    entryPoints: [join(REPO_ROOT, 'src', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return r.outputFiles[0]?.text ?? '';
}

type Browser = Awaited<ReturnType<typeof import('playwright-core')['chromium']['launch']>>;
let shared: Promise<{ code: string; browser: Browser }> | undefined;
/** One bundle and one browser for both tests (each launch costs seconds). */
function setup(): Promise<{ code: string; browser: Browser }> {
  shared ??= (async () => {
    const { chromium } = await import('playwright-core');
    const [code, browser] = await Promise.all([
      bundle(),
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ]);
    return { code, browser };
  })();
  return shared;
}
after(async () => {
  if (shared) await (await shared).browser.close();
});

async function runPage(isolated: boolean): Promise<Record<string, unknown>> {
  const { code, browser } = await setup();
  const headers: Record<string, string> = isolated
    ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
    : {};
  const server = createServer((req, res) => {
    if (req.url === '/xent.js') res.writeHead(200, { 'Content-Type': 'text/javascript', ...headers }).end(code);
    else if (req.url === '/page.js')
      res.writeHead(200, { 'Content-Type': 'text/javascript', ...headers }).end(PAGE_SCRIPT);
    else
      res
        .writeHead(200, { 'Content-Type': 'text/html', ...headers })
        .end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const page = await browser.newPage();
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page
      .waitForFunction('window.__result !== undefined || false', undefined, { timeout: 30000 })
      .catch(() => undefined);
    const result = (await page.evaluate('window.__result')) as Record<string, unknown> | undefined;
    assert.ok(result, `the page did not finish: ${errors.join('; ')}`);
    return result;
  } finally {
    await page.close();
    server.close();
  }
}

test('browser bundle: JS fallback before initKernels, wasm after it on a cross-origin isolated page', {
  skip,
  timeout: 120000,
}, async () => {
  const { code } = await setup();
  assert.ok(code.length > 0);
  assert.ok(!/from\s*["']node:/.test(code), 'the browser bundle imports a node: module');
  const r = await runPage(true);
  assert.equal(r.isolated, true);
  // Chromium may or may not compile synchronously on the main thread (old versions refused
  // modules over 4 KiB): either way 'auto' gives the JS answer, exactly or within float32 rounding.
  if (r.availableBefore === false)
    assert.equal(r.autoBefore, r.js, "'auto' before initKernels must be the JS path exactly");
  else assert.ok(Math.abs((r.autoBefore as number) - (r.js as number)) <= 1e-5 * Math.abs(r.js as number));
  assert.equal(r.init, true);
  assert.equal(r.wasmError, undefined);
  assert.ok(Math.abs((r.wasm as number) - (r.js as number)) <= 1e-5 * Math.abs(r.js as number));
  assert.ok((r.gradMaxDiff as number) < 1e-7);
  assert.ok(Math.abs((r.lse0 as number) - (r.lse0js as number)) <= 1e-6 * Math.abs(r.lse0js as number));
});

test('browser bundle: without cross-origin isolation initKernels() is false and backend wasm is a clear error', {
  skip,
  timeout: 120000,
}, async () => {
  const r = await runPage(false);
  assert.equal(r.isolated, false);
  assert.equal(r.init, false);
  assert.equal(r.autoBefore, r.js);
  const e = r.wasmError as { name: string; code: string; message: string };
  assert.equal(e.name, 'XentError');
  assert.equal(e.code, 'missing_dependency');
  assert.match(e.message, /^crossEntropy: backend 'wasm' is unavailable here: .*SharedArrayBuffer/);
});
