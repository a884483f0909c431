// `xent distill` end to end: a student of stories260K (GGUF) on TinyStories that
// `xent eval` scores with the teacher's tokenizer; with alpha = 0 the distillation path
// (engine + distillationLoss gradients) must retrace `xent train`'s PyTorch-validated
// trajectory; with alpha = 1 the student learns from the teacher's distribution alone.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { CLI, sharedPath } from '../helpers/shared.js';

const skipData = requires({ shared: ['data/tinystories_valid_600k.txt'], cli: true });
const skipGguf = requires({
  shared: ['data/tinystories_valid_600k.txt', 'models/stories260K.gguf'],
  cli: true,
  native: true,
});
let dir = '';
let corpus = '';
let val = '';

function xent(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(args: string[]): Record<string, unknown> {
  const r = xent([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

before(() => {
  if (skipData) return;
  dir = mkdtempSync(join(tmpdir(), 'xent-distill-'));
  const text = readFileSync(sharedPath('data', 'tinystories_valid_600k.txt')!);
  corpus = join(dir, 'train.txt');
  val = join(dir, 'val.txt');
  writeFileSync(corpus, text.subarray(0, 100_000));
  writeFileSync(val, text.subarray(300_000, 310_000));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SMALL = [
  '--emb',
  '16',
  '--hidden',
  '32',
  '--seq',
  '24',
  '--batch',
  '8',
  '--eval-interval',
  '10',
  '--lr',
  '0.01',
  '--threads',
  '2',
  '--val-data',
];

test('a student of stories260K: trained on its tokenizer, scored by xent eval', { skip: skipGguf }, () => {
  const out = join(dir, 'student');
  const j = json([
    'distill',
    '--teacher',
    sharedPath('models', 'stories260K.gguf')!,
    '--data',
    corpus,
    ...SMALL,
    val,
    '--steps',
    '20',
    '--temperature',
    '2',
    '--alpha',
    '0.5',
    '--out',
    out,
  ]);
  assert.equal(j.vocab_size, 512);
  assert.equal(j.steps, 20);
  const curves = JSON.parse(readFileSync(join(out, 'curves.json'), 'utf8')) as {
    val: { step: number; nats_per_token: number }[];
  };
  // Near uniform at step 0 (ln 512 = 6.24 nats), better after 20 steps.
  assert.ok(Math.abs(curves.val[0]!.nats_per_token - Math.log(512)) < 0.1);
  assert.ok(curves.val.at(-1)!.nats_per_token < curves.val[0]!.nats_per_token - 0.5, JSON.stringify(curves.val));
  const tok = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { kind: string; vocabSize: number };
  assert.equal(tok.kind, 'gguf');
  const e = JSON.parse(xent(['eval', '--model', out, '--data', val, '--ctx', '64', '--json']).stdout) as {
    engine: string;
    vocab_size: number;
    bits_per_byte: number;
    nats_per_token: number;
  };
  assert.equal(e.engine, 'lstm');
  assert.equal(e.vocab_size, 512);
  assert.ok(
    Math.abs(e.nats_per_token - (j.val_nats_per_token as number)) < 0.3,
    `eval ${e.nats_per_token} vs training-time validation ${j.val_nats_per_token}`,
  );
  // The teacher on the same text, for scale: stories260K is far better than a 20-step student.
  const t = JSON.parse(
    xent([
      'eval',
      '--model',
      sharedPath('models', 'stories260K.gguf')!,
      '--data',
      val,
      '--ctx',
      '64',
      '--threads',
      '1',
      '--json',
    ]).stdout,
  ) as { bits_per_byte: number };
  assert.ok(t.bits_per_byte < e.bits_per_byte);
});

test('distill with alpha = 0 retraces xent train; with alpha = 1 the teacher alone teaches', { skip: skipData }, () => {
  // A byte-level teacher trained by xent, then students on its tokenizer.
  const teacher = join(dir, 'teacher');
  json(['train', '--data', corpus, '--vocab', 'byte', ...SMALL, val, '--steps', '40', '--out', teacher]);
  const plain = join(dir, 'plain');
  const a = json([
    'train',
    '--data',
    corpus,
    '--vocab',
    'byte',
    ...SMALL,
    val,
    '--steps',
    '20',
    '--seed',
    '7',
    '--out',
    plain,
  ]);
  const hard = join(dir, 'hard');
  const b = json([
    'distill',
    '--teacher',
    teacher,
    '--data',
    corpus,
    ...SMALL,
    val,
    '--steps',
    '20',
    '--seed',
    '7',
    '--alpha',
    '0',
    '--out',
    hard,
  ]);
  const ca = JSON.parse(readFileSync(join(plain, 'curves.json'), 'utf8')) as { val: { nats_per_token: number }[] };
  const cb = JSON.parse(readFileSync(join(hard, 'curves.json'), 'utf8')) as { val: { nats_per_token: number }[] };
  assert.equal(cb.val.length, ca.val.length);
  for (let i = 0; i < ca.val.length; i++) {
    const x = ca.val[i]!.nats_per_token,
      y = cb.val[i]!.nats_per_token;
    assert.ok(Math.abs(x - y) <= 1e-3 * x, `evaluation ${i}: train ${x} vs distill(alpha 0) ${y}`);
  }
  assert.ok(Math.abs((a.val_nats_per_token as number) - (b.val_nats_per_token as number)) <= 1e-3);

  const soft = join(dir, 'soft');
  json([
    'distill',
    '--teacher',
    teacher,
    '--data',
    corpus,
    ...SMALL,
    val,
    '--steps',
    '20',
    '--seed',
    '7',
    '--alpha',
    '1',
    '--temperature',
    '1',
    '--out',
    soft,
  ]);
  const cs = JSON.parse(readFileSync(join(soft, 'curves.json'), 'utf8')) as { val: { nats_per_token: number }[] };
  assert.ok(
    cs.val.at(-1)!.nats_per_token < cs.val[0]!.nats_per_token - 0.3,
    `no labels, only the teacher: ${JSON.stringify(cs.val)}`,
  );
  // ... and it differs from the hard-label run (the soft targets are not the labels).
  assert.ok(Math.abs(cs.val.at(-1)!.nats_per_token - cb.val.at(-1)!.nats_per_token) > 1e-3);
});

test('distill names a missing teacher in one line', { skip: skipData }, () => {
  const r = xent(['distill', '--teacher', join(dir, 'missing-model'), '--data', corpus, '--out', join(dir, 'x')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim(), /^xent: loadModel: model .*missing-model does not exist/);
});
