/**
 * Node-only entry for model evaluation (suggested package subpath `xent/eval`): the
 * model loader, llama.cpp-exact perplexity, and its building blocks. Not re-exported
 * from src/index.ts, which stays dependency-free and browser-safe.
 */

export type { BootstrapOptions, Interval } from '../core/bootstrap.js';
export { bootstrapPairedDiff, bootstrapRatio, bootstrapUnpairedDiff } from '../core/bootstrap.js';
export { assertUtf8, firstInvalidUtf8 } from '../core/utf8.js';
export type { GgufHeader, GgufTensorInfo, GgufValue } from '../models/gguf/gguf-header.js';
export { readGgufHeader } from '../models/gguf/gguf-header.js';
export type { GgufEngine, GgufLanguageModel, GgufLoadOptions } from '../models/gguf/gguf-language-model.js';
export { GGUF_INSTALL_HINT, loadGgufModel } from '../models/gguf/gguf-language-model.js';
export { scoreLogitRows } from '../models/gguf/logit-scores.js';
export type { LanguageModel, ModelEngine, ModelKind, PositionScores, ScoreOptions } from '../models/language-model.js';
export type { LoadModelOptions } from '../models/load.js';
export { isRemoteModelSpec, loadModel } from '../models/load.js';
export type { EvalCheckpoint, EvalFingerprint } from './checkpoint.js';
export { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type {
  CompareModelScore,
  CompareOptions,
  CompareOutput,
  ComparePairScore,
  TokenDisagreement,
  TokenPairScore,
} from './compare.js';
export { compareModels, unitStarts } from './compare.js';
export type { DomainDifference, DomainOptions, DomainScore, DomainsResult, DomainText } from './domains.js';
export { evaluateDomains, readDomains } from './domains.js';
export type { EvaluateOptions, EvaluateResult, TokenRecord } from './evaluate.js';
export { evaluatePerplexity, tokenStream } from './evaluate.js';
export type { KldEvalResult, KldMode, KldOptions } from './kld.js';
export { evaluateKld, JSD_AUTO_MAX_VOCAB } from './kld.js';
export { assertSameTokenizer, checkBaseFile } from './kld-checks.js';
export type { BaseFileHeader, BaseFileMeta } from './kld-file.js';
export { BaseFileReader, BaseFileWriter, rowsPerChunk } from './kld-file.js';
export type { KldSummary } from './kld-stats.js';
export { KldAccumulator, percentile as kldPercentile, summarizeKld } from './kld-stats.js';
export type { EvalAccumulator, EvalSummary } from './stats.js';
export { formatRunning, newAccumulator, summarize } from './stats.js';
export type { EvalMode, EvalWindow, WindowPlan } from './windows.js';
export { planWindows } from './windows.js';
