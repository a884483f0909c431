/**
 * The report library: `buildReport` (pure, browser-safe) and `writeReport` (Node,
 * atomic file write), the input schemas and their validators, and the chart module.
 */

export type {
  CompareModel,
  ComparePair,
  CompareResult,
  CurvePoint,
  EvalResult,
  InputKind,
  KldResult,
  TokenRecord,
  TrainCurves,
} from '../results/schema.js';
export {
  detectKind,
  validateCompareResult,
  validateEvalResult,
  validateKldResult,
  validateTokenRecord,
  validateTrainCurves,
} from '../results/schema.js';
export type { LossTableRow } from './charts/basics.js';
export type { Reliability, ReliabilityBin } from './charts/calibration.js';
export { reliability } from './charts/calibration.js';
export type { DemoSectionLike } from './demo-report.js';
export { demoReportInputs, writeDemoReport } from './demo-report.js';
export type { EvalReportOptions } from './eval-report.js';
export { evalReportInputs, writeEvalReport } from './eval-report.js';
export type { ReportMeta } from './html.js';
export { buildReport, reportCsp } from './html.js';
export { loadInputs, sectionFromText } from './load.js';
export type { ReportSection } from './sections.js';
export { checkReportPath, writeReport } from './write.js';
