/**
 * Reports from real runs through the built CLI: `xent eval --report` (with and without
 * `--tokens`), `xent report` on the saved `--json` and `--tokens` outputs, `xent demo`'s
 * report, and the one rank convention (1-based) shared by eval's writer, `xent score`
 * and the report. Bad input: one `xent: …` line, exit code 2.
 * (The same outputs are opened in Chromium in browser.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type CliRun, failsWith, runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({ shared: ['models/stories260K.gguf'], cli: true, native: true, files: [GPL] });
const skipCli = requires({ cli: true });
const dir = mkdtempSync(join(tmpdir(), 'xent-report-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const xent = (args: string[], cwd?: string): CliRun => runCli(args, cwd);

/** The token data blocks a report embeds (what the page script pages through). */
function tokenBlocks(html: string): Array<{ text: string[]; rank: number[]; topP: Array<number | null> | null }> {
  return [...html.matchAll(/<script type="application\/json" id="[^"]+">(.*?)<\/script>/gs)].map((m) =>
    JSON.parse(m[1]!),
  );
}

interface Rec {
  position: number;
  token: number;
  nats: number;
  p: number;
  rank: number;
  top1: number;
  top1_text: string;
  top1_p: number;
}

const EVAL = [
  'eval',
  '--model',
  MODEL ?? '',
  '--data',
  GPL,
  '--ctx',
  '128',
  '--chunks',
  '3',
  '--threads',
  '1',
  // The reference figure below was printed by llama-perplexity with -fa off.
  '--flash-attn',
  'off',
  '--json',
];

test('xent eval --tokens --report, then xent report and xent score on the saved outputs (stories260K, GPL-3, 3 chunks of 128)', {
  skip,
}, () => {
  const tokens = join(dir, 'gpl.jsonl');
  const html = join(dir, 'eval.html');
  const r = xent([...EVAL, '--tokens', tokens, '--report', html]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    perplexity: number;
    tokens_scored: number;
    top1_accuracy: number;
    nats_per_token: number;
  };
  assert.equal(j.perplexity.toFixed(4), '67.5224'); // llama-perplexity's [3] on this text (test/eval/cli-eval.test.ts)
  assert.match(r.stderr, new RegExp(`xent eval: report written to ${html.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n`));

  // One rank convention: 1 = the model's top choice, exactly where top1 = token.
  const recs = readFileSync(tokens, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);
  assert.equal(recs.length, j.tokens_scored);
  for (const x of recs) {
    assert.ok(Number.isInteger(x.rank) && x.rank >= 1, `position ${x.position}: rank ${x.rank}`);
    assert.equal(x.rank === 1, x.top1 === x.token, `position ${x.position}`);
    assert.ok(x.top1_p >= x.p * (1 - 1e-9) && x.top1_p <= 1, `position ${x.position}: top1_p ${x.top1_p}, p ${x.p}`);
  }
  // xent score reads the same file with the same convention: its top-1 is eval's top-1, and ECE works from top1_p.
  const s = xent(['score', '--tokens', tokens, '--metrics', 'ce,top1,top5,ece', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const sj = JSON.parse(s.stdout) as {
    top1_accuracy: number;
    top5_accuracy: number;
    nats_per_token: number;
    ece_l1: number;
    mean_top1_confidence: number;
  };
  assert.equal(sj.top1_accuracy, j.top1_accuracy);
  assert.equal(sj.top5_accuracy, recs.filter((x) => x.rank <= 5).length / recs.length);
  assert.ok(sj.top5_accuracy > sj.top1_accuracy);
  assert.ok(Math.abs(sj.nats_per_token - j.nats_per_token) < 1e-12);
  assert.ok(sj.ece_l1 > 0 && sj.ece_l1 < 1 && sj.mean_top1_confidence > 0);

  // The report: the eval's figures, every scored token with its 1-based rank and top1_p (so the reliability diagram is drawn).
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<title>xent eval: stories260K\.gguf on GPL-3<\/title>/);
  assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;/);
  assert.ok(page.includes('67.52'), 'perplexity card');
  const [block] = tokenBlocks(page);
  assert.equal(block!.text.length, j.tokens_scored);
  assert.deepEqual(
    block!.rank,
    recs.map((x) => x.rank),
  );
  assert.ok(block!.topP?.every((v) => v !== null && v > 0));
  assert.match(page, /Reliability diagram over 189 positions/);
  const fetchable = page
    .replaceAll('xmlns="http://www.w3.org/2000/svg"', '')
    .match(/https?:\/\/|<link|<img|\ssrc=|url\(/g);
  assert.equal(fetchable, null, 'nothing to fetch');

  // xent report on the saved --json and --tokens outputs: the same sections and figures.
  const evalJson = join(dir, 'eval.json');
  writeFileSync(evalJson, r.stdout);
  const out = join(dir, 'combined.html');
  const rep = xent(['report', evalJson, tokens, '-o', out, '--tokens-per-page', '50']);
  assert.equal(rep.code, 0, rep.stderr);
  assert.match(rep.stdout, /^report: .*combined\.html \(eval, tokens; \d+ KiB\)\n$/);
  const again = readFileSync(out, 'utf8');
  assert.deepEqual(tokenBlocks(again)[0]!.rank, block!.rank);
  assert.match(again, /data-per="50"/);
  assert.match(again, /of 4<\/label>/, '189 tokens, 50 per page → 4 pages');
});

test('xent eval --report without --tokens: the records of the run itself', { skip }, () => {
  const html = join(dir, 'mem.html');
  const r = xent([...EVAL, '--report', html]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { tokens_scored: number };
  const [block] = tokenBlocks(readFileSync(html, 'utf8'));
  assert.equal(block!.text.length, j.tokens_scored);
  assert.ok(block!.rank.every((k) => k >= 1));
});

test('bad input for reports: one clear line, exit code 2, and no model loaded for a bad --report path', {
  skip,
}, () => {
  failsWith(
    xent([...EVAL, '--report', join(dir, 'no-such-folder', 'r.html')]),
    /^xent: eval: --report .*r\.html: folder .*no-such-folder does not exist$/,
  );
  failsWith(
    xent(['report', join(dir, 'missing.json'), '-o', join(dir, 'x.html')]),
    /^xent: report: cannot read .*missing\.json: no such file$/,
  );
  const zero = join(dir, 'rank0.jsonl');
  const good = {
    position: 5,
    token: 3,
    text: 'a',
    nats: 0.5,
    bits: 0.5 / Math.LN2,
    p: Math.exp(-0.5),
    rank: 1,
    top1: 3,
  };
  writeFileSync(zero, `${JSON.stringify(good)}\n${JSON.stringify({ ...good, position: 6, rank: 0 })}\n`);
  failsWith(
    xent(['report', zero, '-o', join(dir, 'x.html')]),
    /^xent: report: rank0\.jsonl line 2: field "rank" must be a 1-based rank ≥ 1 \(1 = the model's top choice\), got 0$/,
  );
  const other = join(dir, 'other.json');
  writeFileSync(other, '{"hello": 1}');
  failsWith(xent(['report', other, '-o', join(dir, 'x.html')]), /other\.json: not a result xent knows/);
  assert.ok(!existsSync(join(dir, 'x.html')));
});

test('xent demo ends by writing its report (default path in the working folder) and printing its path', {
  skip: skipCli,
  timeout: 120_000,
}, () => {
  const cwd = mkdtempSync(join(dir, 'demo-'));
  const r = xent(['demo', '--json', '--train-steps', '0'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { loss_table: { rows: Array<{ p: number; ce_nats: number }> } };
  const file = join(cwd, 'xent-demo-report.html');
  assert.match(
    r.stderr,
    new RegExp(`report: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(\\d+ KiB; open it in a browser\\)`),
  );
  const html = readFileSync(file, 'utf8');
  assert.match(html, /<title>xent demo: cross-entropy, exact and visible<\/title>/);
  // The loss table's rows, as the library computed them, on the cross-entropy chart (13 rows, all ≤ 4.7 nats).
  const squares = [
    ...html.matchAll(/<rect class="pt s3"[^>]*data-tip="table row p = ([\d.]+): crossEntropy ([\d.]+) nats/g),
  ];
  assert.equal(squares.length, j.loss_table.rows.length);
  for (const [i, m] of squares.entries()) assert.equal(Number(m[1]), j.loss_table.rows[i]!.p);
  assert.ok(
    html.indexOf('<section id="basics"') < html.indexOf('<section id="s1-figures"'),
    'the pair comes first in the demo report',
  );
});
