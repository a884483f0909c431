/**
 * Sharded evaluation over several `xent serve` processes (src/eval/shards.ts,
 * src/cli/eval-server.ts): the same figures and per-token records as a local run, bit
 * for bit; a server killed mid-run; retries on 429/503; resumption from a checkpoint.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { evaluatePerplexity, type TokenRecord } from '../../src/eval/evaluate.js';
import { evaluateSharded } from '../../src/eval/shards.js';
import { loadShards, saveShards } from '../../src/eval/shards-checkpoint.js';
import { type GgufLanguageModel, loadGgufModel } from '../../src/models/gguf/gguf-language-model.js';
import type { PositionScores } from '../../src/models/language-model.js';
import { RemoteLanguageModel } from '../../src/models/remote/remote-language-model.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { killAll, runCli, type Served, startProxy, startServe } from '../models/server-helpers.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({ shared: ['models/stories260K.gguf'], cli: true, native: true, files: [GPL] });
const dir = mkdtempSync(join(tmpdir(), 'xent-shards-'));
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The figures that must agree exactly (everything but timings, names and endpoints). */
function figures(j: Record<string, unknown>): Record<string, unknown> {
  const keys = [
    'perplexity',
    'perplexity_pm',
    'perplexity_ci95',
    'nats_per_token',
    'bits_per_token',
    'bits_per_byte',
    'tokens_scored',
    'bytes_scored',
    'chunks',
    'chunks_total',
    'top1_accuracy',
    'tokens_evaluated',
    'tokens_in_text',
    'running_perplexity',
    'mode',
    'ctx',
  ];
  return Object.fromEntries(keys.map((k) => [k, j[k]]));
}

describe('sharded evaluation across xent serve processes', { skip }, () => {
  let a: Served;
  let b: Served;
  let local: GgufLanguageModel;
  let text: Int32Array;
  before(async () => {
    [a, b] = await Promise.all([startServe(MODEL!, ['--ctx', '64']), startServe(MODEL!, ['--ctx', '64'])]);
    local = await loadGgufModel(MODEL!, { ctx: 64, threads: 1 });
    text = await local.tokenizeBytes(readFileSync(GPL).subarray(0, 4000));
  });
  after(async () => {
    await local?.close();
  });

  test('two servers through the CLI: the local figures and per-token records, bit for bit', async () => {
    const common = ['--data', GPL, '--ctx', '64', '--chunks', '12', '--json'];
    const [l, s] = await Promise.all([
      runCli(['eval', '--model', MODEL!, '--threads', '1', ...common, '--tokens', join(dir, 'local.jsonl')]),
      runCli([
        'eval',
        '--server',
        a.url,
        '--server',
        `${b.url}/v1`,
        '--server-concurrency',
        '2',
        ...common,
        '--tokens',
        join(dir, 'served.jsonl'),
      ]),
    ]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(s.code, 0, s.stderr);
    const jl = JSON.parse(l.stdout);
    const js = JSON.parse(s.stdout);
    assert.deepEqual(figures(js), figures(jl));
    assert.equal(js.chunks, 12);
    assert.equal(js.engine, 'server');
    assert.deepEqual(js.servers, [a.url, b.url]);
    // Both endpoints took part, and together scored each shard once.
    assert.equal(js.endpoints.length, 2);
    assert.equal(js.endpoints[0].shards + js.endpoints[1].shards, 12);
    assert.ok(
      js.endpoints.every((e: { shards: number }) => e.shards > 0),
      JSON.stringify(js.endpoints),
    );
    assert.equal(readFileSync(join(dir, 'served.jsonl'), 'utf8'), readFileSync(join(dir, 'local.jsonl'), 'utf8'));
  });

  test('--stride windows through two servers: the local figures and records', async () => {
    const common = ['--data', GPL, '--ctx', '64', '--stride', '16', '--chunks', '10', '--json'];
    const [l, s] = await Promise.all([
      runCli(['eval', '--model', MODEL!, '--threads', '1', ...common, '--tokens', join(dir, 'local-s.jsonl')]),
      runCli(['eval', '--server', a.url, '--server', b.url, ...common, '--tokens', join(dir, 'served-s.jsonl')]),
    ]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(JSON.parse(s.stdout).mode, 'stride');
    assert.deepEqual(figures(JSON.parse(s.stdout)), figures(JSON.parse(l.stdout)));
    assert.equal(readFileSync(join(dir, 'served-s.jsonl'), 'utf8'), readFileSync(join(dir, 'local-s.jsonl'), 'utf8'));
  });

  test('a server killed mid-run: dropped, its shards reassigned, the same result', async () => {
    const ref = await evaluatePerplexity(local, text, { ctx: 64, chunks: 16 });
    const victim = await startServe(MODEL!, ['--ctx', '64']);
    const ma = await RemoteLanguageModel.open(a.url);
    const mv = await RemoteLanguageModel.open(victim.url);
    assert.deepEqual(
      Array.from(await ma.tokenize(readFileSync(GPL).subarray(0, 4000).toString('utf8'))),
      Array.from(text),
    );
    let killedAfter = -1;
    const records: TokenRecord[] = [];
    const { result, endpoints } = await evaluateSharded([ma, mv], text, {
      ctx: 64,
      chunks: 16,
      concurrency: 1,
      baseDelayMs: 5,
      maxDelayMs: 50,
      dropAfter: 2,
      timeoutMs: 30_000,
      onTokens: (r) => void records.push(...r),
      onShard: async (e) => {
        // Once the victim has scored one shard, kill -9 it (awaited: the run goes on meanwhile).
        if (killedAfter < 0 && e.ok && e.endpoint === mv.endpoint) {
          killedAfter = e.shard;
          await victim.kill();
        }
      },
    });
    assert.ok(killedAfter >= 0 && killedAfter < ref.chunks_total - 1, `killed after shard ${killedAfter}`);
    assert.equal(result.chunks, ref.chunks_total);
    assert.equal(result.nats_per_token, ref.nats_per_token);
    assert.equal(result.perplexity, ref.perplexity);
    assert.equal(result.bits_per_byte, ref.bits_per_byte);
    assert.deepEqual(result.running, ref.running);
    assert.equal(records.length, ref.tokens_scored);
    const [ea, ev] = endpoints;
    assert.equal(ev!.dropped, true);
    assert.ok(ev!.failures >= 2);
    assert.equal(ea!.dropped, false);
    assert.equal(ea!.shards + ev!.shards, ref.chunks_total);
  });

  test('429 and 503 answers are retried with backoff; the result does not change', async () => {
    const ref = await evaluatePerplexity(local, text, { ctx: 64, chunks: 6 });
    // Every other completion fails: 429 with Retry-After, then 503.
    const proxy = await startProxy(a.url, (n) =>
      n % 2 === 0 && n < 8
        ? (res) => {
            res.writeHead(n % 4 === 0 ? 429 : 503, { 'content-type': 'application/json', 'retry-after': '0' });
            res.end(JSON.stringify({ error: { message: 'busy' } }));
          }
        : undefined,
    );
    try {
      const m = await RemoteLanguageModel.open(proxy.url);
      const { result, endpoints } = await evaluateSharded([m], text, {
        ctx: 64,
        chunks: 6,
        concurrency: 2,
        baseDelayMs: 5,
        maxDelayMs: 40,
        dropAfter: 10,
        random: () => 0.5,
      });
      assert.equal(result.nats_per_token, ref.nats_per_token);
      assert.deepEqual(result.running, ref.running);
      assert.equal(endpoints[0]!.failures, 4);
      assert.equal(endpoints[0]!.shards, 6);
      assert.equal(endpoints[0]!.dropped, false);
    } finally {
      await proxy.close();
    }
  });

  test('windows scored ahead of the fold and saved are not requested again, and fold to the same bits', async () => {
    const ref = await evaluatePerplexity(local, text, { ctx: 64, chunks: 8 });
    const first = new Map<number, PositionScores>();
    await evaluateSharded([await RemoteLanguageModel.open(a.url)], text, {
      ctx: 64,
      chunks: 8,
      onScored: (w, s) => void first.set(w, s),
    });
    assert.equal(first.size, 8);
    const file = join(dir, 'ahead.shards');
    const fp = { data: 'x', ctx: 64 };
    saveShards(file, fp, new Map([2, 5, 6].map((w) => [w, first.get(w)!])));
    assert.equal(loadShards(file, { data: 'y', ctx: 64 }).size, 0, 'another run: ignored');
    const preloaded = loadShards(file, fp);
    assert.deepEqual([...preloaded.keys()], [2, 5, 6]);
    const proxy = await startProxy(a.url, () => undefined);
    try {
      const m = await RemoteLanguageModel.open(proxy.url);
      await m.tokenize(readFileSync(GPL).subarray(0, 4000).toString('utf8'));
      const { result, endpoints } = await evaluateSharded([m], text, { ctx: 64, chunks: 8, preloaded });
      assert.equal(proxy.completions(), 5);
      assert.equal(endpoints[0]!.shards, 5);
      assert.equal(result.nats_per_token, ref.nats_per_token);
      assert.equal(result.top1_accuracy, ref.top1_accuracy);
      assert.deepEqual(result.running, ref.running);
    } finally {
      await proxy.close();
    }
  });

  test('--checkpoint: a run stopped by a failing server resumes elsewhere to the same result', async () => {
    const cp = join(dir, 'run.ckpt');
    const tok = join(dir, 'resumed.jsonl');
    const args = ['--data', GPL, '--ctx', '64', '--chunks', '10', '--json', '--checkpoint', cp, '--tokens', tok];
    // The fifth completion has no log-probabilities: the run stops after folding four shards.
    const proxy = await startProxy(a.url, (n) =>
      n >= 4 ? (res) => res.end(JSON.stringify({ choices: [{ text: '' }] })) : undefined,
    );
    try {
      const r1 = await runCli(['eval', '--server', proxy.url, '--server-concurrency', '1', ...args]);
      assert.equal(r1.code, 2, r1.stderr);
      assert.match(r1.stderr, /shard 5 of 10/);
      assert.ok(existsSync(cp), 'checkpoint kept');
      assert.ok(existsSync(`${cp}.shards`), 'shards scored ahead kept');
      assert.equal(JSON.parse(readFileSync(cp, 'utf8')).state.windowsDone, 4);
    } finally {
      await proxy.close();
    }
    const r2 = await runCli(['eval', '--server', a.url, '--server', b.url, ...args]);
    assert.equal(r2.code, 0, r2.stderr);
    const j = JSON.parse(r2.stdout);
    assert.equal(j.resumed_from_chunk, 4);
    assert.ok(!existsSync(cp) && !existsSync(`${cp}.shards`), 'checkpoint removed when done');
    const l = await runCli([
      'eval',
      '--model',
      MODEL!,
      '--threads',
      '1',
      '--data',
      GPL,
      '--ctx',
      '64',
      '--chunks',
      '10',
      '--json',
      '--tokens',
      join(dir, 'ref10.jsonl'),
    ]);
    assert.equal(l.code, 0, l.stderr);
    assert.deepEqual(figures(j), figures(JSON.parse(l.stdout)));
    assert.equal(readFileSync(tok, 'utf8'), readFileSync(join(dir, 'ref10.jsonl'), 'utf8'));
  });
});
