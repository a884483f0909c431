/**
 * `xent eval` end to end through the built CLI: reference figures, output files,
 * bad input (each gives one clear line and exit code 2), and resumption after kill -9.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGgufHeader } from '../../src/models/gguf/gguf-header.js';
import { type CliRun, failsWith, runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { CLI, sharedPath } from '../helpers/shared.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const TINY = sharedPath('data', 'tinystories_valid_600k.txt');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({
  shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  native: true,
  files: [GPL],
});
const skipNative = skip;
const dir = mkdtempSync(join(tmpdir(), 'xent-eval-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const xent = (...args: string[]): CliRun => runCli(['eval', ...args]);
// The reference figures (../shared/reference/README.md) were made with flash attention off,
// -b equal to -c: llama-perplexity's packing of chunks does not change them, flash attention does.
const FA_OFF = ['--flash-attn', 'off'];

test('reference run: GPL-3, --chunks 20, ctx 128 (text and --json)', { skip }, () => {
  const t = xent('--model', MODEL!, '--data', GPL, '--ctx', '128', '--chunks', '20', '--threads', '1', ...FA_OFF);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^\[1\]114\.1428,\[2\]101\.7695,\[3\]67\.5224,.*,\[20\]83\.7522$/m);
  assert.match(t.stdout, /Final estimate: PPL = 83\.7522 \+\/- 8\.02147/);
  assert.match(t.stdout, /nats\/token/);
  assert.match(t.stdout, /bits\/byte/);
  const j = JSON.parse(
    xent('--model', MODEL!, '--data', GPL, '--ctx', '128', '--chunks', '20', '--threads', '1', '--json', ...FA_OFF)
      .stdout,
  );
  for (const k of [
    'perplexity',
    'perplexity_pm',
    'nats_per_token',
    'bits_per_token',
    'bits_per_byte',
    'tokens_scored',
    'bytes_scored',
    'chunks',
    'top1_accuracy',
    'tokens_per_second',
    'ctx',
    'mode',
    'model',
    'data',
    'peak_rss_bytes',
    'xent_version',
  ]) {
    assert.ok(k in j, k);
  }
  assert.equal(j.perplexity.toFixed(4), '83.7522');
  assert.equal(j.perplexity_pm.toFixed(5), '8.02147');
  assert.equal(j.chunks, 20);
  assert.equal(j.tokens_scored, 1260);
  assert.equal(j.mode, 'chunks');
  assert.ok(Math.abs(j.bits_per_token - j.nats_per_token / Math.LN2) < 1e-12);
  assert.ok(j.perplexity_ci95[0] < j.perplexity && j.perplexity < j.perplexity_ci95[1]);
  assert.ok(j.bytes_scored > j.tokens_scored && j.tokens_per_second > 0 && j.peak_rss_bytes > 1e6);
  assert.ok(Math.abs(j.bits_per_byte - (j.nats_per_token * j.tokens_scored) / Math.LN2 / j.bytes_scored) < 1e-12);
});

test('--tokens writes one record per scored token that adds up to the summary', { skip }, () => {
  const out = join(dir, 'tok.jsonl');
  const j = JSON.parse(
    xent('--model', MODEL!, '--data', GPL, '--ctx', '128', '--chunks', '3', '--threads', '1', '--json', '--tokens', out)
      .stdout,
  );
  assert.ok(!existsSync(`${out}.partial`));
  const recs = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(recs.length, j.tokens_scored);
  assert.deepEqual(Object.keys(recs[0]), [
    'position',
    'token',
    'text',
    'nats',
    'bits',
    'p',
    'rank',
    'top1',
    'top1_text',
    'top1_p',
  ]);
  assert.equal(recs[0].position, 65); // chunk 1 scores tokens 65…127
  assert.equal(recs[63].position, 128 + 65);
  const mean = recs.reduce((a, r) => a + r.nats, 0) / recs.length;
  assert.ok(Math.abs(mean - j.nats_per_token) < 1e-12);
  // Ranks are 1-based (1 = the model's top choice), and rank 1 is exactly top1 = token.
  const acc = recs.filter((r) => r.rank === 1).length / recs.length;
  for (const r of recs) assert.equal(r.rank === 1, r.top1 === r.token, `position ${r.position}`);
  assert.ok(Math.abs(acc - j.top1_accuracy) < 1e-12);
  // The model's top token is at least as likely as the true one: top1_p ≥ p, equal when rank is 1 (vocab 512).
  for (const r of recs) {
    assert.ok(Math.abs(r.p - Math.exp(-r.nats)) < 1e-12 && r.rank >= 1 && r.rank <= 512);
    assert.ok(r.top1_p >= r.p * (1 - 1e-9) && r.top1_p <= 1, `position ${r.position}: top1_p ${r.top1_p} < p ${r.p}`);
    if (r.rank === 1) assert.ok(Math.abs(r.top1_p - r.p) <= 1e-9 * r.p);
  }
});

test('--stride: Hugging Face sliding window scores every token after the first once', { skip }, () => {
  const j = JSON.parse(
    xent(
      '--model',
      MODEL!,
      '--data',
      GPL,
      '--ctx',
      '128',
      '--stride',
      '64',
      '--chunks',
      '10',
      '--threads',
      '1',
      '--json',
    ).stdout,
  );
  assert.equal(j.mode, 'stride');
  assert.equal(j.tokens_scored, 127 + 9 * 64);
  // More context per scored token than llama.cpp's chunks (whose first half is unscored): same order of PPL.
  assert.ok(j.perplexity > 20 && j.perplexity < 400, String(j.perplexity));
});

test('bad input: missing files, not GGUF, truncated, too short, invalid UTF-8, bad options', { skip }, () => {
  failsWith(xent('--model', join(dir, 'none.gguf'), '--data', GPL), /model .*none\.gguf does not exist/);
  failsWith(xent('--model', MODEL!, '--data', join(dir, 'none.txt')), /data file .*none\.txt does not exist/);
  const notGguf = join(dir, 'fake.gguf');
  writeFileSync(notGguf, 'PK\x03\x04 this is a zip, not a model');
  failsWith(xent('--model', notGguf, '--data', GPL), /not a GGUF model: it starts with "PK\\x03\\x04"/);
  const trunc = join(dir, 'trunc.gguf');
  writeFileSync(trunc, readFileSync(MODEL!).subarray(0, 600_000));
  failsWith(
    xent('--model', trunc, '--data', GPL),
    /truncated or corrupt: tensor .* needs bytes .* but the file has 600000 bytes/,
  );
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'Once upon a time there was a cat.');
  failsWith(
    xent('--model', MODEL!, '--data', short, '--ctx', '128'),
    /the text has \d+ tokens \(with BOS\), but one chunk of --ctx 128 needs at least 128/,
  );
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, Buffer.concat([Buffer.from('hello wörld '), Buffer.from([0xff, 0xfe]), Buffer.from(' more')]));
  failsWith(xent('--model', MODEL!, '--data', bad), /not valid UTF-8: bad byte sequence at byte offset 13/);
  failsWith(xent('--model', MODEL!, '--data', GPL, '--ctx', 'abc'), /--ctx must be an integer/);
  failsWith(
    xent('--model', MODEL!, '--data', GPL, '--ctx', '128', '--stride', '128'),
    /--stride must be an integer in \[1, 127\]/,
  );
});

test('--ctx above the training context warns and still evaluates', { skip }, () => {
  const r = xent('--model', MODEL!, '--data', GPL, '--ctx', '4096', '--chunks', '1', '--threads', '1', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: --ctx 4096 is larger than the model's training context \(2048 tokens\)/);
  assert.equal(JSON.parse(r.stdout).tokens_scored, 2047);
});

test('non-finite logits stop the run naming the chunk and position; no output file is left', {
  skip: skipNative,
}, () => {
  // A copy of stories260K whose output row for token 300 is NaN: every logit row has a NaN.
  const buf = Buffer.from(readFileSync(MODEL!));
  const h = readGgufHeader(MODEL!);
  const out = h.tensors.find((t) => t.name === 'output.weight')!;
  const rowStart = h.dataOffset + out.offset + 300 * out.dims[0]! * 4;
  for (let i = 0; i < out.dims[0]!; i++) buf.writeFloatLE(NaN, rowStart + 4 * i);
  const nanModel = join(dir, 'nan.gguf');
  writeFileSync(nanModel, buf);
  const tok = join(dir, 'nan.jsonl');
  const r = xent('--model', nanModel, '--data', GPL, '--ctx', '128', '--threads', '1', '--tokens', tok);
  failsWith(r, /chunk 1 \(tokens 0…127\), position 64 .*non-finite logit for token 300.*stopping/);
  assert.ok(!existsSync(tok) && !existsSync(`${tok}.partial`));
});

test('--checkpoint: kill -9 mid-run, rerun, identical result and token file', {
  skip: skipNative,
  timeout: 180_000,
}, async () => {
  const args = ['--model', MODEL!, '--data', TINY!, '--ctx', '128', '--chunks', '400', '--threads', '1', '--json'];
  const refTok = join(dir, 'ref.jsonl');
  const ref = xent(...args, '--tokens', refTok);
  assert.equal(ref.code, 0, ref.stderr);
  const cp = join(dir, 'run.ckpt');
  const tok = join(dir, 'run.jsonl');
  const child = spawn(process.execPath, [CLI, 'eval', ...args, '--tokens', tok, '--checkpoint', cp], {
    stdio: 'ignore',
    env: { ...process.env, CI: '1' },
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  // Wait for the first checkpoint (written every 2 s), then kill -9.
  let killedMidway = false;
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    if (existsSync(cp)) {
      const st = JSON.parse(readFileSync(cp, 'utf8')).state;
      if (st.windowsDone > 0 && st.windowsDone < 400) {
        child.kill('SIGKILL');
        killedMidway = true;
        break;
      }
    }
  }
  await exited;
  assert.ok(killedMidway, 'the run finished before a checkpoint could be interrupted');
  assert.ok(!existsSync(tok), 'no complete-looking token file after the kill');
  const resumed = xent(...args, '--tokens', tok, '--checkpoint', cp);
  assert.equal(resumed.code, 0, resumed.stderr);
  const a = JSON.parse(ref.stdout);
  const b = JSON.parse(resumed.stdout);
  assert.ok(b.resumed_from_chunk > 0);
  for (const k of [
    'perplexity',
    'perplexity_pm',
    'nats_per_token',
    'bits_per_byte',
    'tokens_scored',
    'bytes_scored',
    'top1_accuracy',
    'chunks',
    'running_perplexity',
  ]) {
    assert.deepEqual(b[k], a[k], k);
  }
  assert.equal(readFileSync(tok, 'utf8'), readFileSync(refTok, 'utf8'));
  assert.ok(!existsSync(cp), 'checkpoint removed after a complete run');
  // A checkpoint from another run is refused.
  writeFileSync(
    cp,
    JSON.stringify({
      format: 'xent-eval-checkpoint/1',
      fingerprint: { ctx: 64 },
      state: { windowsDone: 1 },
      tokensFileBytes: 0,
    }),
  );
  failsWith(xent(...args, '--checkpoint', cp), /belongs to a different run/);
});

test('Ctrl-C prints the result so far and exits 130', { skip: skipNative, timeout: 120_000 }, async () => {
  // Interrupt once scoring has begun (the first per-token records are in `<file>.partial`), not
  // after a fixed delay: on a loaded machine start-up alone can take longer than any fixed delay.
  const records = join(dir, 'ctrl-c.jsonl');
  const partial = `${records}.partial`;
  const child = spawn(
    process.execPath,
    [CLI, 'eval', '--model', MODEL!, '--data', TINY!, '--ctx', '128', '--threads', '1', '--tokens', records],
    { env: { ...process.env, CI: '1' } },
  );
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  for (let waited = 0; !(existsSync(partial) && statSync(partial).size > 0); waited += 50) {
    assert.ok(waited < 100_000, 'xent eval wrote no per-token record within 100 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  assert.equal(await code, 130);
  assert.match(stdout, /Final estimate: PPL = \d+\.\d{4} \+\/- \d+\.\d{5}/);
  assert.match(stdout, /interrupted after chunk \d+ of 2323/);
});
