/**
 * What `xent kld` checks before comparing two distributions position by position: that the
 * two models tokenise alike (vocabulary, BOS, the text's tokens), and that a base file was
 * made from this text, context and vocabulary. Each refusal names the first difference.
 */
import { XentError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import type { BaseFileReader } from './kld-file.js';

const OP = 'kld';

/**
 * Refuses two models whose tokenizers differ: vocabulary size, BOS, then the first
 * vocabulary entry whose text differs, then the first differing token of the text.
 */
export function assertSameTokenizer(
  base: LanguageModel,
  model: LanguageModel,
  baseTokens: Int32Array,
  modelTokens: Int32Array,
  names: { base: string; model: string },
): void {
  if (base.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      OP,
      `the models have different tokenizers: ${names.base} has a vocabulary of ${base.vocabSize} tokens, ${names.model} of ${model.vocabSize}; KL divergence needs the same vocabulary`,
      { arg: '--model', expected: base.vocabSize, actual: model.vocabSize },
    );
  }
  for (let t = 0; t < base.vocabSize; t++) {
    const a = base.tokenText(t);
    const b = model.tokenText(t);
    if (a !== b) {
      throw new XentError(
        'incompatible',
        OP,
        `the models have different tokenizers: token ${t} is ${JSON.stringify(a)} in ${names.base} but ${JSON.stringify(b)} in ${names.model}`,
        {
          arg: '--model',
          column: t,
          expected: a,
          actual: b,
        },
      );
    }
  }
  if (base.addsBos !== model.addsBos || base.bosToken !== model.bosToken) {
    throw new XentError(
      'incompatible',
      OP,
      `the models disagree on BOS: ${names.base} ${base.addsBos ? `adds BOS ${base.bosToken}` : 'adds no BOS'}, ${names.model} ${model.addsBos ? `adds BOS ${model.bosToken}` : 'adds no BOS'}`,
      {
        arg: '--model',
      },
    );
  }
  const n = Math.min(baseTokens.length, modelTokens.length);
  for (let i = 0; i <= n; i++) {
    if (i === n ? baseTokens.length !== modelTokens.length : baseTokens[i] !== modelTokens[i]) {
      if (i === n && baseTokens.length === modelTokens.length) break;
      throw new XentError(
        'incompatible',
        OP,
        `the models tokenise the text differently: first difference at token ${i} (${baseTokens[i] ?? 'end'} in ${names.base}, ${modelTokens[i] ?? 'end'} in ${names.model})`,
        {
          arg: '--model',
          row: i,
        },
      );
    }
  }
}

/** Refuses a base file that does not belong to this run: ctx, vocabulary, tokens (the text). */
export function checkBaseFile(
  file: BaseFileReader,
  stream: Int32Array,
  ctx: number,
  model: LanguageModel,
  dataSha256?: string,
): void {
  const h = file.header;
  const p = file.path;
  if (h.nCtx !== ctx) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} was made with ctx ${h.nCtx}, but this run uses --ctx ${ctx}; rerun with --ctx ${h.nCtx} or make a new base file`,
      {
        file: p,
        arg: '--ctx',
        expected: h.nCtx,
        actual: ctx,
      },
    );
  }
  if (h.vocabSize !== model.vocabSize) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} was made by a model with a vocabulary of ${h.vocabSize} tokens, but ${model.id} has ${model.vocabSize}: another tokenizer`,
      {
        file: p,
        arg: '--model',
        expected: h.vocabSize,
        actual: model.vocabSize,
      },
    );
  }
  if (file.meta && dataSha256 && file.meta.data_sha256 !== dataSha256) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} was made from another text (sha256 ${file.meta.data_sha256.slice(0, 12)}…, this --data has ${dataSha256.slice(0, 12)}…)`,
      {
        file: p,
        arg: '--data',
      },
    );
  }
  const need = h.nChunk * ctx;
  const n = Math.min(need, stream.length);
  for (let i = 0; i < n; i++) {
    if (h.tokens[i] !== stream[i]) {
      throw new XentError(
        'incompatible',
        OP,
        `base file ${p} was made from another text or tokenizer: its token ${i} is ${h.tokens[i]}, this text's is ${stream[i]}`,
        {
          file: p,
          arg: '--data',
          row: i,
          expected: h.tokens[i],
          actual: stream[i],
        },
      );
    }
  }
  if (stream.length < need) {
    throw new XentError(
      'incompatible',
      OP,
      `base file ${p} holds ${h.nChunk} chunks of ${ctx} tokens, but this text has only ${stream.length} tokens: another text`,
      { file: p, arg: '--data' },
    );
  }
}
