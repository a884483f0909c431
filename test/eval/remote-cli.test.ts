/**
 * `--model http://…`: a model behind `xent serve` is loaded like a file or a directory by
 * `xent compare`, `xent eval`, `xent kld` and `xent distill`, and by `xent serve` itself
 * (a proxy). Anchors: the same model loaded from its .gguf file in the same command, and
 * llama-perplexity's printed figure for GPL-3 (../shared/reference/README.md).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { failsWith } from '../helpers/cli.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { killAll, runCli, type Served, startServe } from '../models/server-helpers.js';

const F32 = sharedPath('models', 'stories260K.gguf');
const TINY = sharedPath('data', 'tinystories_valid_600k.txt');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({
  shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt'],
  cli: true,
  native: true,
  files: [GPL],
});

const dir = mkdtempSync(join(tmpdir(), 'xent-remote-cli-'));
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The first n bytes of a file, cut at a line end (valid UTF-8). */
function head(src: string, n: number, name: string): string {
  const b = readFileSync(src);
  const p = join(dir, name);
  writeFileSync(p, b.subarray(0, b.lastIndexOf(10, n) + 1));
  return p;
}

/** The line of `out` that starts with `prefix`. */
function lineOf(out: string, prefix: string): string {
  const l = out.split('\n').find((x) => x.startsWith(prefix));
  assert.ok(l, `no line starting ${JSON.stringify(prefix)} in:\n${out}`);
  return l;
}

describe('a model behind xent serve, named by its URL', { skip }, () => {
  let served: Served;
  before(async () => {
    // Served with the context the commands below use, as a local run prepares it.
    served = await startServe(F32!, ['--ctx', '128']);
  });

  test('compare --model URL --model file.gguf: the two rows have identical figures', async () => {
    const text = head(TINY!, 9_000, 'tiny9k.txt');
    const r = await runCli([
      'compare',
      '--model',
      served.url,
      '--model',
      F32!,
      '--data',
      text,
      '--ctx',
      '128',
      '--threads',
      '1',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.models.length, 2);
    const [remote, local] = j.models as Array<Record<string, unknown>>;
    assert.equal(remote!.model, served.url);
    assert.equal(local!.model, F32);
    for (const k of [
      'vocab_size',
      'bits_per_byte',
      'bits_per_byte_ci95_lo',
      'bits_per_byte_ci95_hi',
      'nats_per_token',
      'bits_total',
      'tokens_scored',
      'tokens_in_text',
    ]) {
      assert.equal(remote![k], local![k], k);
    }
    assert.equal(j.pairs[0].diff_bits_per_byte, 0);
    // The same tokenisation: the per-token comparison pairs them, with no difference anywhere.
    assert.equal(j.token_pairs.length, 1);
    assert.equal(j.token_pairs[0].diff_nats_per_token, 0);
  });

  test('eval --model URL prints the PPL line of eval --model file.gguf (= llama-perplexity)', async () => {
    const args = ['--data', GPL, '--ctx', '128', '--chunks', '20'];
    const [remote, local] = await Promise.all([
      runCli(['eval', '--model', served.url, ...args]),
      runCli(['eval', '--model', F32!, '--threads', '1', ...args]),
    ]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.equal(local.code, 0, local.stderr);
    const ppl = lineOf(local.stdout, 'Final estimate: PPL');
    assert.match(ppl, /Final estimate: PPL = 83\.7522 \+\/- 8\.02147/);
    assert.equal(lineOf(remote.stdout, 'Final estimate: PPL'), ppl);
  });

  test('kld --model URL (or --base URL) is refused in one line: KL divergence needs full distributions', async () => {
    const text = head(TINY!, 20_000, 'tiny20k.txt');
    const r = await runCli(['kld', '--base', F32!, '--model', served.url, '--data', text, '--ctx', '128']);
    failsWith(r, /^xent: kld: KL divergence needs full distributions .*--model http:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stderr, /OpenAI-compatible server/);
    const b = await runCli(['kld', '--base', served.url, '--model', F32!, '--data', text, '--ctx', '128']);
    failsWith(b, /^xent: kld: KL divergence needs full distributions .*--base http:\/\/127\.0\.0\.1:\d+/);
  });

  test('distill --teacher URL is refused in one line: distillation needs full distributions', async () => {
    const text = head(TINY!, 20_000, 'tiny20k-d.txt');
    const r = await runCli([
      'distill',
      '--teacher',
      served.url,
      '--data',
      text,
      '--steps',
      '1',
      '--out',
      join(dir, 'student'),
    ]);
    failsWith(r, /^xent: distill: distillation needs full distributions .*--teacher http:\/\/127\.0\.0\.1:\d+/);
    assert.equal(existsSync(join(dir, 'student', 'model.json')), false);
  });

  test('serve --model URL proxies the served model: eval through the proxy gives the same PPL line', async () => {
    const proxy = await startServe(served.url, ['--ctx', '128']);
    try {
      const args = ['--data', GPL, '--ctx', '128', '--chunks', '4', '--json'];
      const [viaProxy, direct] = await Promise.all([
        runCli(['eval', '--model', proxy.url, ...args]),
        runCli(['eval', '--model', served.url, ...args]),
      ]);
      assert.equal(viaProxy.code, 0, viaProxy.stderr);
      assert.equal(direct.code, 0, direct.stderr);
      const a = JSON.parse(viaProxy.stdout);
      const b = JSON.parse(direct.stdout);
      for (const k of ['perplexity', 'perplexity_pm', 'nats_per_token', 'bits_per_byte', 'tokens_scored', 'vocab_size'])
        assert.equal(a[k], b[k], k);
      assert.equal(a.model, b.model, 'the proxy serves the model under its upstream name');
    } finally {
      await proxy.kill();
    }
  });
});
