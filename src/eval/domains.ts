/**
 * Domain shift: cross-entropy of one model on several domains (one text file each, or the
 * documents of a JSONL file grouped by their "domain" field) and the differences between
 * domains with 95% confidence intervals.
 *
 * Each domain is scored on its own with evaluatePerplexity (llama.cpp chunks, or the
 * sliding window with a stride); its windows are the bootstrap units: a window w gives
 * (Σ nats_w, tokens_w, bytes_w). Domain cross-entropy = Σ nats / Σ tokens; the CI of one
 * domain resamples its windows; the CI of a difference resamples the two domains' windows
 * independently (different texts, so unpaired). `pm` values are llama.cpp-style per-token
 * standard errors (sqrt(sa² + sb²) for a difference), which ignore the correlation of
 * tokens within a window; the bootstrap intervals do not.
 */
import { basename } from 'node:path';
import { bootstrapRatio, bootstrapUnpairedDiff } from '../core/bootstrap.js';
import { XentError } from '../core/errors.js';
import { LN2 } from '../core/tensor.js';
import { readDataFile } from '../io/read-data-file.js';
import type { LanguageModel } from '../models/language-model.js';
import { evaluatePerplexity } from './evaluate.js';

const OP = 'eval';

export interface DomainText {
  name: string;
  /** Where it came from: a file, or a file and its JSONL domain. */
  source: string;
  bytes: Buffer;
  documents: number;
}

/** Separator between the documents of one JSONL domain (the blank line TinyStories uses between stories). */
export const DOCUMENT_SEPARATOR = '\n\n';

/**
 * The domains of the inputs: a .jsonl file holds one JSON object per line with string
 * fields "text" and "domain" (blank lines skipped); any other file is one domain named
 * after the file. Domain names must be unique across plain files.
 */
export function readDomains(files: readonly string[]): DomainText[] {
  const out = new Map<string, { source: string; parts: string[]; bytes?: Buffer }>();
  for (const file of files) {
    const buf = readDataFile(OP, file);
    if (file.toLowerCase().endsWith('.jsonl')) {
      const lines = buf.toString('utf8').split('\n');
      let n = 0;
      lines.forEach((line, i) => {
        if (line.trim() === '') return;
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch (e) {
          throw new XentError('invalid_file', OP, `${file} line ${i + 1} is not valid JSON (${(e as Error).message})`, {
            file,
            line: i + 1,
          });
        }
        const r = rec as { text?: unknown; domain?: unknown };
        if (typeof rec !== 'object' || rec === null || typeof r.text !== 'string') {
          throw new XentError(
            'invalid_file',
            OP,
            `${file} line ${i + 1}: field "text" must be a string, got ${JSON.stringify(r?.text ?? rec)?.slice(0, 40)}`,
            { file, line: i + 1 },
          );
        }
        if (typeof r.domain !== 'string' || r.domain === '') {
          throw new XentError(
            'invalid_file',
            OP,
            `${file} line ${i + 1}: field "domain" must be a non-empty string, got ${JSON.stringify(r.domain)}`,
            { file, line: i + 1 },
          );
        }
        const d = out.get(r.domain) ?? { source: `${file}:${r.domain}`, parts: [] };
        if (d.bytes)
          throw new XentError(
            'invalid_argument',
            OP,
            `domain ${JSON.stringify(r.domain)} of ${file} line ${i + 1} is also the name of a --data file`,
            { file, line: i + 1 },
          );
        d.parts.push(r.text);
        out.set(r.domain, d);
        n++;
      });
      if (n === 0) throw new XentError('too_short', OP, `${file} has no JSONL records`, { file, arg: '--data' });
    } else {
      const name = basename(file);
      if (out.has(name))
        throw new XentError(
          'invalid_argument',
          OP,
          `two --data inputs give the domain name ${JSON.stringify(name)}; rename one of the files`,
          { file, arg: '--data' },
        );
      out.set(name, { source: file, parts: [], bytes: buf });
    }
  }
  return [...out].map(([name, d]) => ({
    name,
    source: d.source,
    bytes: d.bytes ?? Buffer.from(d.parts.join(DOCUMENT_SEPARATOR), 'utf8'),
    documents: d.bytes ? 1 : d.parts.length,
  }));
}

export interface DomainScore {
  domain: string;
  source: string;
  documents: number;
  bytes: number;
  tokens_scored: number;
  bytes_scored: number;
  chunks: number;
  perplexity: number;
  perplexity_pm: number;
  nats_per_token: number;
  nats_per_token_pm: number;
  nats_per_token_ci95: [number, number];
  bits_per_token: number;
  bits_per_byte: number;
  bits_per_byte_ci95: [number, number];
}

export interface DomainDifference {
  /** a − b. */
  a: string;
  b: string;
  diff_nats_per_token: number;
  diff_nats_per_token_pm: number;
  diff_nats_per_token_ci95: [number, number];
  diff_bits_per_byte: number;
  diff_bits_per_byte_ci95: [number, number];
}

export interface DomainOptions {
  ctx: number;
  stride?: number;
  chunks?: number;
  /** Bootstrap seed and replicates. */
  seed?: number;
  replicates?: number;
  signal?: AbortSignal;
  onDomain?: (name: string, index: number, total: number) => void;
}

export interface DomainsResult {
  domains: DomainScore[];
  differences: DomainDifference[];
  warnings: string[];
}

interface Units {
  nats: Float64Array;
  tokens: Float64Array;
  bytes: Float64Array;
}

/** Scores `model` on every domain; differences for every pair (i < j) as domain i − domain j. */
export async function evaluateDomains(
  model: LanguageModel,
  domains: readonly DomainText[],
  opts: DomainOptions,
): Promise<DomainsResult> {
  const scores: DomainScore[] = [];
  const units: Units[] = [];
  const warnings: string[] = [];
  const boot = { seed: opts.seed ?? 0, replicates: opts.replicates ?? 2000 };
  for (let d = 0; d < domains.length; d++) {
    const dom = domains[d]!;
    opts.onDomain?.(dom.name, d, domains.length);
    const toks = await model.tokenizeBytes(dom.bytes);
    const nats: number[] = [];
    const tokens: number[] = [];
    const bytes: number[] = [];
    let prev = { n: 0, c: 0, b: 0 };
    let r: Awaited<ReturnType<typeof evaluatePerplexity>>;
    try {
      r = await evaluatePerplexity(model, toks, {
        ctx: opts.ctx,
        ...(opts.stride !== undefined ? { stride: opts.stride } : {}),
        ...(opts.chunks !== undefined ? { chunks: opts.chunks } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onWindow: (s) => {
          nats.push(s.nllSum - prev.n);
          tokens.push(s.count - prev.c);
          bytes.push(s.bytes - prev.b);
          prev = { n: s.nllSum, c: s.count, b: s.bytes };
        },
      });
    } catch (e) {
      if (e instanceof XentError && e.code === 'too_short') {
        throw new XentError(
          'too_short',
          OP,
          `domain ${JSON.stringify(dom.name)} (${dom.source}) is too short: ${e.message.replace(/^evaluatePerplexity: /, '')}`,
          { ...e.fields, file: dom.source },
          { cause: e },
        );
      }
      throw e;
    }
    if (nats.length < 10)
      warnings.push(
        `domain ${JSON.stringify(dom.name)} has only ${nats.length} chunk(s): its bootstrap interval is unreliable`,
      );
    const u: Units = {
      nats: Float64Array.from(nats),
      tokens: Float64Array.from(tokens),
      bytes: Float64Array.from(bytes),
    };
    units.push(u);
    const bitsU = u.nats.map((x) => x / LN2);
    const ci = bootstrapRatio(u.nats, u.tokens, boot);
    const ciB = bootstrapRatio(bitsU, u.bytes, boot);
    const se = r.perplexity > 0 ? r.perplexity_pm / r.perplexity : NaN;
    scores.push({
      domain: dom.name,
      source: dom.source,
      documents: dom.documents,
      bytes: dom.bytes.length,
      tokens_scored: r.tokens_scored,
      bytes_scored: r.bytes_scored,
      chunks: r.chunks,
      perplexity: r.perplexity,
      perplexity_pm: r.perplexity_pm,
      nats_per_token: r.nats_per_token,
      nats_per_token_pm: se,
      nats_per_token_ci95: [ci.lo, ci.hi],
      bits_per_token: r.bits_per_token,
      bits_per_byte: r.bits_per_byte,
      bits_per_byte_ci95: [ciB.lo, ciB.hi],
    });
    if (r.interrupted) break;
  }
  const differences: DomainDifference[] = [];
  for (let i = 0; i < scores.length; i++) {
    for (let j = i + 1; j < scores.length; j++) {
      const a = scores[i]!;
      const b = scores[j]!;
      const ua = units[i]!;
      const ub = units[j]!;
      const ci = bootstrapUnpairedDiff(ua.nats, ua.tokens, ub.nats, ub.tokens, {
        ...boot,
        seed: boot.seed + 7919 * (i * scores.length + j),
      });
      const ciB = bootstrapUnpairedDiff(
        ua.nats.map((x) => x / LN2),
        ua.bytes,
        ub.nats.map((x) => x / LN2),
        ub.bytes,
        { ...boot, seed: boot.seed + 7919 * (i * scores.length + j) },
      );
      differences.push({
        a: a.domain,
        b: b.domain,
        diff_nats_per_token: a.nats_per_token - b.nats_per_token,
        diff_nats_per_token_pm: Math.hypot(a.nats_per_token_pm, b.nats_per_token_pm),
        diff_nats_per_token_ci95: [ci.lo, ci.hi],
        diff_bits_per_byte: a.bits_per_byte - b.bits_per_byte,
        diff_bits_per_byte_ci95: [ciB.lo, ciB.hi],
      });
    }
  }
  return { domains: scores, differences, warnings };
}
