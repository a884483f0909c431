/**
 * xent — exact, fast and visible cross-entropy. The loss library: dependency-free,
 * browser-safe, PyTorch semantics. Explicit named exports only (no `export *`).
 */

export type { XentErrorCode, XentErrorFields } from './core/errors.js';
export { isXentError, XentError } from './core/errors.js';
export type { FloatArray, Matrix, Reduction, Unit } from './core/tensor.js';
export { VERSION } from './core/version.js';
export { shutdownKernelWorkers } from './kernels/pool.js';
// WebAssembly SIMD kernels behind the losses (src/kernels/): optional setup and zero-copy buffers.
export { allocFloat32, freeFloat32, initKernels, kernelMemoryBytes, kernelsAvailable } from './kernels/runtime.js';
export type { Backend, ImplementationOptions } from './loss/backend.js';
export type { BinaryCrossEntropyOptions, ElementwiseLossResult } from './loss/binary-cross-entropy.js';
export { binaryCrossEntropy } from './loss/binary-cross-entropy.js';
export type { BinaryCrossEntropyWithLogitsOptions } from './loss/binary-cross-entropy-with-logits.js';
export { binaryCrossEntropyWithLogits } from './loss/binary-cross-entropy-with-logits.js';
export type { CrossEntropyOptions, CrossEntropyResult, CrossEntropyTarget } from './loss/cross-entropy.js';
export { crossEntropy } from './loss/cross-entropy.js';
export type { DistillationOptions, DistillationResult } from './loss/distillation.js';
export { distillationLoss } from './loss/distillation.js';
export type { EntropyOptions } from './loss/entropy.js';
export { entropy, relativeEntropy } from './loss/entropy.js';
export type { KlDivergenceOptions, KlReduction } from './loss/kl-divergence.js';
export { klDivergence } from './loss/kl-divergence.js';
export type {
  LinearCrossEntropyBackendName,
  LinearCrossEntropyOptions,
  LinearCrossEntropyResult,
} from './loss/linear-cross-entropy.js';
export { linearCrossEntropy } from './loss/linear-cross-entropy.js';
export type { LogLossOptions } from './loss/log-loss.js';
export { logLoss } from './loss/log-loss.js';
export { logSoftmax, logSoftmaxBackward } from './loss/log-softmax.js';
// Loss library (src/loss/): float64 reference path, PyTorch 1.13 semantics.
export { logSumExp } from './loss/log-sum-exp.js';
export type { NaiveCrossEntropyOptions, NaiveCrossEntropyResult } from './loss/naive-cross-entropy.js';
export { naiveCrossEntropy } from './loss/naive-cross-entropy.js';
export type { NllLossOptions, NllLossResult } from './loss/nll-loss.js';
export { nllLoss } from './loss/nll-loss.js';
export type { PerplexityInput } from './loss/perplexity.js';
export { perplexity } from './loss/perplexity.js';
export { softmax } from './loss/softmax.js';
export type { StreamingCrossEntropyOptions, StreamingCrossEntropyResult } from './loss/streaming.js';
export { StreamingCrossEntropy, StreamingLogSumExp } from './loss/streaming.js';
export { bitsToNats, natsToBits } from './loss/units.js';
export type { TensorLike } from './loss/validate.js';
export { wassersteinDistance } from './loss/wasserstein.js';
export type { AccuracyOptions, TopKAccuracyOptions, TopKAccuracyResult } from './metrics/accuracy.js';
// Metrics beside cross-entropy (src/metrics/): scikit-learn, sacrebleu, rouge-score, SciPy, torchmetrics semantics.
export { accuracy, topKAccuracy, topKHits } from './metrics/accuracy.js';
export type { BleuOptions, BleuResult, BleuSmoothing } from './metrics/bleu.js';
export { computeBleu, corpusBleu, sentenceBleu } from './metrics/bleu.js';
export type { CalibrationNorm, CalibrationOptions, ReliabilityBin, ReliabilityDiagram } from './metrics/calibration.js';
export { binBoundaries, calibrationError, reliabilityDiagram, topLabelConfidences } from './metrics/calibration.js';
export type { Label } from './metrics/check.js';
export type { ChrfOptions, ChrfResult } from './metrics/chrf.js';
export { corpusChrf, sentenceChrf } from './metrics/chrf.js';
export type { BaseOptions } from './metrics/information.js';
export { entropyInBase, jensenShannonDistance, jensenShannonDivergence } from './metrics/information.js';
export type { PorterMode } from './metrics/porter-stemmer.js';
export { PorterStemmer } from './metrics/porter-stemmer.js';
export type {
  Average,
  PrecisionRecallAveraged,
  PrecisionRecallOptions,
  PrecisionRecallPerClass,
  PrecisionRecallResult,
  ZeroDivision,
} from './metrics/precision-recall-f.js';
export {
  f1Score,
  fbetaScore,
  precisionRecallFscoreSupport,
  precisionScore,
  recallScore,
} from './metrics/precision-recall-f.js';
export type { RougeOptions, RougeScore, RougeType } from './metrics/rouge.js';
export { corpusRouge, rougeScore, rougeTokenize } from './metrics/rouge.js';
export type { BleuTokenizer } from './metrics/sacrebleu-tokenizers.js';
export { tokenize13a, tokenizeIntl } from './metrics/sacrebleu-tokenizers.js';
export type { TokenCost, TokenEmdOptions, TokenEmdResult } from './metrics/token-emd.js';
export { tokenEmd, tokenEmd1d } from './metrics/token-emd.js';
export type { NgramDiscounts } from './models/ngram/ngram.js';
export { NgramModel } from './models/ngram/ngram.js';
export { deserializeNgram, serializeNgram } from './models/ngram/ngram-format.js';
export { BpeTokenizer } from './tokenizers/bpe.js';
export { ByteTokenizer } from './tokenizers/byte-tokenizer.js';
// Tokenizers and the Kneser–Ney n-gram (src/train/; browser-safe, no Node imports).
export type { Tokenizer, TokenizerKind } from './tokenizers/tokenizer.js';
export type { TokenizerSpec } from './tokenizers/tokenizer-spec.js';
export { parseTokenizerSpec, tokenizerFromJSON, trainTokenizer } from './tokenizers/tokenizer-spec.js';
export { WordTokenizer } from './tokenizers/word-tokenizer.js';
export type { NgramTextScore, TrainNgramOptions } from './train/ngram-train.js';
export { scoreNgramText, trainNgram } from './train/ngram-train.js';
