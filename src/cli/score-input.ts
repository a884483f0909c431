/**
 * Input readers for `xent score`: line files (hypotheses, references) and xent eval's
 * per-token JSONL. Node-only (used by the CLI, not by the library).
 */
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { XentError } from '../core/errors.js';

const OP = 'score';

/**
 * The lines of a UTF-8 text file: split on \n, a trailing \r removed (CRLF files), the empty
 * string after a final newline dropped. Empty lines stay (an empty hypothesis is a segment).
 */
export function readLines(file: string, arg: string): string[] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new XentError(
      'invalid_file',
      OP,
      `cannot read ${arg} ${file}: ${(e as Error).message}`,
      { arg, file },
      { cause: e },
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    // Locate the first invalid byte to name its line.
    let offset = 0;
    for (let lo = 0, hi = buf.length; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, mid));
        lo = mid + 1;
        offset = mid;
      } catch {
        hi = mid;
      }
    }
    const line = buf.subarray(0, offset).toString('utf8').split('\n').length;
    throw new XentError('invalid_text', OP, `${arg} ${file} is not valid UTF-8 (line ${line}, near byte ${offset})`, {
      arg,
      file,
      line,
      offset,
    });
  }
  if (text.startsWith('\ufeff')) text = text.slice(1);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** Per-token fields `xent score --tokens` uses, one entry per record. */
export interface TokenColumns {
  file: string;
  n: number;
  nats: Float64Array;
  /** 1-based rank of the true token (1 = top choice, as xent eval --tokens writes it); 0 where the record has none. */
  rank: Int32Array;
  /** 1 when the model's top-1 token is the true token. */
  top1Correct: Uint8Array;
  /** p(top-1 token); NaN where absent. */
  top1Prob: Float64Array;
  /** Whether any record lacked a top-1 probability / a rank. */
  missingTop1Prob: number;
  missingRank: number;
  /** First line (1-based) lacking each. */
  firstMissingTop1Prob: number;
  firstMissingRank: number;
}

/** Accepted spellings of p(top-1) in a record. */
export const TOP1_PROB_FIELDS = ['top1_p', 'p_top1', 'top1Prob', 'top1_prob'] as const;

function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T, n: number): T {
  if (n < a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(16, a.length * 2));
  b.set(a);
  return b;
}

/** Streams a per-token JSONL file (records of xent eval --tokens). */
export async function readTokenRecords(file: string): Promise<TokenColumns> {
  let stream: ReturnType<typeof createReadStream>;
  try {
    closeSync(openSync(file, 'r')); // fail early, with a clear message, when missing or unreadable
    stream = createReadStream(file, { encoding: 'utf8' });
  } catch (e) {
    throw new XentError(
      'invalid_file',
      OP,
      `cannot read --tokens ${file}: ${(e as Error).message}`,
      { arg: '--tokens', file },
      { cause: e },
    );
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let nats = new Float64Array(1024);
  let rank = new Int32Array(1024);
  let top1Correct = new Uint8Array(1024);
  let top1Prob = new Float64Array(1024);
  let n = 0;
  let line = 0;
  let missingTop1Prob = 0;
  let missingRank = 0;
  let firstMissingTop1Prob = 0;
  let firstMissingRank = 0;
  const bad = (msg: string): never => {
    throw new XentError('invalid_file', OP, `--tokens ${file} line ${line}: ${msg}`, { arg: '--tokens', file, line });
  };
  for await (const raw of rl) {
    line++;
    const s = raw.trim();
    if (s === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      bad(`not valid JSON (${s.length > 60 ? `${s.slice(0, 60)}…` : s})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) bad('not a JSON object');
    const r = parsed as Record<string, unknown>;
    nats = grow(nats, n);
    rank = grow(rank, n);
    top1Correct = grow(top1Correct, n);
    top1Prob = grow(top1Prob, n);
    let x = r.nats;
    if (typeof x !== 'number' && typeof r.bits === 'number') x = r.bits * Math.LN2;
    if (typeof x !== 'number' && typeof r.p === 'number') x = -Math.log(r.p);
    if (typeof x !== 'number' || Number.isNaN(x) || x < 0)
      bad(`needs "nats" (−log p of the true token, ≥ 0), got ${JSON.stringify(r.nats)}`);
    nats[n] = x as number;
    const rk = r.rank;
    if (typeof rk === 'number' && Number.isInteger(rk) && rk >= 1) rank[n] = rk;
    else if (rk === undefined || rk === null) {
      rank[n] = 0;
      if (missingRank++ === 0) firstMissingRank = line;
    } else bad(`"rank" must be a 1-based integer ≥ 1 (1 = the model's top choice), got ${JSON.stringify(rk)}`);
    if (typeof r.top1 === 'number' && r.top1 >= 0 && typeof r.token === 'number')
      top1Correct[n] = r.top1 === r.token ? 1 : 0;
    else if (rank[n]! >= 1) top1Correct[n] = rank[n] === 1 ? 1 : 0;
    else bad('needs "top1" and "token" (or "rank") to tell whether the top-1 prediction was right');
    let tp = NaN;
    for (const f of TOP1_PROB_FIELDS) {
      const v = r[f];
      if (typeof v === 'number' && v >= 0 && v <= 1) {
        tp = v;
        break;
      }
    }
    top1Prob[n] = tp;
    if (Number.isNaN(tp) && missingTop1Prob++ === 0) firstMissingTop1Prob = line;
    n++;
  }
  if (n === 0) throw new XentError('empty_input', OP, `--tokens ${file} holds no records`, { arg: '--tokens', file });
  return {
    file,
    n,
    nats: nats.subarray(0, n),
    rank: rank.subarray(0, n),
    top1Correct: top1Correct.subarray(0, n),
    top1Prob: top1Prob.subarray(0, n),
    missingTop1Prob,
    missingRank,
    firstMissingTop1Prob,
    firstMissingRank,
  };
}
