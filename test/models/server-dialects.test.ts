/**
 * The adapter against vLLM's and llama-server's dialects, played by a loopback server in
 * front of a real `xent serve` that rewrites requests and answers the way those servers do
 * (vLLM: /tokenize gives bare ids, /detokenize {prompt}, prompt_logprobs for every position,
 * max_tokens ≥ 1; llama-server: pieces, /detokenize {content}, logprobs of generated tokens
 * only, unless echo lands). Checks that each request is what that server expects.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { sharedPath } from '../helpers/shared.js';
import { killAll, runCli, type Served, startServe } from './server-helpers.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const GPL = '/usr/share/common-licenses/GPL-3';
const skip = requires({ shared: ['models/stories260K.gguf'], cli: true, native: true, files: [GPL] });

after(killAll);

type Json = Record<string, unknown>;
type Rewrite = (path: string, req: Json | undefined, forward: (body?: Json) => Promise<Json>) => Promise<Json>;

async function dialect(
  target: string,
  rewrite: Rewrite,
): Promise<{ url: string; seen: Json[]; close: () => Promise<void> }> {
  const seen: Json[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json) : undefined;
      const path = req.url ?? '/';
      if (body) seen.push({ path, ...body });
      const forward = async (b: Json | undefined = body): Promise<Json> => {
        const r = await fetch(target + path, {
          method: req.method,
          ...(b ? { body: JSON.stringify(b) } : {}),
          signal: AbortSignal.timeout(30_000),
        });
        return (await r.json()) as Json;
      };
      rewrite(path, body, forward).then(
        (out) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out)),
        (e: Error) => res.writeHead(500).end(JSON.stringify({ error: { message: e.message } })),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}

function card(models: Json, ownedBy: string): Json {
  const data = (models.data as Json[]).map(({ xent: _x, ...c }) => ({ ...c, owned_by: ownedBy }));
  return { object: 'list', data };
}

describe('server dialects', { skip }, () => {
  let served: Served;
  let localJson: Json;
  const args = ['--data', GPL, '--ctx', '64', '--chunks', '4', '--json'];
  before(async () => {
    served = await startServe(MODEL!, ['--ctx', '64']);
    const l = await runCli(['eval', '--model', MODEL!, '--threads', '1', ...args]);
    assert.equal(l.code, 0, l.stderr);
    localJson = JSON.parse(l.stdout) as Json;
  });

  test("vLLM: bare ids from /tokenize, texts from /detokenize, every position's logprobs", async () => {
    const asVllm: Rewrite = async (path, req, forward) => {
      if (path === '/v1/models') return card(await forward(), 'vllm');
      if (path === '/tokenize') {
        assert.equal(typeof req!.prompt, 'string');
        assert.equal(req!.add_special_tokens !== undefined, true);
        const r = await forward({ prompt: req!.prompt, add_special_tokens: req!.add_special_tokens } as Json);
        return { count: r.count, max_model_len: 2048, tokens: r.tokens };
      }
      if (path === '/detokenize') return { prompt: (await forward()).prompt };
      // vLLM ignores xent's prompt_logprobs_from and needs max_tokens ≥ 1.
      assert.equal(req!.max_tokens, 1);
      assert.equal(req!.prompt_logprobs, 1);
      const { prompt_logprobs_from: _f, ...rest } = req!;
      return forward(rest);
    };
    // Two endpoints: neither states V, so agreement is checked on the tokenisation.
    const vllm = await dialect(served.url, asVllm);
    const vllm2 = await dialect(served.url, asVllm);
    try {
      const r = await runCli(['eval', '--server', vllm.url, '--server', vllm2.url, ...args]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as Json;
      assert.equal(j.server_software, 'vllm');
      for (const k of ['tokens_scored', 'bytes_scored', 'tokens_in_text', 'chunks'])
        assert.equal(j[k], localJson[k], k);
      // Scored from position 0 (vLLM scores every position): the same model, another batch shape.
      for (const k of ['perplexity', 'nats_per_token', 'bits_per_byte'])
        assert.ok(Math.abs((j[k] as number) / (localJson[k] as number) - 1) < 1e-5, `${k}: ${j[k]} vs ${localJson[k]}`);
      assert.ok(
        vllm.seen.some((b) => b.path === '/detokenize'),
        'token texts came from /detokenize',
      );
      assert.ok(
        vllm2.seen.some((b) => b.path === '/v1/completions'),
        'both endpoints scored',
      );
    } finally {
      await vllm.close();
      await vllm2.close();
    }
  });

  test('llama-server: pieces from /tokenize; a clear error for its generated-only logprobs; echo, should it land', async () => {
    const generatedOnly = await dialect(served.url, async (path, req, forward) => {
      if (path === '/v1/models') return card(await forward(), 'llamacpp');
      if (path === '/tokenize') {
        assert.equal(req!.with_pieces, true);
        assert.equal(req!.parse_special, false);
        return { tokens: (await forward()).tokens };
      }
      assert.equal(req!.echo, true);
      // What llama-server answers today: one entry, for the generated token.
      return {
        choices: [
          {
            index: 0,
            text: ' the',
            logprobs: { tokens: [' the'], token_logprobs: [-1.5], top_logprobs: [{ ' the': -1.5 }], text_offset: [0] },
          },
        ],
      };
    });
    try {
      const r = await runCli(['eval', '--server', generatedOnly.url, ...args]);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr.trim(),
        /^xent: eval: endpoint http:\/\/127\.0\.0\.1:\d+, shard 1 of 4 \(tokens 0…63\): .*did not echo the prompt.*llama-server answers log-probabilities of generated tokens only/,
      );
      assert.equal(r.stderr.trim().split('\n').length, 1);
    } finally {
      await generatedOnly.close();
    }
    const echo = await dialect(served.url, async (path, _req, forward) =>
      path === '/v1/models' ? card(await forward(), 'llamacpp') : forward(),
    );
    try {
      const r = await runCli(['eval', '--server', echo.url, ...args]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as Json;
      for (const k of ['tokens_scored', 'bytes_scored']) assert.equal(j[k], localJson[k], k);
      for (const k of ['perplexity', 'bits_per_byte'])
        assert.ok(Math.abs((j[k] as number) / (localJson[k] as number) - 1) < 1e-5, `${k}: ${j[k]} vs ${localJson[k]}`);
      // Legacy top_logprobs are keyed by text: the top-1 is unknown, not 0 %.
      assert.equal(j.top1_accuracy, null);
      assert.match(r.stderr, /top-1 accuracy is unknown/);
    } finally {
      await echo.close();
    }
  });
});
