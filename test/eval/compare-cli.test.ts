/**
 * `xent compare` and the domain-shift form of `xent eval` through the built CLI, on real
 * models and texts: figures cross-checked against `xent eval` of the same model and text
 * (itself checked against llama.cpp in cli-eval.test.ts), intervals, schema, bad input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { unitStarts } from '../../src/eval/compare.js';
import { readDomains } from '../../src/eval/domains.js';
import { validateCompareResult } from '../../src/results/schema.js';
import { type CliRun, failsWith, runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';

const F32 = sharedPath('models', 'stories260K.gguf');
const BF16 = sharedPath('models', 'stories260K-bf16.gguf');
const LLAMA = sharedPath('models', 'llama-2-tiny-random.gguf');
const TINY = sharedPath('data', 'tinystories_valid_600k.txt');
const WIKI = sharedPath('data', 'wikitext2_test.raw');
const skip = requires({
  shared: [
    'models/stories260K.gguf',
    'models/stories260K-bf16.gguf',
    'models/llama-2-tiny-random.gguf',
    'data/tinystories_valid_600k.txt',
    'data/wikitext2_test.raw',
  ],
  cli: true,
  native: true,
});
const dir = mkdtempSync(join(tmpdir(), 'xent-compare-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The first n bytes of a file, cut at a line end (valid UTF-8). */
function head(src: string, n: number, name: string): string {
  const b = readFileSync(src);
  const end = b.lastIndexOf(10, n) + 1;
  const p = join(dir, name);
  writeFileSync(p, b.subarray(0, end));
  return p;
}

const SMALL = skip ? '' : head(TINY!, 9_000, 'tiny9k.txt');
const WSMALL = skip ? '' : head(WIKI!, 9_000, 'wiki9k.txt');

const run = (cmd: string, ...args: string[]): CliRun => runCli([cmd, ...args]);

test('compare: three models (two tokenizers) over the same bytes; figures = xent eval --stride; paired intervals; same-tokenizer token differences', {
  skip,
}, () => {
  const report = join(dir, 'cmp.html');
  const r = run(
    'compare',
    '--models',
    F32!,
    BF16!,
    LLAMA!,
    '--data',
    SMALL,
    '--ctx',
    '128',
    '--threads',
    '1',
    '--json',
    '--report',
    report,
    '--top',
    '5',
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  validateCompareResult(JSON.parse(r.stdout), { file: 'compare --json' });
  const bytes = readFileSync(SMALL).length;
  assert.equal(j.bytes_scored, bytes);
  assert.equal(j.stride, 64);
  // Each model's bits = what `xent eval` scores with the same sliding window.
  for (const m of j.models) {
    const e = JSON.parse(
      run('eval', '--model', m.model, '--data', SMALL, '--ctx', '128', '--stride', '64', '--threads', '1', '--json')
        .stdout,
    );
    assert.equal(m.tokens_scored, e.tokens_scored, m.model);
    const bits = (e.nats_per_token * e.tokens_scored) / Math.LN2;
    assert.ok(Math.abs(m.bits_total - bits) < 1e-9 * bits, `${m.model}: ${m.bits_total} vs ${bits}`);
    assert.ok(Math.abs(m.bits_per_byte - bits / bytes) < 1e-12);
    assert.ok(m.bits_per_byte_ci95_lo < m.bits_per_byte && m.bits_per_byte < m.bits_per_byte_ci95_hi);
  }
  const [f32, bf16, rnd] = j.models;
  assert.equal(rnd.vocab_size, 32000);
  assert.ok(rnd.bits_per_byte > 2 * f32.bits_per_byte, 'the random-weight model is far worse per byte');
  const pair = (a: string, b: string) => j.pairs.find((p: { a: string; b: string }) => p.a === a && p.b === b);
  const far = pair(F32!, LLAMA!);
  assert.ok(far.diff_ci95_hi < 0, 'stories260K beats the random model at 95%');
  const near = pair(F32!, BF16!);
  assert.ok(
    Math.abs(near.diff_bits_per_byte) < 0.005 &&
      near.diff_ci95_lo <= near.diff_bits_per_byte &&
      near.diff_bits_per_byte <= near.diff_ci95_hi,
  );
  assert.ok(near.diff_ci95_hi - near.diff_ci95_lo < far.diff_ci95_hi - far.diff_ci95_lo);
  // Only the pair that shares a tokenizer gets per-token differences.
  assert.equal(j.token_pairs.length, 1);
  const tp = j.token_pairs[0];
  assert.equal(tp.a, F32);
  assert.equal(tp.b, BF16);
  assert.equal(tp.tokens, f32.tokens_scored);
  assert.ok(Math.abs(tp.diff_nats_per_token - (f32.nats_per_token - bf16.nats_per_token)) < 1e-12);
  assert.equal(tp.most_different.length, 5);
  const d = tp.most_different.map((x: { diff_nats: number }) => Math.abs(x.diff_nats));
  assert.deepEqual(
    d,
    [...d].sort((a: number, b: number) => b - a),
  );
  for (const x of tp.most_different) assert.ok(Math.abs(x.nats_a - x.nats_b - x.diff_nats) < 1e-12);
  assert.equal(j.units.kind, 'documents');
  assert.ok(j.units.count >= 20);
  assert.match(readFileSync(report, 'utf8'), /<html/);
  // Text output ranks the models and names the units.
  const t = run('compare', '--models', LLAMA!, F32!, '--data', SMALL, '--ctx', '128', '--threads', '1');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /bits\/byte/);
  assert.match(t.stdout, /^\s+1\s+\d\.\d{4} \[.*stories260K\.gguf$/m);
});

test('compare ranks a GGUF model, an n-gram and an LSTM trained here (byte tokenizers) over the same bytes', {
  skip,
}, () => {
  // Train both small models on TinyStories text that does not overlap the scored 9 kB.
  const train = join(dir, 'train.txt');
  writeFileSync(train, readFileSync(TINY!).subarray(100_000, 250_000));
  const ng = join(dir, 'ng3');
  const lstm = join(dir, 'lstm');
  assert.equal(
    run('train', '--data', train, '--arch', 'ngram', '--vocab', 'byte', '--order', '3', '--out', ng).code,
    0,
  );
  const tr = run(
    'train',
    '--data',
    train,
    '--arch',
    'lstm',
    '--vocab',
    'byte',
    '--emb',
    '16',
    '--hidden',
    '32',
    '--steps',
    '30',
    '--batch',
    '8',
    '--seq',
    '32',
    '--eval-interval',
    '30',
    '--val-tokens',
    '2000',
    '--out',
    lstm,
  );
  assert.equal(tr.code, 0, tr.stderr);
  const j = JSON.parse(
    run('compare', '--models', F32!, ng, lstm, '--data', SMALL, '--ctx', '128', '--threads', '1', '--json').stdout,
  );
  const bytes = readFileSync(SMALL).length;
  for (const m of j.models) {
    const e = JSON.parse(
      run('eval', '--model', m.model, '--data', SMALL, '--ctx', '128', '--stride', '64', '--threads', '1', '--json')
        .stdout,
    );
    const bits = (e.nats_per_token * e.tokens_scored) / Math.LN2;
    assert.ok(Math.abs(m.bits_per_byte - bits / bytes) < 1e-9 * m.bits_per_byte, m.model);
  }
  assert.deepEqual(
    j.models.map((m: { vocab_size: number }) => m.vocab_size),
    [512, 256, 256],
  );
  assert.equal(j.models[1].tokens_scored, bytes - 1, 'a byte model without BOS scores every byte but the first');
  // The two byte-level models tokenise identically: per-token differences for that pair only.
  assert.deepEqual(
    j.token_pairs.map((t: { a: string; b: string }) => [t.a, t.b]),
    [[ng, lstm]],
  );
  validateCompareResult(j, { file: 'compare --json' });
});

test('compare: bad input', { skip }, () => {
  failsWith(run('compare', '--models', F32!, '--data', SMALL), /at least two models/);
  failsWith(run('compare', '--models', F32!, BF16!, '--data', join(dir, 'none.txt')), /data file .* does not exist/);
  failsWith(run('compare', '--models', F32!, join(dir, 'none.gguf'), '--data', SMALL), /none\.gguf does not exist/);
  failsWith(
    run('compare', '--models', F32!, BF16!, '--data', SMALL, '--ctx', '128', '--stride', '128'),
    /--stride must be below --ctx 128/,
  );
});

test('eval with several --data files: per-domain cross-entropy = xent eval of each file; the difference with a bootstrap interval; JSONL domains', {
  skip,
}, () => {
  const r = run('eval', '--model', F32!, '--data', SMALL, '--data', WSMALL, '--ctx', '128', '--threads', '1', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.domains.length, 2);
  for (const [i, f] of [SMALL, WSMALL].entries()) {
    const e = JSON.parse(run('eval', '--model', F32!, '--data', f, '--ctx', '128', '--threads', '1', '--json').stdout);
    const d = j.domains[i];
    assert.equal(d.nats_per_token, e.nats_per_token);
    assert.equal(d.bits_per_byte, e.bits_per_byte);
    assert.equal(d.tokens_scored, e.tokens_scored);
    assert.equal(d.perplexity_pm, e.perplexity_pm);
    assert.ok(d.nats_per_token_ci95[0] < d.nats_per_token && d.nats_per_token < d.nats_per_token_ci95[1]);
  }
  const [ts, wk] = j.domains;
  assert.equal(ts.domain, 'tiny9k.txt');
  const diff = j.differences[0];
  assert.equal(diff.a, 'tiny9k.txt');
  assert.equal(diff.b, 'wiki9k.txt');
  assert.ok(Math.abs(diff.diff_nats_per_token - (ts.nats_per_token - wk.nats_per_token)) < 1e-12);
  assert.ok(
    diff.diff_nats_per_token_ci95[1] < 0,
    'a TinyStories model is better on TinyStories than on WikiText at 95%',
  );
  assert.ok(
    diff.diff_nats_per_token_ci95[0] <= diff.diff_nats_per_token &&
      diff.diff_nats_per_token <= diff.diff_nats_per_token_ci95[1],
  );
  // The same two texts as JSONL documents with a domain field.
  const stories = readFileSync(SMALL, 'utf8').split('\n\n');
  const jsonl = join(dir, 'docs.jsonl');
  writeFileSync(
    jsonl,
    `${[...stories.map((text) => JSON.stringify({ text, domain: 'stories' })), JSON.stringify({ text: readFileSync(WSMALL, 'utf8'), domain: 'wiki' })].join('\n')}\n`,
  );
  const doms = readDomains([jsonl]);
  assert.deepEqual(
    doms.map((d) => [d.name, d.documents]),
    [
      ['stories', stories.length],
      ['wiki', 1],
    ],
  );
  assert.deepEqual(doms[0]!.bytes, readFileSync(SMALL)); // documents joined with the blank line they were split at
  const k = JSON.parse(
    run('eval', '--model', F32!, '--data', jsonl, '--ctx', '128', '--threads', '1', '--json').stdout,
  );
  assert.equal(k.domains[0].nats_per_token, ts.nats_per_token);
  assert.equal(k.domains[1].nats_per_token, wk.nats_per_token);
  const t = run('eval', '--model', F32!, '--data', jsonl, '--ctx', '128', '--threads', '1');
  assert.match(t.stdout, /stories .* wiki: -?\d\.\d{4} nats\/token \[95% CI/);
});

test('domains: bad JSONL and short domains are refused with file and line', { skip }, () => {
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"text": "a", "domain": "x"}\n{"text": "b"}\n');
  failsWith(
    run('eval', '--model', F32!, '--data', bad),
    /bad\.jsonl line 2: field "domain" must be a non-empty string/,
  );
  writeFileSync(bad, '{"text": "a", "domain": "x"}\nnot json\n');
  failsWith(run('eval', '--model', F32!, '--data', bad), /bad\.jsonl line 2 is not valid JSON/);
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'Once upon a time.');
  failsWith(
    run('eval', '--model', F32!, '--data', SMALL, '--data', short, '--ctx', '128'),
    /domain "short\.txt" .* is too short/,
  );
  failsWith(run('eval', '--model', F32!, '--data', SMALL, '--data', SMALL), /two --data inputs give the domain name/);
});

test('unitStarts: documents at blank lines, byte blocks when there are few', () => {
  const b = Buffer.from('a\n\nbb\n\n\ncc\n\nd');
  assert.deepEqual(unitStarts(b, 2), { kind: 'documents', starts: [0, 3, 8, 12] });
  assert.deepEqual(unitStarts(b, 10, 3), { kind: 'blocks', starts: [0, 4, 8] });
});
