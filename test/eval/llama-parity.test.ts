/**
 * `xent eval` and `xent kld --compat llama` against llama-perplexity's own output, every
 * printed figure: the running value after each chunk, the final PPL ± and the KL
 * divergence summary; and the base file of its --kl-divergence-base pass, byte for byte. The expected values are llama-perplexity's logs in test/eval/data
 * (README.md there: the commands, and why stories260K with flash attention is compared
 * with llama-perplexity running on the libraries node-llama-cpp ships).
 *
 * Each log's name says the setting: <model>[-wiki]-c<ctx>[-b<batch>]-fa_<auto|on|off>.
 * 'auto' runs xent with no --flash-attn at all: the default must be llama-perplexity's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT, sharedPath } from '../helpers/shared.js';

const DATA = join(REPO_ROOT, 'test', 'eval', 'data');
const dir = mkdtempSync(join(tmpdir(), 'xent-llama-parity-'));
after(() => rmSync(dir, { recursive: true, force: true }));
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

interface Fixture {
  file: string;
  model: string;
  data: string;
  ctx: number;
  batch?: number;
  fa: 'auto' | 'on' | 'off';
  chunks: number;
}

/** The fixtures xent must equal: for stories260K with flash attention, the shipped-library run. */
function fixtures(prefix: string): Fixture[] {
  const all = readdirSync(DATA).filter((f) => f.endsWith('.log') && f.startsWith(prefix));
  return all
    .filter((f) => f.includes('.shipped.') || !all.includes(f.replace(/\.log$/, '.shipped.log')))
    .map((file) => {
      const m =
        /^(?:kld-)?(stories260K|llama-2-tiny-random)(?:-bf16)?(-wiki)?-c(\d+)(?:-b(\d+))?-fa_(auto|on|off)/.exec(file);
      assert.ok(m, file);
      const log = readFileSync(join(DATA, file), 'utf8');
      const chunks = Number(/--chunks (\d+)/.exec(log)![1]);
      return {
        file,
        model: m[1]!,
        data: m[2] ? 'wikitext2_test.raw' : 'tinystories_valid_600k.txt',
        ctx: Number(m[3]),
        ...(m[4] ? { batch: Number(m[4]) } : {}),
        fa: m[5] as Fixture['fa'],
        chunks,
      };
    });
}

/** llama-perplexity's printed figures: running values and the final estimate (the first pass of a KLD log). */
function figures(out: string): { running: string[]; final: string } {
  const running = new Map<number, string>();
  for (const m of out.matchAll(/\[(\d+)\]([\d.]+)/g)) running.set(Number(m[1]), m[2]!);
  const final = /Final estimate: PPL = ([\d.]+ \+\/- [\d.]+)/.exec(out)?.[1] ?? 'none';
  return { running: [...running.keys()].sort((a, b) => a - b).map((k) => `[${k}]${running.get(k)}`), final };
}

function settings(f: Fixture): string[] {
  return [
    '--ctx',
    String(f.ctx),
    '--chunks',
    String(f.chunks),
    '--threads',
    '2',
    ...(f.fa === 'auto' ? [] : ['--flash-attn', f.fa]),
    ...(f.batch ? ['--batch', String(f.batch)] : []),
  ];
}

for (const f of fixtures('')) {
  if (f.file.startsWith('kld-')) continue;
  test(`xent eval = llama-perplexity: ${f.file}`, { skip }, () => {
    const r = runCli([
      'eval',
      '--model',
      sharedPath('models', `${f.model}.gguf`)!,
      '--data',
      sharedPath('data', f.data)!,
      ...settings(f),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(figures(r.stdout), figures(readFileSync(join(DATA, f.file), 'utf8')));
  });
}

/** The summary lines of a KLD run, by label, units and xent's extra lines left out. */
function summary(out: string): Map<string, string> {
  const block = /====== Perplexity statistics ======[\s\S]*?Same top p:[^\n]*/.exec(out)?.[0] ?? '';
  const lines = new Map<string, string>();
  for (const raw of block.split('\n')) {
    const l = raw.replace(/\s+\(nats\/token\)$/, '').trimEnd();
    if (l.includes(':') && !l.startsWith('=')) lines.set(l.split(':')[0]!, l);
  }
  return lines;
}

for (const f of fixtures('kld-')) {
  test(`xent kld --compat llama = llama-perplexity --kl-divergence (base pass and comparison): ${f.file}`, {
    skip,
    timeout: 300_000,
  }, () => {
    const log = readFileSync(join(DATA, f.file), 'utf8');
    const kldPass = log.split(/^# .*--kl-divergence \(/m)[1]!;
    const [, baseBytes, baseSha] = /^# base\.kld (\d+) bytes, sha256 ([0-9a-f]{64})/m.exec(log)!;
    const base = sharedPath('models', `${f.model}.gguf`)!;
    const model = sharedPath('models', f.file.includes('-bf16') ? `${f.model}-bf16.gguf` : `${f.model}.gguf`)!;
    const saved = join(dir, `${f.file}.kld`);
    const k = runCli([
      'kld',
      '--base',
      base,
      '--model',
      model,
      '--data',
      sharedPath('data', f.data)!,
      ...settings(f),
      '--compat',
      'llama',
      '--top-k',
      '0',
      '--no-jsd',
      '--save-base',
      saved,
    ]);
    assert.equal(k.code, 0, k.stderr);
    // The base pass: the file llama-perplexity --kl-divergence-base wrote, byte for byte
    // (xent's trailer after it aside): every scored row of the base model quantised alike.
    const file = readFileSync(saved);
    rmSync(saved);
    assert.ok(file.length > Number(baseBytes), "a trailer follows llama.cpp's data");
    assert.equal(
      createHash('sha256')
        .update(file.subarray(0, Number(baseBytes)))
        .digest('hex'),
      baseSha,
    );
    const want = summary(kldPass!);
    assert.ok(want.size >= 10, `the fixture has llama-perplexity's summary (${want.size} lines)`);
    const got = summary(k.stdout);
    for (const [label, line] of want) assert.equal(got.get(label), line, label);
  });
}
