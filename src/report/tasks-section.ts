/**
 * The report section of `xent tasks`: accuracy with its intervals, the running accuracy
 * over the tasks, the margins, and the tasks nearest the edge: the closest wins (right by
 * the smallest margin) and the worst misses (wrong by the largest), with their texts.
 */
import { XentError } from '../core/errors.js';
import { type TaskRecord, type TasksResult, validateTaskRecord, validateTasksResult } from '../results/tasks.js';
import { accuracyCurveChart, marginChart } from './charts/tasks.js';
import { escapeHtml } from './escape.js';
import { fmt, fmtInt } from './format.js';
import { rowsFromObject, type SummaryRow } from './summary.js';

/** How many tasks each of the two tables shows. */
const EDGE_ROWS = 10;
const MAX_TEXT = 280;

const NORMALIZATION: Record<string, [string, string]> = {
  per_token: ['mean log-probability per token (llama.cpp)', 'nats/token'],
  per_char: ["log-likelihood per character (lm-eval's acc_norm)", 'nats/char'],
  none: ["summed log-likelihood (lm-eval's acc)", 'nats'],
};

function clip(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

function card(label: string, value: string, unit: string): string {
  return `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}<span class="unit">${escapeHtml(unit)}</span></div></div>`;
}

function edgeTable(records: readonly TaskRecord[], unit: string): string {
  if (records.length === 0) return '<p class="sub">None.</p>';
  const rows = records.map((r) => {
    const w = r.choices[r.winner]!;
    const best = r.gold.length ? r.gold.reduce((a, g) => (r.choices[g]!.score > r.choices[a]!.score ? g : a)) : -1;
    const right = best >= 0 ? r.choices[best]! : undefined;
    return (
      `<tr><td class="num">${fmtInt(r.task)}</td><td>${escapeHtml(clip(r.context))}<div class="sub">${escapeHtml(r.where)}</div></td>` +
      `<td>${escapeHtml(clip(w.text))}<div class="sub">${fmt(w.score, 5)} ${unit}</div></td>` +
      `<td>${right ? `${escapeHtml(clip(right.text))}<div class="sub">${fmt(right.score, 5)} ${unit}</div>` : '—'}</td>` +
      `<td class="num">${r.margin === null ? '—' : fmt(r.margin, 4)}</td></tr>`
    );
  });
  return `<div class="wrap"><table><thead><tr><th class="num">task</th><th>context</th><th>ranked first</th><th>right answer</th><th class="num">margin (${unit})</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

export function renderTasks(
  result: TasksResult,
  records: readonly TaskRecord[],
  id: string,
  source: string | undefined,
): { title: string; html: string; summary: { title: string; rows: SummaryRow[] } } {
  const file = source ?? 'tasks result';
  const r = validateTasksResult(result, { file });
  for (const [i, rec] of records.entries()) validateTaskRecord(rec, { file, line: i + 1 });
  if (records.length !== 0 && records.length !== r.tasks)
    throw new XentError('invalid_argument', 'report', `${file}: ${records.length} task records for ${r.tasks} tasks`, {
      file,
    });
  const [normText, unit] = NORMALIZATION[r.normalization] ?? [r.normalization, ''];
  const pct = (x: number): string => fmt(100 * x, 4);
  const cards = [
    card('accuracy', pct(r.accuracy), r.accuracy_pm !== null ? `% ± ${pct(r.accuracy_pm)}` : '%'),
    card('Wilson 95% interval', `${pct(r.accuracy_ci95[0])}–${pct(r.accuracy_ci95[1])}`, '%'),
    r.acc !== undefined ? card('acc (lm-eval)', pct(r.acc), `% ± ${pct(r.acc_stderr ?? Number.NaN)}`) : '',
    r.acc_norm !== undefined
      ? card('acc_norm (lm-eval)', pct(r.acc_norm), `% ± ${pct(r.acc_norm_stderr ?? Number.NaN)}`)
      : '',
    card('tasks scored', fmtInt(r.tasks), `of ${fmtInt(r.tasks_read)} read`),
    card('random chance', pct(r.random_chance), '%'),
  ].join('');
  const misses = records.filter((x) => !x.correct && x.margin !== null).sort((a, b) => a.margin! - b.margin!);
  const wins = records.filter((x) => x.correct && x.margin !== null).sort((a, b) => a.margin! - b.margin!);
  const dropped = r.lines_dropped
    ? `<p class="note-box">${fmtInt(r.lines_dropped)} line${r.lines_dropped === 1 ? '' : 's'} skipped by the reader, as llama.cpp's: ${r.dropped
        .slice(0, 5)
        .map((d) => `line ${d.line} (${escapeHtml(d.reason)})`)
        .join('; ')}${r.dropped.length > 5 ? '; …' : ''}.</p>`
    : '';
  const figs = records.length
    ? `<div class="figs"><figure>${accuracyCurveChart(r, records)}<figcaption>Running accuracy after each task, in the order they were scored, with its Wilson 95% interval: where the band is narrow, more tasks would change the figure little.</figcaption></figure>` +
      `<figure>${marginChart(r, records)}<figcaption>Margin of each task: the best right choice's score minus the best wrong one's (${escapeHtml(normText)}). Tasks near 0 could flip with a slightly different model.</figcaption></figure></div>` +
      `<h3>Closest wins</h3>${edgeTable(wins.slice(0, EDGE_ROWS), unit)}<h3>Worst misses</h3>${edgeTable(misses.slice(0, EDGE_ROWS), unit)}`
    : '<p class="note-box">No per-task records: the curve and the tables need them.</p>';
  const title = 'Log-likelihood benchmark';
  const sub = `model <code>${escapeHtml(r.model)}</code> on <code>${escapeHtml(r.data)}</code> · ${escapeHtml(r.format)} · ${escapeHtml(r.protocol)} protocol · ranked by ${escapeHtml(normText)}`;
  const rows: SummaryRow[] = [
    { figure: 'accuracy', value: fmt(r.accuracy, 6), unit: 'fraction' },
    ...rowsFromObject(r as Record<string, unknown>, new Set(['accuracy', 'dropped', 'accuracy_ci95'])),
    {
      figure: 'accuracy, Wilson 95% interval',
      value: `[${fmt(r.accuracy_ci95[0], 6)}, ${fmt(r.accuracy_ci95[1], 6)}]`,
      unit: 'fraction',
    },
  ];
  return {
    title,
    html: `<section id="${escapeHtml(id)}"><h2>${title}</h2><p class="sub">${sub}</p><div class="cards">${cards}</div>${dropped}${figs}</section>`,
    summary: { title: `${title}: ${r.model} on ${r.data}${source ? ` (${source})` : ''}`, rows },
  };
}
