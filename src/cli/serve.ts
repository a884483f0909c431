/**
 * `xent serve --model <file.gguf|dir|URL> [--port P] [--host 127.0.0.1]`: an
 * OpenAI-compatible completions endpoint with prompt log-probabilities in vLLM's format
 * (src/server/), so that `xent eval --model URL` or `--server URL` — from this machine or
 * several others — scores the model exactly as a local `xent eval` does, and so that
 * lm-evaluation-harness's `local-completions` (tokenizer_backend=remote) can evaluate it.
 * With a URL it is a proxy to that endpoint. Prints `listening <url>` on stdout once bound.
 */

import type { Command } from 'commander';
import { XentError } from '../core/errors.js';
import { intOption } from './options.js';

interface ServeCliOptions {
  model: string;
  port: string;
  host: string;
  modelName?: string;
  ctx: string;
  threads?: string;
  engine: string;
  maxBodyBytes: string;
  maxPromptTokens?: string;
  maxQueue: string;
  parallel: string;
  verbose?: boolean;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'serve a model over HTTP: OpenAI-compatible /v1/completions (echoed and vLLM prompt log-probabilities, greedy generation), /tokenize, /detokenize, /tokenizer_info — an lm-evaluation-harness local-completions backend',
    )
    .requiredOption(
      '--model <spec>',
      'a .gguf model file, a directory of a model trained by xent, or the URL of an OpenAI-compatible server (to proxy it)',
    )
    .option('--port <n>', 'TCP port (0 = any free port, printed on stdout)', '8000')
    .option(
      '--host <addr>',
      'address to bind (default loopback only; 0.0.0.0 exposes the model to the network)',
      '127.0.0.1',
    )
    .option(
      '--model-name <name>',
      'the name clients pass as `model` (default: the file name, or the proxied model name)',
    )
    .option('--ctx <n>', 'context to prepare (use the --ctx of the evaluations for bit-identical figures)', '512')
    .option('--threads <n>', 'CPU threads for llama.cpp (default: min(4, cores))')
    .option('--engine <e>', 'GGUF engine: auto | native | map', 'auto')
    .option('--max-body-bytes <n>', 'largest request body accepted', String(64 * 2 ** 20))
    .option('--max-prompt-tokens <n>', 'longest prompt accepted (default: max(training context, 4096))')
    .option(
      '--parallel <n>',
      'model contexts: N requests computed at once (each context holds its own state; GGUF weights are shared through the page cache)',
      '1',
    )
    .option('--max-queue <n>', 'completion requests waiting for the model before answering 503 (clients retry)', '64')
    .option('--verbose', 'log one line per request on stderr (never bodies, headers or keys)')
    .addHelpText(
      'after',
      `
API key: when XENT_API_KEY is set, every route but /health needs "Authorization: Bearer <key>".
Evaluate through it with: xent eval --model http://127.0.0.1:8000 --data text.txt --ctx 512
lm-evaluation-harness: lm_eval --model local-completions --model_args model=<name>,base_url=http://127.0.0.1:8000/v1/completions,tokenizer_backend=remote,tokenized_requests=True,max_length=512`,
    )
    .action(async (o: ServeCliOptions) => {
      await runServe(o);
    });
}

async function runServe(o: ServeCliOptions): Promise<void> {
  const port = intOption('serve', '--port', o.port, 0, 65535)!;
  const ctx = intOption('serve', '--ctx', o.ctx, 4)!;
  const threads = intOption('serve', '--threads', o.threads, 1);
  const maxBodyBytes = intOption('serve', '--max-body-bytes', o.maxBodyBytes, 1024)!;
  const maxPromptTokens = intOption('serve', '--max-prompt-tokens', o.maxPromptTokens, 2);
  const maxQueue = intOption('serve', '--max-queue', o.maxQueue, 1)!;
  const parallel = intOption('serve', '--parallel', o.parallel, 1, 64)!;
  if (!['auto', 'native', 'map'].includes(o.engine)) {
    throw new XentError(
      'invalid_argument',
      'serve',
      `--engine must be auto, native or map, got ${JSON.stringify(o.engine)}`,
      { arg: '--engine', value: o.engine },
    );
  }
  const [{ loadModel }, { startXentServer }] = await Promise.all([
    import('../models/load.js'),
    import('../server/xent-server.js'),
  ]);
  const load = () =>
    loadModel(o.model, {
      ctx,
      engine: o.engine as 'auto' | 'native' | 'map',
      layout: 'requests',
      ...(threads !== undefined ? { threads } : {}),
    });
  const models = [await load()];
  const closeAll = () => Promise.all(models.map((m) => m.close()));
  try {
    while (models.length < parallel) models.push(await load());
  } catch (e) {
    await closeAll();
    throw e;
  }
  const model = models[0]!;
  let running: Awaited<ReturnType<typeof startXentServer>>;
  try {
    running = await startXentServer(models, {
      host: o.host,
      port,
      modelName: o.modelName ?? model.name,
      apiKey: process.env.XENT_API_KEY || undefined,
      maxBodyBytes,
      maxQueue,
      ...(maxPromptTokens !== undefined ? { maxPromptTokens } : {}),
      ...(o.verbose ? { log: (l: string) => process.stderr.write(`xent serve: ${l}\n`) } : {}),
    });
  } catch (e) {
    await closeAll();
    if (e instanceof XentError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new XentError(
      'invalid_argument',
      'serve',
      `cannot listen on ${o.host}:${port} (${code ?? (e as Error).message})`,
      { arg: '--port', value: port },
    );
  }
  process.stdout.write(
    `listening ${running.url} model ${o.modelName ?? model.name} (V = ${model.vocabSize}${parallel > 1 ? `, ${parallel} contexts` : ''}${process.env.XENT_API_KEY ? ', API key required' : ''})\n`,
  );
  const stop = (): void => {
    running
      .close()
      .then(() => closeAll())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
