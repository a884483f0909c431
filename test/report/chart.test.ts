import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { reliability } from '../../src/report/charts/calibration.js';
import { surprisalClass, surprisalHistogram } from '../../src/report/charts/surprisal.js';
import { bestPoint, downsample } from '../../src/report/charts/train.js';
import { fmt, fmtInt, fmtTick } from '../../src/report/format.js';
import { autoTicks, chart, legend, logTicks, niceTicks, scale } from '../../src/report/svg.js';
import { tokenRecords } from './fixtures.js';

const count = (svg: string, tag: string): number => (svg.match(new RegExp(`<${tag}[\\s>]`, 'g')) ?? []).length;

test('niceTicks: evenly spaced 1/2/2.5/5×10^k steps inside the range, about the asked count', () => {
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  fc.assert(
    fc.property(
      fc.double({ min: -1e6, max: 1e6, noNaN: true }),
      fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
      fc.integer({ min: 2, max: 10 }),
      (lo, span0, n) => {
        // Chart ranges are padded, never narrower than a millionth of their magnitude.
        const span = Math.max(span0, Math.abs(lo) * 1e-6);
        const hi = lo + span;
        const t = niceTicks(lo, hi, n);
        assert.ok(t.length >= 1 && t.length <= 2 * n + 2, `${t.length} ticks for ${n}`);
        const step = t.length > 1 ? t[1]! - t[0]! : span;
        for (const v of t) assert.ok(v >= lo - step * 1e-6 && v <= hi + step * 1e-6);
        for (let i = 2; i < t.length; i++) assert.ok(Math.abs(t[i]! - t[i - 1]! - step) <= step * 1e-6);
        if (t.length > 1) {
          const m = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
          assert.ok(
            [1, 2, 2.5, 5, 10].some((k) => Math.abs(m - k) < 1e-6),
            `step ${step}`,
          );
        }
      },
    ),
  );
});

test('logTicks and autoTicks', () => {
  assert.deepEqual(logTicks(1e-6, 1), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  assert.deepEqual(logTicks(5, 200), [5, 10, 20, 50, 100, 200]);
  // Too short a span for three log ticks: linear ticks instead.
  assert.deepEqual(autoTicks(20, 40, true, 4), [20, 25, 30, 35, 40]);
});

test('scale maps domain ends to range ends, linear and log', () => {
  const s = scale(0, 10, 100, 200);
  assert.equal(s(0), 100);
  assert.equal(s(10), 200);
  assert.equal(s(2.5), 125);
  const l = scale(1, 1000, 0, 300, true);
  assert.ok(Math.abs(l(10) - 100) < 1e-9);
});

test('number formatting', () => {
  assert.equal(fmt(0.1 + 0.2), '0.3');
  assert.equal(fmt(2.0512345), '2.051');
  assert.equal(fmt(-0.00001234, 3), '−1.23e−5');
  assert.equal(fmtInt(1234567), '1,234,567');
  assert.equal(fmtTick(0.25, 0.25), '0.25');
  assert.equal(fmtTick(0.75, 0.25), '0.75');
  assert.equal(fmtTick(1, 0.25), '1.00');
  assert.equal(fmtTick(1500, 500), '1500');
});

test('chart: draws one mark per datum, inside the plot, with escaped focusable tips', () => {
  const svg = chart({
    title: 'T <b>',
    width: 400,
    height: 200,
    x: { label: 'x', min: 0, max: 10 },
    y: { label: 'y', min: 0, max: 5 },
    marks: [
      {
        type: 'line',
        points: [
          [0, 0],
          [5, 5],
          [10, 20],
        ],
        cls: 's0',
      },
      {
        type: 'points',
        points: [
          { x: 1, y: 1, tip: 'a "<x>"' },
          { x: 2, y: 2 },
        ],
        cls: 's1',
      },
      {
        type: 'bars',
        bars: [
          { x0: 0, x1: 1, y1: 3 },
          { x0: 1, x1: 2, y1: 4, tip: 't' },
        ],
        cls: 's2',
      },
      { type: 'errorbars', items: [{ y: 2, x: 5, lo: 4, hi: 6 }], cls: 's3' },
      { type: 'rule', y: 2.5, cls: 'accent', label: 'r' },
    ],
  });
  assert.equal(count(svg, 'circle'), 3); // two points + the error bar's dot
  assert.equal(count(svg, 'rect'), 2);
  assert.ok(svg.includes('data-tip="a &quot;&lt;x&gt;&quot;"'));
  assert.ok(svg.includes('<title>T &lt;b&gt;</title>'));
  assert.equal((svg.match(/tabindex="0"/g) ?? []).length, 2);
  // The line's third point (y = 20) is clipped to the top of the plot (margin top 14).
  const d = /<path class="line s0" d="([^"]+)"/.exec(svg)![1]!;
  const ys = [...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
  assert.equal(ys[2], 14);
  assert.ok(legend([{ cls: 's0', label: '<x>' }]).includes('&lt;x&gt;'));
});

test('reliability: bins, accuracy and ECE by hand', () => {
  const base = { position: 0, text: 'a', nats: 0, bits: 0, p: 1, rank: 1 };
  const recs = [
    { ...base, token: 1, top1: 1, top1_p: 0.95 },
    { ...base, token: 1, top1: 2, top1_p: 0.91 },
    { ...base, token: 1, top1: 1, top1_p: 0.35 },
    { ...base, token: 1, top1: 3 }, // no top1_p: not counted
  ];
  const r = reliability(recs, 10)!;
  assert.equal(r.n, 3);
  assert.equal(r.bins.length, 2);
  assert.deepEqual(
    r.bins.map((b) => [b.lo, b.count, b.accuracy]),
    [
      [0.3, 1, 1],
      [0.9, 2, 0.5],
    ],
  );
  const ece = (1 / 3) * Math.abs(1 - 0.35) + (2 / 3) * Math.abs(0.5 - 0.93);
  assert.ok(Math.abs(r.ece - ece) < 1e-12);
  assert.equal(reliability(recs.slice(3)), undefined);
});

test('surprisal classes and histogram', () => {
  assert.deepEqual([0, 0.99, 1, 3.9, 4, 14.9, 15, 40].map(surprisalClass), [0, 0, 1, 2, 3, 6, 7, 7]);
  const recs = tokenRecords(3000);
  const svg = surprisalHistogram(recs);
  const maxBits = Math.ceil(Math.max(...recs.map((r) => r.bits)));
  assert.equal(count(svg, 'rect'), maxBits);
  const total = [...svg.matchAll(/data-tip="[^"]*: ([\d,]+) tokens/g)].reduce(
    (a, m) => a + Number(m[1]!.replace(/,/g, '')),
    0,
  );
  assert.equal(total, 3000);
});

test('train helpers: best point and downsampling', () => {
  const c = {
    train: [],
    val: [
      { step: 1, nats_per_token: 3 },
      { step: 2, nats_per_token: 2 },
      { step: 3, nats_per_token: 2 },
    ],
  };
  assert.equal(bestPoint(c)!.step, 2);
  assert.equal(bestPoint({ ...c, best_step: 3 })!.step, 3);
  const pts = Array.from({ length: 1000 }, (_, i) => ({ step: i + 1, nats_per_token: i % 2 }));
  const d = downsample(pts, 100);
  assert.equal(d.length, 100);
  for (const [, y] of d) assert.equal(y, 0.5);
});
