/**
 * The report in real headless Chromium (Debian's /usr/bin/chromium via playwright-core):
 * no console errors or CSP violations, every chart has marks, hover and keyboard focus
 * show a token's probability, hostile text stays inert. Screenshot: test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeReport } from '../../src/report/index.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { compareResult, evalResult, kldResult, tokenRecords, trainCurves } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `needs ${CHROMIUM} (apt-get install -y chromium)`;

test('report in headless Chromium: clean console, charts drawn, tooltips, hostile text inert', { skip, timeout: 120_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'xent-report-'));
  const file = join(dir, 'report.html');
  writeReport(file, [
    { kind: 'eval', result: evalResult(), source: 'eval.json' },
    { kind: 'tokens', records: tokenRecords(4500, { hostile: true }), source: 'tokens.jsonl' },
    { kind: 'train', curves: trainCurves(), source: 'curves.json' },
    { kind: 'compare', result: compareResult(), source: 'compare.json' },
    { kind: 'kld', result: kldResult(), source: 'kld.json' },
  ], { generatedAt: '2026-01-01T00:00:00Z' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => { if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`); });
    await page.goto(`file://${file}`);
    await page.waitForSelector('html[data-ready="1"]', { timeout: 10_000 });
    // Every chart has drawn marks.
    const marks = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => s.querySelectorAll('.marks path, .marks rect, .marks circle').length));
    assert.ok(marks.length >= 8, `${marks.length} charts`);
    for (const [i, n] of marks.entries()) assert.ok(n > 0, `chart ${i} has no marks`);
    // Hover a token: its probability appears in the tooltip.
    const tk = page.locator('.tk[data-i="5"]');
    await tk.hover();
    const p5 = (await page.$eval('#tip', (t) => ((t as HTMLElement).hidden ? '' : t.textContent ?? '')));
    const rec = tokenRecords(6, { hostile: true })[5]!;
    assert.ok(p5.includes(String(Number(Number(rec.p.toPrecision(6)).toPrecision(4)))), `tooltip ${JSON.stringify(p5)} lacks p = ${rec.p}`);
    assert.ok(p5.includes('rank'));
    // Keyboard: focus the first token, arrow right, the tooltip follows focus.
    await page.focus('.tk[data-i="0"]');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-i')), '1');
    const tip1 = await page.$eval('#tip', (t) => ((t as HTMLElement).hidden ? '' : t.textContent ?? ''));
    assert.ok(tip1.includes('p(token)') && tip1.includes('position 2'), tip1);
    // Paging renders the next 2000 tokens.
    await page.click('.tokens .next');
    assert.equal(await page.$eval('.tk-text .tk', (e) => e.getAttribute('data-i')), '2000');
    await page.click('.tokens .prev');
    // Hostile text: rendered literally, nothing ran, no element injected.
    const text = await page.$eval('.tk-text', (e) => e.textContent ?? '');
    assert.ok(text.includes('<script>window.__pwned=1</script>'));
    assert.ok(text.includes('<img src=x onerror="window.__pwned=3">'));
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.$$eval('.tk-text img, .tk-text script, .tk-text svg, .tk-text a', (e) => e.length), 0);
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await tk.hover();
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'report.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'report-dark.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
