/**
 * Node-only entry for model evaluation (suggested package subpath `xent/eval`): the
 * model loader, llama.cpp-exact perplexity, and its building blocks. Not re-exported
 * from src/index.ts, which stays dependency-free and browser-safe.
 */
export { loadModel } from '../models/load.js';
export type { LoadModelOptions } from '../models/load.js';
export { loadGgufModel, GGUF_INSTALL_HINT } from '../models/gguf.js';
export type { GgufModel, GgufLoadOptions, GgufEngine } from '../models/gguf.js';
export { readGgufHeader } from '../models/gguf-header.js';
export type { GgufHeader, GgufTensorInfo, GgufValue } from '../models/gguf-header.js';
export { evaluatePerplexity, tokenStream, tokenByteLengths } from './evaluate.js';
export type { EvaluateOptions, EvaluateResult, TokenRecord } from './evaluate.js';
export { planWindows } from './windows.js';
export type { EvalMode, EvalWindow, WindowPlan } from './windows.js';
export { summarize, newAccumulator, formatRunning } from './stats.js';
export type { EvalAccumulator, EvalSummary } from './stats.js';
export { scoreLogitRows } from './logit-scores.js';
export { loadCheckpoint, saveCheckpoint, CHECKPOINT_FORMAT } from './checkpoint.js';
export type { EvalCheckpoint, EvalFingerprint } from './checkpoint.js';
export { assertUtf8, firstInvalidUtf8 } from './utf8.js';
export { evaluateKld, assertSameTokenizer, checkBaseFile, JSD_AUTO_MAX_VOCAB } from './kld.js';
export type { KldOptions, KldEvalResult, KldMode } from './kld.js';
export { KldAccumulator, summarizeKld, percentile as kldPercentile } from './kld-stats.js';
export type { KldSummary } from './kld-stats.js';
export { BaseFileReader, BaseFileWriter, rowsPerChunk } from './kld-file.js';
export type { BaseFileHeader, BaseFileMeta } from './kld-file.js';
export { compareModels, unitStarts } from './compare.js';
export type { CompareOptions, CompareOutput, CompareModelScore, ComparePairScore, TokenPairScore, TokenDisagreement } from './compare.js';
export { readDomains, evaluateDomains } from './domains.js';
export type { DomainText, DomainScore, DomainDifference, DomainOptions, DomainsResult } from './domains.js';
export { bootstrapRatio, bootstrapPairedDiff, bootstrapUnpairedDiff } from './bootstrap.js';
export type { BootstrapOptions, Interval } from './bootstrap.js';
