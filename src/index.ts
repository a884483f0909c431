/**
 * xent — exact, fast and visible cross-entropy. The loss library: dependency-free,
 * browser-safe, PyTorch semantics. Explicit named exports only (no `export *`).
 */
export { XentError, isXentError } from './errors.js';
export type { XentErrorCode, XentErrorFields } from './errors.js';
export type { FloatArray, Matrix, Unit, Reduction } from './tensor.js';
export { VERSION } from './version.js';
// Loss library (src/loss/): float64 reference path, PyTorch 1.13 semantics.
export { logSumExp } from './loss/log-sum-exp.js';
export { logSoftmax, logSoftmaxBackward } from './loss/log-softmax.js';
export { softmax } from './loss/softmax.js';
export { crossEntropy } from './loss/cross-entropy.js';
export type { CrossEntropyOptions, CrossEntropyResult, CrossEntropyTarget } from './loss/cross-entropy.js';
export type { Backend, ImplementationOptions } from './loss/backend.js';
export { nllLoss } from './loss/nll-loss.js';
export type { NllLossOptions, NllLossResult } from './loss/nll-loss.js';
export { binaryCrossEntropy } from './loss/binary-cross-entropy.js';
export type { BinaryCrossEntropyOptions, ElementwiseLossResult } from './loss/binary-cross-entropy.js';
export { binaryCrossEntropyWithLogits } from './loss/binary-cross-entropy-with-logits.js';
export type { BinaryCrossEntropyWithLogitsOptions } from './loss/binary-cross-entropy-with-logits.js';
export type { TensorLike } from './loss/validate.js';
export { klDivergence } from './loss/kl-divergence.js';
export type { KlDivergenceOptions, KlReduction } from './loss/kl-divergence.js';
export { distillationLoss } from './loss/distillation.js';
export type { DistillationOptions, DistillationResult } from './loss/distillation.js';
export { perplexity } from './loss/perplexity.js';
export type { PerplexityInput } from './loss/perplexity.js';
export { natsToBits, bitsToNats } from './loss/units.js';
export { StreamingLogSumExp, StreamingCrossEntropy } from './loss/streaming.js';
export type { StreamingCrossEntropyOptions, StreamingCrossEntropyResult } from './loss/streaming.js';
export { naiveCrossEntropy } from './loss/naive-cross-entropy.js';
export type { NaiveCrossEntropyOptions, NaiveCrossEntropyResult } from './loss/naive-cross-entropy.js';
export { logLoss } from './loss/log-loss.js';
export type { LogLossOptions } from './loss/log-loss.js';
export { entropy, relativeEntropy } from './loss/entropy.js';
export type { EntropyOptions } from './loss/entropy.js';
export { wassersteinDistance } from './loss/wasserstein.js';
// WebAssembly SIMD kernels behind the losses (src/kernels/): optional setup and zero-copy buffers.
export { initKernels, kernelsAvailable, allocFloat32, freeFloat32, kernelMemoryBytes } from './kernels/runtime.js';
export { shutdownKernelWorkers } from './kernels/pool.js';
// Tokenizers and the Kneser–Ney n-gram (src/train/; browser-safe, no Node imports).
export type { Tokenizer, TokenizerKind } from './train/tokenizer.js';
export { ByteTokenizer } from './train/byte-tokenizer.js';
export { BpeTokenizer } from './train/bpe.js';
export { WordTokenizer } from './train/word-tokenizer.js';
export { parseTokenizerSpec, trainTokenizer, tokenizerFromJSON } from './train/tokenizer-spec.js';
export type { TokenizerSpec } from './train/tokenizer-spec.js';
export { NgramModel } from './train/ngram.js';
export type { NgramDiscounts } from './train/ngram.js';
export { trainNgram, scoreNgramText } from './train/ngram-train.js';
export type { TrainNgramOptions, NgramTextScore } from './train/ngram-train.js';
export { serializeNgram, deserializeNgram } from './train/ngram-io.js';
// Metrics beside cross-entropy (src/metrics/): scikit-learn, sacrebleu, rouge-score, SciPy, torchmetrics semantics.
export { accuracy, topKAccuracy, topKHits } from './metrics/accuracy.js';
export type { AccuracyOptions, TopKAccuracyOptions, TopKAccuracyResult } from './metrics/accuracy.js';
export { precisionRecallFscoreSupport, precisionScore, recallScore, f1Score, fbetaScore } from './metrics/precision-recall-f.js';
export type {
  Average,
  ZeroDivision,
  PrecisionRecallOptions,
  PrecisionRecallResult,
  PrecisionRecallAveraged,
  PrecisionRecallPerClass,
} from './metrics/precision-recall-f.js';
export type { Label } from './metrics/check.js';
export { corpusBleu, sentenceBleu, computeBleu } from './metrics/bleu.js';
export type { BleuOptions, BleuResult, BleuSmoothing } from './metrics/bleu.js';
export { tokenize13a, tokenizeIntl } from './metrics/sacrebleu-tokenizers.js';
export type { BleuTokenizer } from './metrics/sacrebleu-tokenizers.js';
export { corpusChrf, sentenceChrf } from './metrics/chrf.js';
export type { ChrfOptions, ChrfResult } from './metrics/chrf.js';
export { rougeScore, corpusRouge, rougeTokenize } from './metrics/rouge.js';
export type { RougeType, RougeScore, RougeOptions } from './metrics/rouge.js';
export { PorterStemmer } from './metrics/porter-stemmer.js';
export type { PorterMode } from './metrics/porter-stemmer.js';
export { tokenEmd, tokenEmd1d } from './metrics/token-emd.js';
export type { TokenCost, TokenEmdOptions, TokenEmdResult } from './metrics/token-emd.js';
export { calibrationError, reliabilityDiagram, topLabelConfidences, binBoundaries } from './metrics/calibration.js';
export type { CalibrationNorm, CalibrationOptions, ReliabilityBin, ReliabilityDiagram } from './metrics/calibration.js';
export { entropyInBase, jensenShannonDivergence, jensenShannonDistance } from './metrics/information.js';
export type { BaseOptions } from './metrics/information.js';
