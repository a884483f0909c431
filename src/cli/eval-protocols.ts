/**
 * `xent eval --protocol lm-eval` (lm-evaluation-harness's loglikelihood_rolling, see
 * src/eval/lmeval-rolling.ts) and `xent eval --protocol all` (every protocol on the same model
 * and text, src/eval/protocols.ts). Documents come from a .jsonl (one JSON object a line with a
 * string `text`) or a text file (one document); for the stream protocols of `all` the documents
 * are joined by blank lines.
 */
import { basename, resolve } from 'node:path';
import { XentError } from '../core/errors.js';
import type { LanguageModel } from '../models/language-model.js';
import { llamaLoadOptions } from './llama-options.js';
import { intOption } from './options.js';

export interface ProtocolCliOptions {
  model: string;
  data: string;
  ctx: string;
  stride?: string;
  chunks?: string;
  threads?: string;
  engine: string;
  flashAttn?: string | boolean;
  batch?: string;
  ubatch?: string;
  json?: boolean;
  report?: string;
  protocol: string;
}

/** The documents of `file`: a .jsonl's `text` fields, else the whole file. */
export function readDocuments(file: string, bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  if (!file.toLowerCase().endsWith('.jsonl')) return [text];
  const docs: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new XentError('invalid_text', 'eval', `${file} line ${i + 1} is not JSON (${(e as Error).message})`, {
        file,
        line: i + 1,
      });
    }
    const t = (o as { text?: unknown } | null)?.text;
    if (typeof t !== 'string')
      throw new XentError('invalid_text', 'eval', `${file} line ${i + 1} has no string "text" field`, {
        file,
        line: i + 1,
      });
    docs.push(t);
  });
  if (docs.length === 0) throw new XentError('too_short', 'eval', `${file} holds no documents`, { file });
  return docs;
}

const fix = (x: number, d = 4): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export async function runProtocolEval(o: ProtocolCliOptions): Promise<void> {
  const t0 = performance.now();
  const ctx = intOption('eval', '--ctx', o.ctx, 4)!;
  const threads = intOption('eval', '--threads', o.threads, 1);
  if (o.chunks !== undefined)
    throw new XentError('invalid_argument', 'eval', `--chunks does not apply to --protocol ${o.protocol}`, {
      arg: '--chunks',
    });
  if (o.report) (await import('../report/write.js')).checkReportPath('eval', '--report', o.report);
  const [{ loadModel }, { readDataFile }, { evaluateLmEvalRolling, lmEvalWordCount }, { readSpecialTokens }] =
    await Promise.all([
      import('../models/load.js'),
      import('../io/read-data-file.js'),
      import('../eval/lmeval-rolling.js'),
      import('../eval/special-tokens.js'),
    ]);
  const bytes = readDataFile('eval', o.data);
  const docs = readDocuments(o.data, bytes);
  const stride = intOption('eval', '--stride', o.stride, 1) ?? Math.floor(ctx / 2);
  const model: LanguageModel = await loadModel(o.model, {
    ctx,
    engine: o.engine as 'auto' | 'native' | 'map',
    ...(threads !== undefined ? { threads } : {}),
    ...llamaLoadOptions('eval', o),
  });
  try {
    const specials = await readSpecialTokens(model);
    const lm = await evaluateLmEvalRolling(model, docs, { ctx, specials });
    for (const d of lm.short_documents)
      process.stderr.write(
        `xent eval: warning: document ${d + 1} has ${lm.per_document[d]!.tokens} token(s) (fewer than 2); scored as lm-eval scores it\n`,
      );
    if (o.protocol === 'lm-eval') {
      const { per_document: _p, ...figures } = lm;
      const out = {
        ...figures,
        model: o.model,
        data: o.data,
        engine: model.kind === 'gguf' ? model.engine : model.kind,
        vocab_size: model.vocabSize,
        seconds: (performance.now() - t0) / 1000,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(out)}\n`);
      else
        process.stdout.write(
          `${[
            `model ${basename(o.model)}, data ${basename(o.data)}: ${lm.documents} document(s), ${lm.windows} windows (lm-eval loglikelihood_rolling, max_length ${ctx})`,
            `word_perplexity ${fix(lm.word_perplexity)}  byte_perplexity ${fix(lm.byte_perplexity)}  bits_per_byte ${fix(lm.bits_per_byte, 6)}`,
            `per token: PPL ${fix(lm.perplexity)}, ${fix(lm.nats_per_token, 6)} nats, ${fix(lm.bits_per_token, 6)} bits (${lm.tokens_scored} tokens, ${lm.words} words, ${lm.bytes} bytes)`,
          ].join('\n')}\n`,
        );
      return;
    }
    // --protocol all: the stream protocols on the documents joined by blank lines.
    const { evaluatePerplexity, tokenStream } = await import('../eval/evaluate.js');
    const { planWindows } = await import('../eval/windows.js');
    const { compareProtocols } = await import('../eval/protocols.js');
    const joined = docs.join('\n\n');
    const textTokens = await model.tokenizeBytes(Buffer.from(joined, 'utf8'));
    const stream = tokenStream(model, textTokens);
    const addsBos = model.addsBos && model.bosToken !== undefined;
    const llamaPlan = planWindows('eval', stream.length, ctx, { addsBos });
    const hfPlan = planWindows('eval', stream.length, ctx, { addsBos, stride });
    const llama = await evaluatePerplexity(model, textTokens, { ctx });
    const hf = await evaluatePerplexity(model, textTokens, { ctx, stride });
    const cmp = compareProtocols({
      model: o.model,
      data: o.data,
      ctx,
      stride,
      documents: docs.length,
      textTokens: stream.length,
      textWords: lmEvalWordCount(joined),
      textBytes: Buffer.byteLength(joined, 'utf8'),
      addsBos,
      llama: { result: llama, plan: llamaPlan },
      hf: { result: hf, plan: hfPlan },
      lmeval: lm,
    });
    if (o.json) process.stdout.write(`${JSON.stringify(cmp)}\n`);
    else {
      const head = ['protocol', 'PPL/token', 'PPL/word', 'PPL/byte', 'tokens', 'ctx mean', 'ctx min', 'BOS'];
      const body = cmp.rows.map((r) => [
        r.protocol,
        fix(r.perplexity_per_token),
        fix(r.perplexity_per_word),
        fix(r.perplexity_per_byte),
        String(r.tokens_scored),
        fix(r.context_mean, 1),
        String(r.context_min),
        r.bos_used ? 'yes' : 'no',
      ]);
      const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
      const line = (c: string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
      process.stdout.write(
        `${[
          `model ${basename(o.model)}, data ${basename(o.data)} (${cmp.documents} document(s), ${cmp.text_tokens} tokens, ${cmp.text_words} words, ${cmp.text_bytes} bytes), --ctx ${ctx}, hf-stride S = ${stride}`,
          line(head),
          ...body.map(line),
          '',
          ...cmp.rows.map((r) => `${r.protocol}: ${r.description}; BOS ${r.bos}`),
          '',
          ...cmp.differences,
        ].join('\n')}\n`,
      );
    }
    if (o.report) {
      const { writeReport } = await import('../report/write.js');
      writeReport(o.report, [{ kind: 'protocols', result: cmp, source: 'xent eval --protocol all' }], {
        title: `xent eval: every protocol, ${basename(o.model)} on ${basename(o.data)}`,
        command: `xent eval ${process.argv.slice(3).join(' ')}`,
      });
      process.stderr.write(`xent eval: report written to ${resolve(o.report)}\n`);
    }
  } finally {
    await model.close();
  }
}
