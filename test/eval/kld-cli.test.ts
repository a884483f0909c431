/**
 * `xent kld` end to end through the built CLI, against llama.cpp's printed figures
 * (../shared/reference/README.md): stories260K vs stories260K-bf16 on TinyStories at
 * ctx 128 (the one full 2323-chunk run), stories260K against itself on GPL-3 (20 chunks);
 * base files written and read back; bad input (one line, exit code 2).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { validateKldResult } from '../../src/results/schema.js';
import { type CliRun, failsWith, runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { CLI, sharedPath } from '../helpers/shared.js';

const F32 = sharedPath('models', 'stories260K.gguf');
const BF16 = sharedPath('models', 'stories260K-bf16.gguf');
const LLAMA = sharedPath('models', 'llama-2-tiny-random.gguf');
const TINY = sharedPath('data', 'tinystories_valid_600k.txt');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({
  shared: ['models/stories260K.gguf', 'models/stories260K-bf16.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  native: true,
  files: [GPL],
});
const dir = mkdtempSync(join(tmpdir(), 'xent-kld-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// llama.cpp's figures below were made with flash attention off (-fa off), as older releases ran.
const xent = (...args: string[]): CliRun => runCli(['kld', '--threads', '1', '--flash-attn', 'off', ...args]);

/** The value printed after `label` (a line of the summary), e.g. "Mean PPL(Q)" → "5.005144 ± 0.028888". */
function line(out: string, label: RegExp): string {
  const m = out.split('\n').find((l) => label.test(l));
  assert.ok(m, `no line ${label} in:\n${out}`);
  return m
    .replace(label, '')
    .replace(/^\s*:?\s*/, '')
    .trim();
}

test('llama.cpp reference: stories260K vs stories260K-bf16, TinyStories, ctx 128, --compat llama (every printed figure)', {
  skip,
}, () => {
  const r = xent(
    '--base',
    F32!,
    '--model',
    BF16!,
    '--data',
    TINY!,
    '--ctx',
    '128',
    '--compat',
    'llama',
    '--top-k',
    '0',
    '--no-jsd',
  );
  assert.equal(r.code, 0, r.stderr);
  const o = r.stdout;
  assert.match(o, /2323 of 2323 chunks of 128/);
  assert.equal(line(o, /^Mean PPL\(Q\)\s+/), '5.005144 ±   0.028888');
  assert.equal(line(o, /^Mean PPL\(base\)\s+/), '4.923979 ±   0.026437');
  assert.equal(line(o, /^Cor\(ln\(PPL\(Q\)\), ln\(PPL\(base\)\)\)/), '98.68%');
  assert.match(line(o, /^Mean ln\(PPL\(Q\)\/PPL\(base\)\)\s+/), /^0\.016349 ±\s+0\.000990 /);
  assert.equal(line(o, /^Mean\s+KLD:/), '0.000080 ±   0.000000');
  assert.equal(line(o, /^Maximum KLD:/), '0.017458');
  assert.equal(line(o, /^99\.9%\s+KLD:/), '0.001377');
  assert.equal(line(o, /^99\.0%\s+KLD:/), '0.000526');
  assert.equal(line(o, /^Median\s+KLD:/), '0.000051');
  assert.equal(line(o, /^10\.0%\s+KLD:/), '0.000001');
  assert.equal(line(o, /^ 1\.0%\s+KLD:/), '-0.000001');
  assert.equal(line(o, /^Minimum KLD:/), '-0.000056');
  assert.equal(line(o, /^Mean\s+Δp:/), '-0.012 ± 0.001 %');
  assert.equal(line(o, /^Maximum Δp:/), '4.815%');
  assert.equal(line(o, /^Median\s+Δp:/), '-0.000%');
  assert.equal(line(o, /^Minimum Δp:/), '-4.213%');
  assert.equal(line(o, /^RMS Δp\s+:/), '0.286 ± 0.001 %');
  assert.equal(line(o, /^Same top p:/), '99.489 ± 0.019 %');
});

test('stories260K against itself, GPL-3, 20 chunks: llama.cpp figures; exact mode gives KLD ≈ 0 and same top 100%', {
  skip,
}, () => {
  const r = xent('--base', F32!, '--model', F32!, '--data', GPL, '--ctx', '128', '--chunks', '20', '--compat', 'llama');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(line(r.stdout, /^Mean\s+KLD:/), '-0.000001 ±   0.000000');
  assert.equal(line(r.stdout, /^Same top p:/), '100.000 ± 0.000 %');
  assert.equal(line(r.stdout, /^Mean PPL\(Q\)\/PPL\(base\)\s+/), '1.004207 ±   0.002112');
  assert.match(line(r.stdout, /^Mean PPL\(Q\)\s+/), /^83\.752\d+ ±\s+8\.0214\d+$/); // = xent eval / llama-perplexity's 83.7522 ± 8.02147
  const e = JSON.parse(
    xent('--base', F32!, '--model', F32!, '--data', GPL, '--ctx', '128', '--chunks', '20', '--json').stdout,
  );
  assert.equal(e.base_storage, 'float32');
  assert.ok(
    Math.abs(e.kld_mean) < 1e-9 && Math.abs(e.kld_max) < 1e-6,
    `exact self-KLD ${e.kld_mean}, max ${e.kld_max}`,
  );
  assert.equal(e.same_top_p, 1);
  assert.equal(e.ln_ppl_ratio, 0);
  assert.equal(e.ppl_model.toFixed(4), '83.7522');
  assert.ok(Math.abs(e.jsd_mean) < 1e-9);
  assert.equal(e.topk_agreement, 1);
});

test('--json: every figure with units, validates as a kld result; --save-base then --base-file gives identical statistics; --report', {
  skip,
}, () => {
  const base = join(dir, 'b30.kld');
  const report = join(dir, 'kld.html');
  const a = xent(
    '--base',
    F32!,
    '--model',
    BF16!,
    '--data',
    TINY!,
    '--ctx',
    '128',
    '--chunks',
    '30',
    '--compat',
    'llama',
    '--save-base',
    base,
    '--json',
    '--report',
    report,
  );
  assert.equal(a.code, 0, a.stderr);
  const j = JSON.parse(a.stdout);
  for (const k of [
    'kld_mean',
    'kld_mean_pm',
    'kld_max',
    'kld_p99',
    'kld_median',
    'same_top_p',
    'same_top_p_pm',
    'delta_p_rms',
    'ppl_model',
    'ppl_base',
    'ln_ppl_ratio',
    'ln_ppl_ratio_pm',
    'tokens_scored',
    'kld_p95',
    'kld_p90',
    'kld_p05',
    'jsd_mean',
    'topk_agreement',
    'kld_unit',
  ]) {
    assert.ok(k in j, k);
  }
  assert.equal(j.tokens_scored, 30 * 63);
  assert.equal(j.base_storage, 'uint16');
  assert.ok(j.kld_mean > 0 && j.kld_p99 > j.kld_median && j.kld_max >= j.kld_p999);
  assert.ok(j.jsd_mean > 0 && j.jsd_mean < j.kld_mean, 'JSD ≈ KLD/4 for close distributions');
  validateKldResult(JSON.parse(JSON.stringify(j)), { file: 'kld --json' });
  // The base file is llama.cpp's format: header, 30·128 tokens, 30·63 rows of 2·256 + 4 uint16, then xent's trailer.
  const bf = readFileSync(base);
  assert.equal(bf.toString('latin1', 0, 8), '_logits_');
  assert.equal(bf.readUInt32LE(8), 128);
  assert.equal(bf.readInt32LE(12), 512);
  assert.equal(bf.readInt32LE(16), 30);
  const dataEnd = 20 + 4 * 30 * 128 + 30 * 63 * 516 * 2;
  assert.equal(bf.length, dataEnd + bf.readUInt32LE(bf.length - 12) + 12);
  assert.equal(bf.toString('latin1', bf.length - 8), '_xentkl1');
  assert.equal(JSON.parse(bf.toString('utf8', dataEnd, bf.length - 12)).ctx, 128);
  assert.match(readFileSync(report, 'utf8'), /<html[\s\S]*KL divergence/i);
  const b = xent('--base-file', base, '--model', BF16!, '--data', TINY!, '--ctx', '128', '--json');
  assert.equal(b.code, 0, b.stderr);
  const k = JSON.parse(b.stdout);
  for (const key of Object.keys(j)) {
    if (/^(kld|delta_p|ppl|ln_ppl|same_top|nats_per_token|tokens_scored)/.test(key))
      assert.deepEqual(k[key], j[key], key);
  }
  assert.equal(k.jsd_mean, null); // no float base in a base file
  // The exact (default) mode: the true KLD, never negative beyond rounding, a little above llama's (no −16 cut-off).
  const x = JSON.parse(
    xent('--base', F32!, '--model', BF16!, '--data', TINY!, '--ctx', '128', '--chunks', '30', '--json').stdout,
  );
  assert.ok(x.kld_min > -1e-7, String(x.kld_min));
  assert.ok(Math.abs(x.kld_mean - j.kld_mean) < 0.2 * j.kld_mean, `${x.kld_mean} vs ${j.kld_mean}`);
  // PPL(base) differs only by the uint16 storage (quantisation, NLL capped near 16 nats); PPL(Q) not at all.
  assert.ok(Math.abs(x.ppl_base - j.ppl_base) < 1e-3 * j.ppl_base && x.ppl_base !== j.ppl_base);
  assert.ok(Math.abs(x.ppl_model - j.ppl_model) < 1e-6 * j.ppl_model);
});

test('bad input: different tokenizers, base file from another ctx or text, short text, bad options', { skip }, () => {
  if (LLAMA)
    failsWith(
      xent('--base', F32!, '--model', LLAMA, '--data', GPL, '--ctx', '128', '--chunks', '2'),
      /different tokenizers.*512.*32000/,
    );
  const base = join(dir, 'b2.kld');
  assert.equal(
    xent('--base', F32!, '--model', BF16!, '--data', GPL, '--ctx', '128', '--chunks', '2', '--save-base', base).code,
    0,
  );
  failsWith(
    xent('--base-file', base, '--model', BF16!, '--data', GPL, '--ctx', '256'),
    /made with ctx 128, but this run uses --ctx 256/,
  );
  failsWith(xent('--base-file', base, '--model', BF16!, '--data', TINY!, '--ctx', '128'), /made from another text/);
  // A llama.cpp-made file (no trailer) from another text is caught by its tokens.
  const bare = readFileSync(base);
  const llamaFile = join(dir, 'llama.kld');
  writeFileSync(llamaFile, bare.subarray(0, bare.length - 12 - bare.readUInt32LE(bare.length - 12)));
  failsWith(
    xent('--base-file', llamaFile, '--model', BF16!, '--data', TINY!, '--ctx', '128'),
    /made from another text or tokenizer: its token \d+ is/,
  );
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'Once upon a time.');
  failsWith(
    xent('--base', F32!, '--model', BF16!, '--data', short, '--ctx', '128'),
    /text has \d+ tokens.*needs at least 128/,
  );
  failsWith(xent('--base', F32!, '--model', BF16!, '--data', GPL, '--compat', 'vllm'), /--compat must be 'llama'/);
  failsWith(xent('--model', BF16!, '--data', GPL), /--base <model> or --base-file/);
  failsWith(
    xent('--base-file', join(dir, 'none.kld'), '--model', BF16!, '--data', GPL),
    /base file .*none\.kld does not exist/,
  );
  failsWith(xent('--base', F32!, '--model', BF16!, '--data', join(dir, 'none.txt')), /data file .* does not exist/);
});

test('--checkpoint: killed with SIGKILL mid-run, the same command resumes and gives identical figures and base file', {
  skip,
}, async () => {
  const args = [
    '--base',
    F32!,
    '--model',
    BF16!,
    '--data',
    TINY!,
    '--ctx',
    '128',
    '--chunks',
    '60',
    '--compat',
    'llama',
    '--json',
  ];
  const ref = join(dir, 'ref60.kld');
  const whole = xent(...args, '--save-base', ref);
  assert.equal(whole.code, 0, whole.stderr);
  const cpFile = join(dir, 'kld.ckpt');
  const base = join(dir, 'res60.kld');
  const full = [
    CLI,
    'kld',
    '--threads',
    '1',
    '--flash-attn',
    'off',
    ...args,
    '--save-base',
    base,
    '--checkpoint',
    cpFile,
  ];
  const child = spawn(process.execPath, full, { stdio: 'ignore', env: { ...process.env, CI: '1' } });
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  // Kill as soon as a checkpoint exists (written after the first chunk, then every 2 s).
  let killed = false;
  for (let i = 0; i < 2400 && !killed; i++) {
    await new Promise((r) => setTimeout(r, 25));
    if (existsSync(cpFile)) {
      child.kill('SIGKILL');
      killed = true;
    }
    if (child.exitCode !== null) break;
  }
  await exited;
  assert.ok(killed, 'the first checkpoint (written after chunk 1) was seen before the run ended');
  const done = JSON.parse(readFileSync(cpFile, 'utf8')).chunksDone as number;
  assert.ok(done >= 1 && done < 60, String(done));
  assert.ok(existsSync(`${base}.partial`) && !existsSync(base));
  const r = spawnSync(process.execPath, full, { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const a = JSON.parse(whole.stdout);
  const b = JSON.parse(r.stdout);
  assert.equal(b.resumed_from_chunk, done);
  for (const k of Object.keys(a))
    if (/^(kld|delta_p|ppl|ln_ppl|same_top|jsd|topk|tokens_scored|chunks)/.test(k)) assert.deepEqual(b[k], a[k], k);
  assert.ok(!existsSync(cpFile), 'the checkpoint is removed once the run completes');
  const x = readFileSync(ref);
  const y = readFileSync(base);
  const trailer = (f: Buffer): number => f.length - 12 - f.readUInt32LE(f.length - 12);
  assert.ok(x.subarray(0, trailer(x)).equals(y.subarray(0, trailer(y))), 'the resumed base file has the same rows');
});

// llama-perplexity (built from node-llama-cpp's bundled llama.cpp source against its libllama,
// `-c 128 -b 128 -t 1 -fa off --chunks 20`, base pass then --kl-divergence) on the first
// 120,000 bytes of tinystories_valid_600k.txt, llama-2-tiny-random against itself (V = 32000,
// so xent's WebAssembly path runs): its whole summary block, measured 2026-12-01.
const LLAMA_V32K_BLOCK = [
  'Mean PPL(Q)                   : 32134.781314 ±  56.814847',
  'Mean PPL(base)                : 32134.785595 ±  56.815439',
  'Cor(ln(PPL(Q)), ln(PPL(base))): 100.00%',
  'Mean ln(PPL(Q)/PPL(base))     :  -0.000000 ±   0.000005',
  'Mean PPL(Q)/PPL(base)         :   1.000000 ±   0.000005',
  'Mean PPL(Q)-PPL(base)         :  -0.004281 ±   0.172623',
  'Mean    KLD:  -0.000000 ±   0.000000',
  'Maximum KLD:   0.000001',
  '99.9%   KLD:   0.000001',
  '99.0%   KLD:   0.000001',
  '95.0%   KLD:   0.000001',
  '90.0%   KLD:   0.000001',
  'Median  KLD:   0.000000',
  '10.0%   KLD:  -0.000001',
  ' 5.0%   KLD:  -0.000001',
  ' 1.0%   KLD:  -0.000001',
  ' 0.1%   KLD:  -0.000001',
  'Minimum KLD:  -0.000001',
  'Mean    Δp:  0.000 ± 0.000 %',
  'Maximum Δp:  0.000%',
  '99.9%   Δp:  0.000%',
  '99.0%   Δp:  0.000%',
  '95.0%   Δp:  0.000%',
  '90.0%   Δp:  0.000%',
  '75.0%   Δp:  0.000%',
  'Median  Δp:  0.000%',
  '25.0%   Δp: -0.000%',
  '10.0%   Δp: -0.000%',
  ' 5.0%   Δp: -0.000%',
  ' 1.0%   Δp: -0.000%',
  ' 0.1%   Δp: -0.000%',
  'Minimum Δp: -0.000%',
  'RMS Δp    :  0.000 ± 0.000 %',
  'Same top p: 100.000 ± 0.000 %',
];

test('V = 32000 (WebAssembly sums): every line of llama-perplexity --kl-divergence, llama-2-tiny-random against itself, 20 chunks', {
  skip: requires({
    shared: ['models/stories260K.gguf', 'models/llama-2-tiny-random.gguf', 'data/tinystories_valid_600k.txt'],
    cli: true,
    native: true,
  }),
}, () => {
  const text = join(dir, 'tiny120k.txt');
  writeFileSync(text, readFileSync(TINY!).subarray(0, 120_000));
  const r = xent(
    '--base',
    LLAMA!,
    '--model',
    LLAMA!,
    '--data',
    text,
    '--ctx',
    '128',
    '--chunks',
    '20',
    '--compat',
    'llama',
    '--top-k',
    '0',
  );
  assert.equal(r.code, 0, r.stderr);
  const got = r.stdout
    .split('\n')
    .map((l) => l.replace(/\s+\(nats\/token\)$/, ''))
    .filter((l) => LLAMA_V32K_BLOCK.some((e) => e.split(':')[0] === l.split(':')[0]));
  assert.deepEqual(got, LLAMA_V32K_BLOCK);
});
