/**
 * `xent serve`'s OpenAI-compatible contract as lm-evaluation-harness's `local-completions`
 * uses it (tokenizer_backend=remote, tokenized_requests=True), checked against the same GGUF
 * model loaded in this process with the server's --ctx and threads: /tokenizer_info and the
 * special tokens, /tokenize and /detokenize in lm-eval's and vLLM's shapes, several prompts
 * per request (one choice each, `index` set), echo + logprobs equal to −nats of the local
 * model bit for bit, greedy generation with stop strings and EOS, OpenAI-shaped 400s naming
 * the field, and concurrent requests (8 at once, one and two contexts) answered as alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GgufLanguageModel, loadGgufModel } from '../../src/models/gguf/gguf-language-model.js';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { killAll, type Served, startServe } from '../models/server-helpers.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const skip = requires({ shared: ['models/stories260K.gguf'], cli: true, native: true });

after(killAll);

type Json = Record<string, unknown>;
async function call(url: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const r = await fetch(url + path, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: r.status, json: (await r.json()) as Json };
}

interface Choice {
  index: number;
  text: string;
  finish_reason: string;
  logprobs: {
    tokens: string[];
    token_logprobs: Array<number | null>;
    top_logprobs: Array<Record<string, number> | null>;
    text_offset: number[];
  } | null;
}
const choices = (j: Json): Choice[] => j.choices as Choice[];

describe('xent serve: the local-completions contract', { skip }, () => {
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

  /** The local model's greedy continuation: the top-1 after the sequence, one token at a time. */
  async function greedy(prompt: number[], max: number): Promise<number[]> {
    const out: number[] = [];
    while (out.length < max) {
      const seq = Int32Array.from([...prompt, ...out, 0]);
      const next = (await local.score(seq, { from: seq.length - 2 })).top1[0]!;
      if (next === 2) break; // stories260K's EOS (tokenizer.ggml.eos_token_id)
      out.push(next);
    }
    return out;
  }

  test('tokenizer_info names the GGUF special tokens; /tokenize keeps their texts as one token, as lm-eval needs', async () => {
    const info = (await call(served.url, '/tokenizer_info')).json;
    assert.equal(info.eos_token, '</s>');
    assert.equal(info.bos_token, '<s>');
    assert.equal(info.pad_token, null);
    assert.equal(info.eos_token_id, 2);
    assert.equal(info.bos_token_id, 1);
    // RemoteTokenizer.bos_token_id = encode(bos_token)[0], add_special_tokens false.
    for (const [text, id] of [
      ['<s>', 1],
      ['</s>', 2],
    ] as const) {
      const r = await call(served.url, '/tokenize', { prompt: text, add_special_tokens: false });
      assert.deepEqual(r.json.tokens, [id]);
    }
    const text = 'Once upon a time, there was a tiny dog.';
    const plain = Array.from(await local.tokenize(text));
    assert.deepEqual(
      (await call(served.url, '/tokenize', { prompt: text, add_special_tokens: false })).json.tokens,
      plain,
    );
    assert.deepEqual((await call(served.url, '/tokenize', { prompt: text })).json.tokens, plain, "vLLM's shape");
    assert.deepEqual((await call(served.url, '/tokenize', { prompt: text, add_special_tokens: true })).json.tokens, [
      1,
      ...plain,
    ]);
    assert.deepEqual(
      (await call(served.url, '/tokenize', { prompt: `<s>${text}`, add_special_tokens: false })).json.tokens,
      [1, ...plain],
    );
    const d = (await call(served.url, '/detokenize', { tokens: plain })).json;
    assert.equal(d.prompt, Buffer.concat(await local.tokenPieces(plain)).toString('utf8'));
  });

  test('a list of token-id lists: one choice per prompt, echo + logprobs exactly −nats of the local model', async () => {
    const text = await local.tokenize(
      'Once upon a time, there was a little girl named Lily. She loved to play outside.',
    );
    const prompts = [Array.from(text.subarray(0, 7)), [1, ...text.subarray(0, 20)], [1, ...text]];
    // What lm-eval sends for loglikelihood requests (LocalCompletionsAPI._create_payload).
    const r = await call(served.url, '/v1/completions', {
      model: 'stories260K.gguf',
      prompt: prompts,
      temperature: 0,
      max_tokens: 1,
      logprobs: 1,
      seed: 1234,
      echo: true,
    });
    assert.equal(r.status, 200);
    const cs = choices(r.json);
    assert.deepEqual(
      cs.map((c) => c.index),
      [0, 1, 2],
    );
    for (const [i, p] of prompts.entries()) {
      const lp = cs[i]!.logprobs!;
      const T = p.length;
      assert.equal(lp.token_logprobs.length, T + 1, 'the echoed prompt, then the generated token');
      assert.equal(lp.tokens.length, T + 1);
      assert.equal(lp.text_offset.length, T + 1);
      assert.equal(lp.token_logprobs[0], null);
      const s = await local.score(Int32Array.from(p), { from: 0 });
      for (let k = 1; k < T; k++) {
        assert.equal(lp.token_logprobs[k], -s.nats[k - 1]!, `prompt ${i}, token ${k}`);
        const top = lp.top_logprobs[k]!;
        // is_greedy in parse_logprobs: the true token's logprob equals the top's maximum.
        assert.equal(lp.token_logprobs[k] === Math.max(...Object.values(top)), s.top1[k - 1] === p[k]);
      }
      const [g] = await greedy(p, 1);
      assert.equal(lp.tokens[T], local.tokenText(g!));
    }
  });

  test('generation: greedy up to max_tokens, cut at the first stop string, ended by EOS', async () => {
    const prompt = [1, ...(await local.tokenize('Once upon a time'))];
    const want = await greedy(prompt, 24);
    const wantText = Buffer.concat(await local.tokenPieces(want)).toString('utf8');
    let r = await call(served.url, '/v1/completions', { prompt, max_tokens: 24, temperature: 0, seed: 7 });
    assert.equal(choices(r.json)[0]!.text, wantText);
    assert.equal(choices(r.json)[0]!.finish_reason, want.length === 24 ? 'length' : 'stop');
    // A string prompt gets BOS, as vLLM's completions do.
    r = await call(served.url, '/v1/completions', { prompt: 'Once upon a time', max_tokens: 24, stop: ['.', '\n\n'] });
    const cut = Math.min(...['.', '\n\n'].map((s) => (wantText.includes(s) ? wantText.indexOf(s) : Infinity)));
    assert.ok(Number.isFinite(cut), `the continuation has a stop string: ${JSON.stringify(wantText)}`);
    assert.equal(choices(r.json)[0]!.text, wantText.slice(0, cut));
    assert.equal(choices(r.json)[0]!.finish_reason, 'stop');
  });

  test('bad requests: OpenAI-shaped 400s that name the field; unknown fields ignored', async () => {
    const bad = async (body: unknown, param: string | null, re: RegExp, status = 400): Promise<void> => {
      const r = await call(served.url, '/v1/completions', body);
      assert.equal(r.status, status, JSON.stringify(body));
      const e = r.json.error as { message: string; param: string | null; code: number };
      assert.match(e.message, re);
      assert.equal(e.param, param);
      assert.equal(e.code, status);
    };
    await bad({ prompt: 5 }, 'prompt', /prompt is a number/);
    await bad({ prompt: [] }, 'prompt', /prompt is an empty list/);
    await bad({ prompt: '' }, 'prompt', /prompt is an empty string/);
    await bad({ prompt: [[1, 2], []] }, 'prompt', /prompt\[1\] is an empty list of token ids/);
    await bad(
      {
        prompt: [
          [1, 2],
          [1, 512],
        ],
      },
      'prompt',
      /prompt\[1\]\[1\] = 512 is not a token id in \[0, 512\)/,
    );
    await bad({ prompt: [[1, 2], ['a']] }, 'prompt', /prompt\[1\] is a list that holds something other than numbers/);
    await bad({ prompt: [1, 'a'] }, 'prompt', /prompt mixes types/);
    await bad({ prompt: [1, 2], n: 2 }, 'n', /n must be 1/);
    await bad({ prompt: [1, 2], stream: true }, 'stream', /stream is not supported/);
    await bad({ prompt: [1, 2], max_tokens: -1 }, 'max_tokens', /max_tokens must be an integer/);
    await bad({ prompt: [1, 2], max_tokens: '3' }, 'max_tokens', /max_tokens must be an integer/);
    await bad({ prompt: [1, 2], logprobs: 99 }, 'logprobs', /logprobs must be an integer in \[0, 20\]/);
    await bad({ prompt: [1, 2], echo: 'yes' }, 'echo', /echo must be a boolean/);
    await bad({ prompt: [1, 2], stop: 3 }, 'stop', /stop must be a string or a list of strings/);
    await bad({ prompt: [1, 2], temperature: 'hot' }, 'temperature', /temperature must be a number/);
    await bad({ prompt: [1, 2], max_tokens: 3, temperature: 0.8 }, 'temperature', /decodes greedily/);
    await bad({ prompt: [1, 2], seed: 1.5 }, 'seed', /seed must be an integer/);
    // Longer than the context (--max-prompt-tokens, default max(training context, 4096)).
    const long = new Array(5000).fill(300);
    await bad(
      { prompt: long, echo: true, logprobs: 1 },
      'prompt',
      /has 5000 tokens: more than this server's context of 4096 tokens/,
    );
    await bad({ prompt: [1, 2], max_tokens: 4095 }, 'max_tokens', /has 2 tokens and max_tokens is 4095/);
    const ok = await call(served.url, '/v1/completions', {
      prompt: [1, 2],
      max_tokens: 0,
      frequency_penalty: 0,
      user: 'x',
    });
    assert.equal(ok.status, 200);
    const health = await call(served.url, '/health');
    assert.equal(health.status, 200, 'the server is still up');
  });
});

describe('xent serve: concurrent requests', { skip }, () => {
  for (const parallel of [1, 2]) {
    test(`8 requests at once (--parallel ${parallel}) get the answers each gets alone`, async () => {
      const served = await startServe(MODEL!, ['--ctx', '128', '--parallel', String(parallel)]);
      try {
        const bodies = Array.from({ length: 8 }, (_, i) => ({
          prompt: [
            [1, 403 + i, 407, 261, 378, 300 + 3 * i],
            [1, 260 + i],
          ],
          echo: true,
          logprobs: 2,
          max_tokens: 1 + (i % 3),
        }));
        const alone: Json[] = [];
        for (const b of bodies) alone.push((await call(served.url, '/v1/completions', b)).json);
        const together = await Promise.all(bodies.map((b) => call(served.url, '/v1/completions', b)));
        for (let i = 0; i < 8; i++) {
          assert.equal(together[i]!.status, 200);
          assert.deepEqual(choices(together[i]!.json), choices(alone[i]!), `request ${i}`);
        }
      } finally {
        await served.kill();
      }
    });
  }
});
