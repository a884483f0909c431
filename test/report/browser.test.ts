/**
 * The report in real headless Chromium (Debian's /usr/bin/chromium via playwright-core):
 * no console errors, CSP violations or requests; every chart has marks; hover and keyboard
 * focus show a token's probability, rank and the model's top prediction; hostile text
 * (markup, `javascript:` URLs, invalid UTF-8) stays inert and the CSP refuses inline script;
 * long texts are paged; light and dark schemes both keep WCAG AA contrast. Then the same
 * on real output: `xent eval --tokens --report` and `xent report` on stories260K with
 * TinyStories, and the demo's report. Screenshots: test-artifacts/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { lossTableSection } from '../../src/demo/loss-table.js';
import { stabilitySection } from '../../src/demo/stability.js';
import { demoReportInputs, loadInputs, writeReport } from '../../src/report/index.js';
import { requires } from '../helpers/requires.js';
import { CLI, REPO_ROOT, sharedPath } from '../helpers/shared.js';
import { compareResult, evalResult, kldResult, tokenRecords, trainCurves } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = requires({ chromium: CHROMIUM });
const MODEL = sharedPath('models', 'stories260K.gguf');
const TINY = sharedPath('data', 'tinystories_valid_600k.txt');
const skipReal = requires({
  chromium: CHROMIUM,
  shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  native: true,
});
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const dir = mkdtempSync(join(tmpdir(), 'xent-report-browser-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The client's number format in tooltips (4 significant digits of the 6 the data block keeps). */
function tipNum(x: number): string {
  const v = Number(x.toPrecision(6));
  return v !== 0 && Math.abs(v) < 1e-4 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

interface Opened {
  page: Page;
  /** Console errors/warnings, page errors and any non-file request. */
  problems: string[];
}

async function open(browser: Browser, file: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, colorScheme });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`);
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector('html[data-ready="1"]', { timeout: 10_000 });
  return { page, problems };
}

/** Drawn marks per chart (paths, rects, circles inside the marks group). */
async function marksPerChart(page: Page): Promise<number[]> {
  return page.$$eval('svg.chart', (svgs) =>
    svgs.map((s) => s.querySelectorAll('.marks path, .marks rect, .marks circle').length),
  );
}

const tipText = (page: Page): Promise<string> =>
  page.$eval('#tip', (t) => ((t as HTMLElement).hidden ? '' : (t.textContent ?? '')));

/**
 * WCAG 2 contrast ratios of the text that matters, in the page's current colour scheme.
 * Passed as source text: tsx would wrap named inner functions in a helper the page lacks.
 */
const CONTRASTS_JS = `(() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lin = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((m, n) => n - m); return (x + 0.05) / (y + 0.05); };
  const page = rgb(getComputedStyle(document.documentElement).backgroundColor);
  const panel = rgb(getComputedStyle(document.querySelector('section')).backgroundColor);
  const out = {
    page_bg_luminance: lum(page),
    body: ratio(rgb(getComputedStyle(document.body).color), page),
    caption: ratio(rgb(getComputedStyle(document.querySelector('.sub')).color), panel),
    chart_text: ratio(rgb(getComputedStyle(document.querySelector('svg.chart text')).fill), panel),
  };
  for (let k = 0; k < 8; k++) {
    const cs = getComputedStyle(document.querySelector('.scale .t' + k));
    const bg = rgb(cs.backgroundColor);
    out['token_class_t' + k] = ratio(rgb(cs.color), bg.length === 4 && bg[3] === 0 ? panel : bg);
  }
  return out;
})()`;

const contrasts = (page: Page): Promise<Record<string, number>> =>
  page.evaluate(CONTRASTS_JS) as Promise<Record<string, number>>;

test('report in headless Chromium: clean console, charts drawn, tooltips, paging, hostile text inert, CSP, both schemes', {
  skip,
  timeout: 120_000,
}, async () => {
  const { chromium } = await import('playwright-core');
  const file = join(dir, 'report.html');
  // Invalid UTF-8 inside a saved token file, read back as `xent report` reads it.
  const badUtf8 = join(dir, 'bad-utf8.jsonl');
  const rec = {
    position: 1,
    token: 7,
    nats: 1,
    bits: 1 / Math.LN2,
    p: Math.exp(-1),
    rank: 2,
    top1: 9,
    top1_text: '<b>x</b>',
  };
  const [head, tail] = JSON.stringify({ ...rec, text: 'BAD@@<script>window.__pwned=7</script>' }).split('@@') as [
    string,
    string,
  ];
  writeFileSync(badUtf8, Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe]), Buffer.from(tail)]));
  const [badSection] = loadInputs([badUtf8]);
  const records = tokenRecords(4500, { hostile: true });
  writeReport(
    file,
    [
      { kind: 'eval', result: evalResult(), source: 'eval.json' },
      { kind: 'tokens', records, source: 'tokens.jsonl' },
      { kind: 'train', curves: trainCurves(), source: 'curves.json' },
      { kind: 'compare', result: compareResult(), source: 'compare.json' },
      { kind: 'kld', result: kldResult(), source: 'kld.json' },
      badSection!,
    ],
    { generatedAt: '2026-01-01T00:00:00Z' },
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const { page, problems } = await open(browser, file);
    // Every chart has drawn marks: basics 2, tokens 2 (histogram, reliability), train 1, compare 2, kld 1,
    // and the bad-UTF-8 tokens 1 (its record has no top1_p, so no reliability diagram).
    const marks = await marksPerChart(page);
    assert.equal(marks.length, 9, `${marks.length} charts`);
    for (const [i, n] of marks.entries()) assert.ok(n > 0, `chart ${i} has no marks`);
    assert.ok((await page.$$('.legend li')).length >= 10, 'legends name the series (not colour alone)');

    // Hover a token: probability, rank and top prediction in the tooltip.
    const tk = page.locator('.tk-text').first().locator('.tk[data-i="5"]');
    await tk.hover();
    const r5 = records[5]!;
    const tip5 = await tipText(page);
    assert.ok(tip5.includes(`p(token)${tipNum(r5.p)}`), `tooltip ${JSON.stringify(tip5)} lacks p = ${r5.p}`);
    assert.ok(tip5.includes(`rank${r5.rank}`), tip5);
    assert.ok(tip5.includes(`model's top${JSON.stringify(r5.top1_text)}`), tip5);

    // Keyboard: Tab reaches the view's one tab stop; arrows move; the tooltip follows focus.
    await page.mouse.move(0, 0);
    await page.focus('.tokens .next');
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => document.activeElement?.getAttribute('data-i')),
      '0',
      'Tab after the pager lands on the first token',
    );
    assert.ok((await tipText(page)).includes(`p(token)${tipNum(records[0]!.p)}`));
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-i')), '2');
    const r2 = records[2]!;
    const tip2 = await tipText(page);
    assert.ok(
      tip2.includes(`p(token)${tipNum(r2.p)}`) &&
        tip2.includes(`rank${r2.rank}`) &&
        tip2.includes(`position ${r2.position}`),
      tip2,
    );
    assert.ok(tip2.includes(JSON.stringify(r2.top1_text)), tip2);
    await page.keyboard.press('Escape');
    assert.equal(await tipText(page), '');
    // Chart marks are focusable too, with their numbers as text.
    await page.focus('svg.chart .pt[data-tip]');
    assert.match(await tipText(page), /nats/);

    // Long text is paged: 2000 token spans per page, 4500 tokens → 3 pages.
    const view = page.locator('.tokens').first();
    assert.equal(await view.locator('.tk').count(), 2000);
    await view.locator('.next').click();
    assert.equal(await view.locator('.tk').first().getAttribute('data-i'), '2000');
    await view.locator('.next').click();
    assert.equal(await view.locator('.tk').count(), 500);
    assert.match((await view.locator('.status').textContent()) ?? '', /tokens 4001–4500 of 4500/);
    await view.locator('.page').fill('1');
    await view.locator('.page').dispatchEvent('change');
    assert.equal(await view.locator('.tk').first().getAttribute('data-i'), '0');

    // Hostile text: rendered literally, nothing ran, no element or attribute injected anywhere.
    const text = (await view.locator('.tk-text').textContent()) ?? '';
    for (const s of [
      '<script>window.__pwned=1</script>',
      '</style><script>window.__pwned=2</script>',
      '<img src=x onerror="window.__pwned=3">',
      '<a href="javascript:window.__pwned=4">click</a>',
    ]) {
      assert.ok(text.includes(s), `missing literal ${s}`);
    }
    const badText = (await page.locator('.tokens').nth(1).locator('.tk-text').textContent()) ?? '';
    assert.equal(
      badText,
      'BAD\ufffd\ufffd<script>window.__pwned=7</script>',
      'invalid UTF-8 shows as U+FFFD, markup as text',
    );
    const dom = await page.evaluate(() => {
      const all = Array.from(document.querySelectorAll('*'));
      return {
        pwned: (window as unknown as { __pwned?: number }).__pwned,
        scripts: document.querySelectorAll('script:not([type="application/json"])').length,
        injected: document.querySelectorAll(
          'main img, main iframe, main object, main embed, main a[href^="javascript:" i], .tk-text *:not(.tk):not(.gap)',
        ).length,
        onAttrs: all.flatMap((e) =>
          Array.from(e.attributes)
            .filter((a) => /^on/i.test(a.name))
            .map((a) => `${e.tagName} ${a.name}`),
        ),
        csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '',
      };
    });
    assert.equal(dom.pwned, undefined);
    assert.equal(dom.scripts, 1, 'only the report script');
    assert.equal(dom.injected, 0);
    assert.deepEqual(dom.onAttrs, []);
    assert.match(
      dom.csp,
      /default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; script-src 'sha256-[A-Za-z0-9+/]+=*'; img-src 'none'/,
    );
    assert.doesNotMatch(dom.csp, /unsafe-inline|unsafe-eval/);
    assert.deepEqual(problems, [], 'clean console before the CSP probe');

    // The CSP itself refuses an inline script that escaping had (hypothetically) let through.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__pwned = 8';
      document.body.appendChild(s);
    });
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.ok(
      problems.some((p) => /Content Security Policy/.test(p)),
      `no CSP refusal reported: ${JSON.stringify(problems)}`,
    );

    // Readable in both schemes: WCAG AA (≥ 4.5) for text, every surprisal class, chart labels.
    const light = await contrasts(page);
    mkdirSync(ARTIFACTS, { recursive: true });
    await tk.hover();
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await contrasts(page);
    await page.screenshot({ path: join(ARTIFACTS, 'report-dark.png'), fullPage: true });
    assert.ok(
      light.page_bg_luminance! > 0.8 && dark.page_bg_luminance! < 0.05,
      `backgrounds ${light.page_bg_luminance} / ${dark.page_bg_luminance}`,
    );
    for (const [scheme, c] of [
      ['light', light],
      ['dark', dark],
    ] as const) {
      for (const [k, v] of Object.entries(c))
        if (k !== 'page_bg_luminance') assert.ok(v >= 4.5, `${scheme}: ${k} contrast ${v.toFixed(2)} < 4.5`);
    }
  } finally {
    await browser.close();
  }
});

test('real output in Chromium: xent eval --tokens --report and xent report (stories260K, TinyStories); the demo report', {
  skip: skipReal,
  timeout: 120_000,
}, async () => {
  const { chromium } = await import('playwright-core');
  const tokens = join(dir, 'ts.jsonl');
  const evalHtml = join(dir, 'eval.html');
  const ev = spawnSync(
    process.execPath,
    [
      CLI,
      'eval',
      '--model',
      MODEL!,
      '--data',
      TINY!,
      '--ctx',
      '256',
      '--chunks',
      '3',
      '--threads',
      '1',
      '--json',
      '--tokens',
      tokens,
      '--report',
      evalHtml,
    ],
    { encoding: 'utf8', env: { ...process.env, CI: '1' } },
  );
  assert.equal(ev.status, 0, ev.stderr);
  const evalJson = join(dir, 'eval.json');
  writeFileSync(evalJson, ev.stdout);
  const j = JSON.parse(ev.stdout) as { tokens_scored: number; perplexity: number };
  const recs = readFileSync(tokens, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { position: number; p: number; rank: number; top1_text: string; top1_p: number });
  assert.equal(recs.length, j.tokens_scored);
  const combined = join(dir, 'combined.html');
  const rep = spawnSync(process.execPath, [CLI, 'report', evalJson, tokens, '-o', combined], { encoding: 'utf8' });
  assert.equal(rep.status, 0, rep.stderr);
  // The demo's report from the demo's own sections (the CLI run is in cli-report.test.ts).
  const demoHtml = join(dir, 'demo.html');
  const demo = demoReportInputs([stabilitySection(0), lossTableSection()]);
  writeReport(demoHtml, demo.sections, demo.meta);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    for (const file of [evalHtml, combined]) {
      const { page, problems } = await open(browser, file);
      const marks = await marksPerChart(page);
      assert.equal(marks.length, 4, `${file}: basics pair, surprisal histogram, reliability diagram`);
      for (const [i, n] of marks.entries()) assert.ok(n > 0, `${file}: chart ${i} has no marks`);
      assert.equal(await page.locator('.tk-text .tk').count(), recs.length);
      // llama.cpp chunks score each chunk's second half: two visible breaks between three chunks.
      assert.equal(await page.locator('.tk-text .gap').count(), 2);
      const i = recs.findIndex((r) => r.rank > 1);
      const r = recs[i]!;
      await page.locator(`.tk-text .tk[data-i="${i}"]`).hover();
      const tip = await tipText(page);
      assert.ok(
        tip.includes(`p(token)${tipNum(r.p)}`) &&
          tip.includes(`rank${r.rank}`) &&
          tip.includes(`position ${r.position}`),
        tip,
      );
      assert.ok(tip.includes(`${JSON.stringify(r.top1_text)}`) && tip.includes(`p = ${tipNum(r.top1_p)}`), tip);
      const cards = (await page.locator('section').first().textContent()) ?? '';
      assert.ok(cards.includes(tipNum(j.perplexity)), `perplexity ${j.perplexity} not shown`);
      if (file === evalHtml) await page.screenshot({ path: join(ARTIFACTS, 'report-eval.png'), fullPage: true });
      assert.deepEqual(problems, [], file);
      await page.close();
    }
    const { page, problems } = await open(browser, demoHtml);
    const marks = await marksPerChart(page);
    assert.equal(marks.length, 2);
    for (const n of marks) assert.ok(n > 0);
    // The loss table's 13 rows (p = 0.01 … 0.99) as squares on the cross-entropy curve, 2 × 13 on the BCE chart.
    assert.deepEqual(
      await page.$$eval('svg.chart', (s) => s.map((c) => c.querySelectorAll('.marks rect.pt').length)),
      [13, 26],
    );
    await page.focus('svg.chart rect.pt');
    assert.match(await tipText(page), /^table row p = 0\.01: crossEntropy 4\.6052 nats = 6\.6439 bits$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report-demo.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
