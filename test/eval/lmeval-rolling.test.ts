/**
 * `xent eval --protocol lm-eval`'s windows and word counts against lm-evaluation-harness
 * 0.4.13's own functions (get_rolling_token_windows, make_disjoint_window, the truncation of
 * TemplateAPI.batch_loglikelihood_requests, ConfigurableTask.count_words), run in the venv that
 * .ci/run installs; and the CLI's protocols: `all` reports exactly what each protocol reports
 * alone, `--stride` stays the shorthand of hf-stride, short documents are reported.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { lmEvalWindows, lmEvalWordCount } from '../../src/eval/lmeval-rolling.js';
import { runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { SHARED_DIR } from '../helpers/shared.js';

const VENV = process.env.XENT_LMEVAL_VENV ?? join(homedir(), '.cache', 'xent', 'lmeval-venv');
const PYTHON = join(VENV, 'bin', 'python');
const dir = mkdtempSync(join(tmpdir(), 'xent-protocols-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PY = `
import json, re, sys, types
sys.modules.setdefault("sacrebleu", types.ModuleType("sacrebleu"))
from lm_eval import utils
from lm_eval.api.task import ConfigurableTask
inp = json.load(sys.stdin)
out = {"windows": [], "words": [ConfigurableTask.count_words(s) for s in inp["texts"]]}
for L, ctx in inp["cases"]:
    P = ctx - 1  # TemplateAPI: self.max_length = max_length - 1
    toks = list(range(10, 10 + L))
    ws = []
    for a, b in map(utils.make_disjoint_window, utils.get_rolling_token_windows(toks, 1, P - 1, 1)):
        inp_ = (a + b)[-P:]
        ws.append([inp_, len(a) - max(0, len(a) + len(b) - P)])
    out["windows"].append(ws)
json.dump(out, sys.stdout)
`;

test("lm-eval's rolling windows and word counts, from lm-eval's own code", {
  skip: requires({ files: [PYTHON] }),
}, () => {
  const cases: Array<[number, number]> = [];
  for (const ctx of [4, 5, 8, 128])
    for (const L of [1, 2, 3, ctx - 3, ctx - 2, ctx - 1, ctx, 2 * ctx, 3 * ctx + 7]) if (L > 0) cases.push([L, ctx]);
  const texts = ['', ' a  b\tc\n', 'one', 'x\u00a0y\u2003z', 'p\x1cq\x85r', 'trailing ', 'a\ufeffb', '\n\nlead'];
  const r = spawnSync(PYTHON, ['-c', PY], { input: JSON.stringify({ cases, texts }), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as { windows: Array<Array<[number[], number]>>; words: number[] };
  cases.forEach(([L, ctx], i) => {
    const toks = Array.from({ length: L }, (_, k) => 10 + k);
    const got = lmEvalWindows(toks, 1, ctx).map((w) => [Array.from(w.tokens), w.ctxlen]);
    assert.deepEqual(got, want.windows[i], `L = ${L}, ctx = ${ctx}`);
  });
  assert.deepEqual(
    texts.map((t) => lmEvalWordCount(t)),
    want.words,
  );
});

const MODEL = join(SHARED_DIR, 'models', 'stories260K.gguf');
const skipCli = requires({
  shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  native: true,
});

test('--protocol all: each row is what that protocol reports alone; --stride is hf-stride', {
  skip: skipCli,
}, async () => {
  const text = readFileSync(join(SHARED_DIR, 'data', 'tinystories_valid_600k.txt'), 'utf8');
  const stories = text
    .split(/\n\s*\n/)
    .filter((s) => s.trim() !== '')
    .slice(0, 30);
  const docs = join(dir, 'docs.jsonl');
  writeFileSync(docs, stories.map((s) => `${JSON.stringify({ text: s })}\n`).join(''));
  const joined = join(dir, 'joined.txt');
  writeFileSync(joined, stories.join('\n\n'));
  const base = ['--model', MODEL, '--ctx', '128', '--threads', '1', '--json'];
  const json = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await runCli(['eval', ...base, ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const all = await json(['--data', docs, '--protocol', 'all', '--report', join(dir, 'r.html')]);
  const rows = all.rows as Array<Record<string, number | string>>;
  const llama = await json(['--data', joined]);
  const hf = await json(['--data', joined, '--stride', '64']);
  const hf2 = await json(['--data', joined, '--protocol', 'hf-stride']);
  const lm = await json(['--data', docs, '--protocol', 'lm-eval']);
  assert.deepEqual(
    rows.map((r) => r.protocol),
    ['llama', 'hf-stride', 'lm-eval'],
  );
  assert.equal(rows[0]!.perplexity_per_token, llama.perplexity);
  assert.equal(rows[0]!.tokens_scored, llama.tokens_scored);
  assert.equal(rows[1]!.perplexity_per_token, hf.perplexity);
  assert.equal(hf2.perplexity, hf.perplexity, '--protocol hf-stride defaults to S = ctx/2');
  assert.equal(rows[2]!.perplexity_per_word, lm.word_perplexity);
  assert.equal(rows[2]!.perplexity_per_byte, lm.byte_perplexity);
  assert.equal(rows[2]!.bits_per_byte, lm.bits_per_byte);
  assert.equal(rows[0]!.context_min, 65, 'llama scores from ctx/2: 64 + BOS-led tokens before the first scored one');
  assert.equal(rows[2]!.context_min, 1);
  assert.equal((all.differences as string[]).length, 3);
  assert.match(readFileSync(join(dir, 'r.html'), 'utf8'), /Perplexity protocols side by side/);
  const bad = await runCli(['eval', ...base, '--data', joined, '--protocol', 'llama', '--stride', '64']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^xent: eval: --stride is the sliding window of --protocol hf-stride/m);
});

test('--protocol lm-eval: documents shorter than two tokens are reported, not dropped', { skip: skipCli }, async () => {
  const docs = join(dir, 'short.jsonl');
  writeFileSync(
    docs,
    `${JSON.stringify({ text: 'Once upon a time there was a cat.' })}\n${JSON.stringify({ text: '' })}\n`,
  );
  const r = await runCli([
    'eval',
    '--model',
    MODEL,
    '--ctx',
    '128',
    '--threads',
    '1',
    '--json',
    '--data',
    docs,
    '--protocol',
    'lm-eval',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { documents: number; short_documents: number[] };
  assert.equal(j.documents, 2);
  assert.deepEqual(j.short_documents, [1]);
  assert.match(r.stderr, /document 2 has 0 token\(s\) \(fewer than 2\)/);
});
