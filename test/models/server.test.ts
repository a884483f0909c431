/**
 * The HTTP adapter (src/models/remote/) and `xent serve` (src/server/): wire formats,
 * exact agreement with the local GGUF model through a real `xent serve` process, the API
 * key, request validation, and clear errors for broken answers (endpoint and shard named).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { XentError } from '../../src/core/errors.js';
import { evaluateSharded } from '../../src/eval/shards.js';
import { type GgufLanguageModel, loadGgufModel } from '../../src/models/gguf/gguf-language-model.js';
import { RemoteLanguageModel } from '../../src/models/remote/remote-language-model.js';
import { ProtocolError, parsePromptLogprobs, parseTokenize } from '../../src/models/remote/remote-protocol.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { killAll, runCli, type Served, startProxy, startServe } from './server-helpers.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({ shared: ['models/stories260K.gguf'], cli: true, native: true, files: [GPL] });

after(killAll);

describe('wire formats', () => {
  test('legacy echo: the logprobs of a real vLLM v0.16.0 answer (llama.cpp PR #15189)', () => {
    // curl /v1/completions {"prompt": "The step of boiling water is: ", "echo": true, "logprobs": 5, "max_tokens": 1}
    // against vLLM 0.16.0 serving Intel/Qwen3-Coder-Next-int4-AutoRound: 8 prompt tokens + 1 generated.
    const tl = [
      null,
      -8.818763732910156,
      -1.552642822265625,
      -13.55989933013916,
      -2.0115487575531006,
      -2.2331151962280273,
      -8.53701114654541,
      -1.2870503664016724,
      -0.41059786081314087,
    ];
    const res = {
      choices: [
        {
          index: 0,
          text: 'The step of boiling water is: 1',
          logprobs: {
            text_offset: [0, 3, 8, 11, 19, 25, 28, 29, 30],
            token_logprobs: tl,
            tokens: ['The', ' step', ' of', ' boiling', ' water', ' is', ':', ' ', '1'],
            top_logprobs: [null, { ' step': -8.818763732910156, ' is': -0.7875133752822876 }],
          },
        },
      ],
    };
    const tokens = Int32Array.from([785, 3019, 315, 49837, 3015, 374, 25, 220]);
    const s = parsePromptLogprobs(res, tokens, 3);
    assert.deepEqual(
      Array.from(s.nats),
      [13.55989933013916, 2.0115487575531006, 2.2331151962280273, 8.53701114654541, 1.2870503664016724].slice(1),
    );
    // Texts, not ids, key top_logprobs here: the top-1 id is unknown, and so is the rank.
    assert.deepEqual(Array.from(s.top1), [-1, -1, -1, -1]);
    const s0 = parsePromptLogprobs(res, tokens, 0);
    assert.equal(s0.nats[0], 8.818763732910156);
    assert.equal(s0.nats.length, 7);
    assert.throws(
      () => parsePromptLogprobs({ choices: [{ logprobs: { token_logprobs: tl.slice(0, 5) } }] }, tokens, 0),
      (e: unknown) => e instanceof ProtocolError && /5 entries for a prompt of 8 tokens/.test((e as Error).message),
    );
  });

  test('vLLM prompt_logprobs: 1-based ranks, the top-1 when it is not the true token, decoded texts', () => {
    const tokens = Int32Array.from([1, 403, 407, 261]);
    const res = {
      choices: [
        {
          prompt_logprobs: [
            null,
            { '403': { logprob: -0.25, rank: 1, decoded_token: ' Once' } },
            {
              '407': { logprob: -2.5, rank: 3, decoded_token: ' upon' },
              '9': { logprob: -0.5, rank: 1, decoded_token: ' x' },
            },
            { '261': { logprob: -0.125, rank: 1, decoded_token: ' a' } },
          ],
        },
      ],
    };
    const s = parsePromptLogprobs(res, tokens, 0);
    assert.deepEqual(Array.from(s.nats), [0.25, 2.5, 0.125]);
    assert.deepEqual(Array.from(s.rank), [0, 2, 0]);
    assert.deepEqual(Array.from(s.top1), [403, 9, 261]);
    assert.equal(s.top1Prob[1], Math.exp(-0.5));
    assert.equal(s.texts.get(9), ' x');
    const bad = (pl: unknown, re: RegExp): void =>
      assert.throws(
        () => parsePromptLogprobs({ choices: [{ prompt_logprobs: pl }] }, tokens, 0),
        (e: unknown) => e instanceof ProtocolError && re.test((e as Error).message),
      );
    bad(res.choices[0]!.prompt_logprobs.slice(0, 3), /3 entries for a prompt of 4 tokens/);
    bad(
      [null, null, res.choices[0]!.prompt_logprobs[2], res.choices[0]!.prompt_logprobs[3]],
      /prompt_logprobs\[1\] is null/,
    );
    bad([null, { '5': { logprob: -1 } }, {}, {}], /no entry for the prompt's token 403/);
    bad([null, { '403': { logprob: 'NaN' } }, {}, {}], /logprob is "NaN"/);
    assert.throws(
      () => parsePromptLogprobs({ choices: [{ text: '' }] }, tokens, 0),
      /neither choices\[0\]\.prompt_logprobs/,
    );
    assert.throws(() => parsePromptLogprobs({ object: 'error' }, tokens, 0), /no choices\[0\]/);
  });

  test("/tokenize answers: llama-server's pieces (string or bytes) and vLLM's ids", () => {
    const p = parseTokenize({
      tokens: [
        { id: 403, piece: ' Once' },
        { id: 230, piece: [0xe2] },
      ],
    });
    assert.deepEqual(Array.from(p.tokens), [403, 230]);
    assert.deepEqual(Array.from(p.pieces!.get(230)!), [0xe2]);
    assert.equal(p.pieces!.get(403)!.length, 5);
    const v = parseTokenize({ count: 2, max_model_len: 4096, tokens: [3, 4] });
    assert.equal(v.pieces, undefined);
    assert.equal(v.maxModelLen, 4096);
    assert.throws(() => parseTokenize({ tokens: [1.5] }), /tokens\[0\] = 1.5 is not a token id/);
  });
});

describe('xent serve, end to end', { skip }, () => {
  let served: Served;
  let local: GgufLanguageModel;
  before(async () => {
    served = await startServe(MODEL!, ['--ctx', '128']);
    local = await loadGgufModel(MODEL!, { ctx: 128, threads: 1 });
  });
  after(async () => {
    await local?.close();
    await served?.kill();
  });

  test('tokenisation, token bytes and one window scored exactly as the local model does', async () => {
    const m = await RemoteLanguageModel.open(served.url);
    assert.equal(m.kind, 'server');
    assert.equal(m.ownedBy, 'xent');
    assert.equal(m.vocabSize, 512);
    assert.equal(m.addsBos, local.addsBos);
    assert.equal(m.bosToken, local.bosToken);
    const text = readFileSync(GPL).subarray(0, 6000);
    const remote = await m.tokenize(text.toString('utf8'));
    const mine = await local.tokenizeBytes(text);
    assert.deepEqual(Array.from(remote), Array.from(mine));
    const lb = local.tokenBytes();
    const rb = m.tokenBytes();
    for (const t of new Set(remote)) {
      assert.equal(rb[t], lb[t], `bytes of token ${t}`);
      assert.equal(m.tokenText(t), local.tokenText(t), `text of token ${t}`);
    }
    const win = Int32Array.from(remote.subarray(0, 128));
    win[0] = local.bosToken!;
    const a = await m.score(win, { from: 64 });
    const b = await local.score(win, { from: 64 });
    assert.deepEqual(Array.from(a.nats), Array.from(b.nats)); // bit for bit
    assert.deepEqual(Array.from(a.rank), Array.from(b.rank));
    assert.deepEqual(Array.from(a.top1), Array.from(b.top1));
    assert.deepEqual(Array.from(a.top1Prob), Array.from(b.top1Prob));
    await assert.rejects(m.score(win, { from: 64, full: true }), /not available from a server/);
  });

  test('requests are validated: ids, generation length, model name, malformed JSON', async () => {
    const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const r = await fetch(served.url + path, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    const msg = (r: { json: Record<string, unknown> }): string => String(r.json.message);
    let r = await post('/v1/completions', { prompt: [1, 600], prompt_logprobs: 1 });
    assert.equal(r.status, 400);
    assert.match(msg(r), /prompt\[1\] = 600 is not a token id in \[0, 512\)/);
    // Generation is greedy up to max_tokens (test/server/completions.test.ts); a negative count is refused.
    r = await post('/v1/completions', { prompt: [1, 2], max_tokens: -5 });
    assert.equal(r.status, 400);
    assert.match(msg(r), /max_tokens must be an integer in \[0, ∞\]/);
    r = await post('/v1/completions', { model: 'gpt-4', prompt: [1, 2] });
    assert.equal(r.status, 404);
    assert.match(msg(r), /does not exist; this server serves `stories260K.gguf`/);
    r = await post('/v1/completions', '{"prompt": [1, 2');
    assert.equal(r.status, 400);
    assert.match(msg(r), /not JSON/);
    // One greedy token: the local model's top-1 after the prompt.
    const prompt = Int32Array.from([1, 403, 407, 261, 378]);
    r = await post('/v1/completions', { prompt: Array.from(prompt), max_tokens: 1, prompt_logprobs: 2 });
    assert.equal(r.status, 200);
    const ext = Int32Array.from([...prompt, 0]);
    const g = await local.score(ext, { from: 4 });
    const choice = (r.json.choices as Array<Record<string, unknown>>)[0]!;
    assert.equal(choice.text, local.tokenText(g.top1[0]!));
    const pl = choice.prompt_logprobs as Array<Record<string, { rank: number }> | null>;
    assert.equal(pl.length, 5);
    assert.equal(pl[0], null);
    assert.ok(Object.keys(pl[2]!).length >= 2, 'prompt_logprobs 2 lists the top 2 and the true token');
  });

  test('API key: refused without it (one clear error, the key never shown), accepted with it', async () => {
    const key = 'sk-test-Zq8v3NxQ1';
    const s = await startServe(MODEL!, ['--ctx', '128'], { XENT_API_KEY: key });
    try {
      assert.ok(!s.stderr().includes(key));
      const health = await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(health.status, 200);
      await assert.rejects(RemoteLanguageModel.open(s.url, { apiKey: 'wrong' }), (e: unknown) => {
        assert.ok(e instanceof XentError && e.code === 'remote_error');
        assert.match(e.message, /HTTP 401 \(set XENT_API_KEY or OPENAI_API_KEY/);
        assert.ok(!e.message.includes(key) && !JSON.stringify(e.fields).includes(key));
        return true;
      });
      const m = await RemoteLanguageModel.open(s.url, { apiKey: key });
      assert.equal(m.vocabSize, 512);
      // The CLI reads the key from the environment; nothing it prints contains it.
      const r = await runCli(['eval', '--server', s.url, '--data', GPL, '--ctx', '128', '--chunks', '1', '--json'], {
        XENT_API_KEY: key,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key));
      assert.equal(JSON.parse(r.stdout).chunks, 1);
      const r2 = await runCli(['eval', '--server', s.url, '--data', GPL, '--ctx', '128', '--chunks', '1'], {
        XENT_API_KEY: '',
        OPENAI_API_KEY: '',
      });
      assert.equal(r2.code, 2);
      assert.match(r2.stderr, /^xent: server: endpoint http:\/\/127\.0\.0\.1:\d+: \/v1\/models: HTTP 401/);
    } finally {
      await s.kill();
    }
  });

  test('broken answers give a clear error naming the endpoint and the shard', async () => {
    const m0 = await RemoteLanguageModel.open(served.url);
    const text = await m0.tokenize(readFileSync(GPL, 'utf8').slice(0, 3000));
    const cases: Array<[string, (res: import('node:http').ServerResponse) => void, RegExp]> = [
      [
        'no logprobs',
        (res) => res.end(JSON.stringify({ choices: [{ index: 0, text: '' }] })),
        /neither choices\[0\]\.prompt_logprobs/,
      ],
      ['not JSON', (res) => res.end('<html>bad gateway</html>'), /not JSON .*truncated or malformed/],
      [
        'truncated',
        (res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
          res.write('{"choices":[{"prompt_logprobs":[null,');
          setTimeout(() => res.destroy(), 10);
        },
        /v1\/completions: /,
      ],
      [
        'short list',
        (res) => res.end(JSON.stringify({ choices: [{ prompt_logprobs: [null, null] }] })),
        /2 entries for a prompt of 64 tokens/,
      ],
    ];
    for (const [name, answer, re] of cases) {
      // The second completion is broken: shard 2 of 3.
      const proxy = await startProxy(served.url, (n) => (n === 1 ? (res) => answer(res) : undefined));
      try {
        const m = await RemoteLanguageModel.open(proxy.url);
        await assert.rejects(
          evaluateSharded([m], text, { ctx: 64, chunks: 3, concurrency: 1, maxAttempts: 1, baseDelayMs: 1 }),
          (e: unknown) => {
            assert.ok(e instanceof XentError, name);
            assert.match(e.message, new RegExp(`endpoint ${proxy.url.replace(/[.:/]/g, '\\$&')}`), name);
            assert.match(e.message, /shard 2 of 3 \(tokens 64…127\)/, name);
            assert.match(e.message, re, name);
            return true;
          },
        );
      } finally {
        await proxy.close();
      }
    }
    // Through the CLI: one line, exit code 2, no stack trace. Every answer is broken; one request
    // at a time, so that the first shard is the one that fails (with two in flight, either may
    // fail first).
    const proxy = await startProxy(served.url, () => (res) => res.end(JSON.stringify({ choices: [{ text: '' }] })));
    try {
      const r = await runCli([
        'eval',
        '--server',
        proxy.url,
        '--server-concurrency',
        '1',
        '--data',
        GPL,
        '--ctx',
        '64',
        '--chunks',
        '2',
      ]);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        /^xent: eval: endpoint http:\/\/127\.0\.0\.1:\d+, shard 1 of 2 \(tokens 0…63\): POST \/v1\/completions: the response has neither/,
      );
    } finally {
      await proxy.close();
    }
  });
});
