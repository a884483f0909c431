/**
 * The report pieces added for `xent demo` and `xent eval --report`: the "figures"
 * section, the loss table on the "at a glance" pair, the demo and eval report inputs,
 * and the breaks between llama.cpp chunks in the token view.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { lossTableRows, lossTableSection } from '../../src/demo/loss-table.js';
import { buildReport, demoReportInputs, evalReportInputs } from '../../src/report/index.js';
import { tokenView } from '../../src/report/tokens.js';
import { evalResult, tokenRecords, trainCurves } from './fixtures.js';

function throwsXent(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof XentError && re.test(e.message));
}

test('figures section: scalar figures become cards and summary rows with units from their names; bad figures are named', () => {
  const html = buildReport(
    [
      {
        kind: 'figures',
        title: '<b>demo</b>',
        data: { nats_per_token: 9.2112, forward_ms: 12.5, nested: { a: 1 } },
        lines: ['x < y'],
      },
    ],
    { generatedAt: 'T' },
  );
  assert.match(html, /<h2>&lt;b&gt;demo&lt;\/b&gt;<\/h2>/);
  assert.match(html, /<div class="value">9\.2112<span class="unit">nats\/token<\/span>/);
  assert.match(html, /<td>forward ms<\/td><td class="num">12\.5<\/td><td>ms<\/td>/);
  assert.match(html, /<pre class="lines">x &lt; y<\/pre>/);
  assert.doesNotMatch(html, /nested/);
  throwsXent(
    () => buildReport([{ kind: 'figures', title: 't', data: { bits_per_byte: NaN } }]),
    /figure "bits_per_byte" is NaN, not a finite number/,
  );
  throwsXent(() => buildReport([{ kind: 'figures', title: '', data: {} }]), /needs a non-empty "title"/);
});

test('loss table on the cross-entropy pair: one square per row on the chart, with the computed value; bad rows refused', () => {
  const rows = lossTableRows();
  const html = buildReport([], { lossTable: rows, generatedAt: 'T' });
  const ce = [...html.matchAll(/data-tip="table row p = ([\d.]+): crossEntropy ([\d.]+) nats = ([\d.]+) bits"/g)];
  assert.equal(ce.length, rows.length); // all 13 rows are ≤ 4.7 nats (p = 0.01 → 4.6052)
  for (const [i, m] of ce.entries()) {
    assert.equal(Number(m[1]), rows[i]!.p);
    assert.ok(
      Math.abs(Number(m[2]) - -Math.log(rows[i]!.p)) <= 5e-5 * Math.max(1, -Math.log(rows[i]!.p)),
      `row ${i}: ${m[2]}`,
    );
  }
  // BCE for label 0 at p = 0.99 is 4.6052 nats ≤ 4.7: every row is on the chart; label 1 mirrors it.
  assert.equal(
    [...html.matchAll(/data-tip="table row p = [\d.]+: binaryCrossEntropy, label 0: ([\d.]+) nats/g)].length,
    rows.length,
  );
  // …and the table itself, every figure with its unit: p = 0.5 costs ln 2 nats = 1 bit either way.
  assert.match(html, /<th class="num">cross-entropy \(nats\)<\/th><th class="num">cross-entropy \(bits\)<\/th>/);
  assert.match(
    html,
    /<tr><td class="num">0\.5<\/td><td class="num">0\.69315<\/td><td class="num">1<\/td><td class="num">0\.69315<\/td><td class="num">0\.69315<\/td><\/tr>/,
  );
  throwsXent(
    () => buildReport([], { lossTable: [{ p: 1.5, ce_nats: 0 }] }),
    /meta\.lossTable\[0\]\.p must be a probability in \(0, 1\), got 1\.5/,
  );
  throwsXent(
    () => buildReport([], { lossTable: [{ p: 0.5, ce_nats: -1 }] }),
    /meta\.lossTable\[0\]\.ce_nats must be a finite loss ≥ 0 nats, got -1/,
  );
});

test('demoReportInputs: the loss table goes on the pair (shown first); training curves become a training section', () => {
  const curves = trainCurves(300, 50);
  const { sections, meta } = demoReportInputs([
    // nats and perplexity alone (a random model on random tokens) are figures, not an evaluation of a text.
    {
      key: 'random_lstm',
      title: '1. random',
      lines: ['a'],
      data: { nats_per_token: 9.21, perplexity: Math.exp(9.21), vocab: 10000 },
    },
    { key: 'training', title: '4. training', lines: ['b'], data: { curves, val_nats_per_token: 2.6 } },
    { key: 'evaluation', title: '4. eval', lines: ['c'], data: evalResult() },
    {
      key: 'evaluation_hint',
      title: '4. eval',
      lines: ['xent demo --model m.gguf'],
      data: { model: null, hint: 'xent demo --model <file>' },
    },
    lossTableSection(),
  ]);
  assert.deepEqual(
    sections.map((s) => s.kind),
    ['figures', 'figures', 'train', 'eval', 'figures'],
  );
  assert.equal(meta.basicsFirst, true);
  assert.equal(meta.lossTable?.length, 13);
  const html = buildReport(sections, meta);
  assert.ok(html.indexOf('<section id="basics"') < html.indexOf('<section id="s1-figures"'));
  assert.match(html, /<section id="s3-train">/);
  assert.match(html, /<section id="s4-eval">/);
  assert.match(html, /The diamond marks the evaluated model/);
  assert.match(html, /<pre class="lines">xent demo --model m\.gguf<\/pre>/);
});

test("evalReportInputs: the result as saved by --json (non-finite figures absent), the run's records as a tokens section", () => {
  const { sections, meta } = evalReportInputs(
    { ...evalResult(), tokens_per_second: NaN, perplexity_ci95: [7, 8] },
    { records: tokenRecords(40), command: 'xent eval …' },
  );
  assert.deepEqual(
    sections.map((s) => s.kind),
    ['eval', 'tokens'],
  );
  assert.equal((sections[0] as { result: Record<string, unknown> }).result.tokens_per_second, null);
  assert.equal(meta.title, 'xent eval: stories260K.gguf on tinystories_valid_600k.txt');
  assert.match(buildReport(sections, meta), /Reliability diagram over 40 positions/);
  assert.match(evalReportInputs(evalResult(), { interrupted: true }).meta.title!, /\(interrupted: partial figures\)$/);
});

test('token view: a visible break where positions jump (unscored halves of llama.cpp chunks)', () => {
  const recs = tokenRecords(6).map((r, i) => ({ ...r, position: i < 3 ? 65 + i : 193 + i }));
  const html = tokenView(recs, { id: 'v', tokensPerPage: 100 });
  const gaps = [...html.matchAll(/<span class="gap" aria-hidden="true"> ⋯ (\d+) unscored tokens ⋯ <\/span>/g)];
  assert.deepEqual(
    gaps.map((m) => Number(m[1])),
    [196 - 67 - 1],
  );
});
