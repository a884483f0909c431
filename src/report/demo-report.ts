/**
 * `xent demo`'s report: each demo section becomes a report section, recognised by
 * its data rather than its position, so sections added to the demo later land in
 * the report too:
 * - `loss_table` rows ({ p, ce_nats, bce_label1_nats, bce_label0_nats }) are drawn on
 *   the "cross-entropy at a glance" pair, which the demo report shows first;
 * - an evaluation's figures ({ nats_per_token, perplexity, … }) become an evaluation section;
 * - data that is (or holds) training curves ({ train, val }) becomes a training section;
 * - any other section becomes a "figures" section of its scalar figures and its lines.
 */

import { detectKind, type EvalResult, type TrainCurves, validateEvalResult } from '../results/schema.js';
import type { LossTableRow } from './charts/basics.js';
import type { ReportMeta } from './html.js';
import type { ReportSection } from './sections.js';
import { writeReport } from './write.js';

/** The shape of src/demo/section.ts's DemoSection (structural, to keep the report free of demo imports). */
export interface DemoSectionLike {
  key: string;
  title: string;
  lines: readonly string[];
  data: Record<string, unknown>;
}

/** Whether figures are a complete evaluation (a random model's nats and perplexity alone are not). */
function isEvalResult(v: Record<string, unknown>): boolean {
  try {
    validateEvalResult(v, { file: 'demo' });
    return true;
  } catch {
    return false;
  }
}

export function demoReportInputs(
  demo: readonly DemoSectionLike[],
  command = 'xent demo',
): { sections: ReportSection[]; meta: ReportMeta } {
  const sections: ReportSection[] = [];
  let lossTable: LossTableRow[] | undefined;
  for (const d of demo) {
    if (d.key === 'loss_table' && Array.isArray(d.data.rows)) {
      lossTable = d.data.rows as LossTableRow[];
      continue;
    }
    if (detectKind(d.data) === 'eval' && isEvalResult(d.data)) {
      // An evaluation (the demo's --model section): its own section, and its mark on the pair.
      sections.push({ kind: 'eval', result: d.data as unknown as EvalResult, source: `demo ${d.key}` });
      continue;
    }
    const curves =
      detectKind(d.data) === 'train' ? d.data : Object.values(d.data).find((v) => detectKind(v) === 'train');
    const scalars = Object.fromEntries(
      Object.entries(d.data).filter(([, v]) => v !== curves && (typeof v !== 'object' || v === null)),
    );
    if (curves === undefined || Object.keys(scalars).length > 0) {
      sections.push({ kind: 'figures', title: d.title, data: scalars, lines: [...d.lines], source: `demo ${d.key}` });
    }
    if (curves !== undefined) sections.push({ kind: 'train', curves: curves as TrainCurves, source: `demo ${d.key}` });
  }
  return {
    sections,
    meta: {
      title: 'xent demo: cross-entropy, exact and visible',
      command,
      basicsFirst: true,
      ...(lossTable ? { lossTable } : {}),
    },
  };
}

/** Writes the demo report atomically; returns the number of bytes written. */
export function writeDemoReport(path: string, demo: readonly DemoSectionLike[], command?: string): number {
  const { sections, meta } = demoReportInputs(demo, command);
  return writeReport(path, sections, meta);
}
