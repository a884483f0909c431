/**
 * The native GGUF engine's batch layouts give llama.cpp's logits bit for bit:
 *  - one sequence decoded in pieces of n_ubatch tokens (the KV cache carried from one
 *    llama_decode to the next) = one llama_decode of the whole chunk, which llama.cpp cuts
 *    into the same ubatches itself;
 *  - chunks side by side in one decode (llama-perplexity's n_seq = n_batch / ctx, one KV
 *    stream each) = each chunk alone;
 *  - scoreBatch (several requests, a shared prefix decoded once, one unified KV cache) =
 *    each request alone through score(), with flash attention (llama.cpp's default on
 *    the CPU). Without it, llama.cpp's attention runs over all the cache's cells and a
 *    sequence's exponentials are summed in SIMD lanes set by its cells' offset: equal bits
 *    when its cells start at a multiple of 16 (AVX-512's 16 float lanes), else the last
 *    bits of the attention differ (up to ~2e-3 in a logit of stories260K), as they do in
 *    llama-perplexity's own multiple-choice runs.
 * Also the slices kld consumes, and the fallback of scoreBatch() for any other model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type BatchRequest, scoreBatch } from '../../src/models/batch.js';
import { perplexityLayout, planChunks } from '../../src/models/gguf/gguf-batches.js';
import { type GgufLanguageModel, loadGgufModel } from '../../src/models/gguf/gguf-language-model.js';
import { loadNativeBinding } from '../../src/models/gguf/gguf-native.js';
import type { NativeGgufLanguageModel } from '../../src/models/gguf/gguf-native-model.js';
import type { LanguageModel, PositionScores } from '../../src/models/language-model.js';
import { loadModel } from '../../src/models/load.js';
import { taskModelOptions } from '../../src/tasks/run-tasks.js';
import { requires } from '../helpers/requires.js';
import { REPO_ROOT, sharedPath } from '../helpers/shared.js';

const native = loadNativeBinding();
const TINY = sharedPath('data', 'tinystories_valid_600k.txt');
const skip = requires({
  shared: ['models/stories260K.gguf', 'models/llama-2-tiny-random.gguf', 'data/tinystories_valid_600k.txt'],
  native: true,
});
const MODELS = ['stories260K', 'llama-2-tiny-random'] as const;

/** A model's contexts (a private field: what the tests below are about). */
type Lane = { handle: unknown; threads: number; pending: number; made: boolean };
function lanesOf(m: NativeGgufLanguageModel): Lane[] {
  return (m as unknown as { lanes: Lane[] }).lanes;
}
const opened: LanguageModel[] = [];
after(async () => {
  for (const m of opened) await m.close();
});

async function open(name: string, fa: 'on' | 'off', ctx = 128, sequences = 4): Promise<NativeGgufLanguageModel> {
  const m = (await loadGgufModel(sharedPath('models', `${name}.gguf`)!, {
    ctx,
    sequences,
    threads: 2,
    engine: 'native',
    flashAttention: fa,
  })) as GgufLanguageModel as NativeGgufLanguageModel;
  opened.push(m);
  return m;
}

let text: Buffer | undefined;
async function tokens(m: GgufLanguageModel, n: number): Promise<Int32Array> {
  text ??= readFileSync(TINY!).subarray(0, 200_000);
  return (await m.tokenizeBytes(text)).slice(0, n);
}

function sameBits(a: Float32Array | undefined, b: Float32Array | undefined, what: string): void {
  assert.ok(a && b && a.length === b.length, `${what}: shapes`);
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) diff++;
  assert.equal(diff, 0, `${what}: ${diff} of ${a.length} logits differ`);
}

for (const name of MODELS) {
  for (const fa of ['on', 'off'] as const) {
    test(`${name}, flash attention ${fa}: n_ubatch pieces = one llama_decode of the chunk, bit for bit`, {
      skip,
    }, async () => {
      const b = native!;
      const m = b.loadModel(sharedPath('models', `${name}.gguf`)!);
      try {
        const V = b.modelInfo(m).vocabSize;
        // T = 1024 in pieces of 256 (llama-2-tiny-random: V = 32000, 32 MB of logits per copy).
        const T = 1024;
        const ub = 256;
        const first = T / 2;
        const K = T - 1 - first;
        const toks = b.tokenize(m, readFileSync(TINY!).subarray(0, 40_000), true, false).slice(0, T);
        const ctx = b.createContext(m, T, T, ub, 1, 2, fa === 'on' ? 1 : 0, false);
        const whole = new Float32Array(K * V);
        const wholeStats = new Float64Array(K * 5);
        const wholeLlama = new Float32Array(K * 2);
        await b.decode(
          ctx,
          true,
          toks,
          Int32Array.from({ length: T }, (_, k) => k),
          null,
          null,
          Uint8Array.from({ length: T }, (_, k) => (k >= first ? 1 : 0)),
          Int32Array.from({ length: K }, (_, r) => first + r),
          Int32Array.from({ length: K }, (_, r) => toks[first + r + 1]!),
          whole,
          wholeStats,
          wholeLlama,
        );
        // The task arithmetic decode runs on llama.cpp's rows in place equals the binding's
        // llamaLogProbs on the copied rows, bit for bit (both values of every row).
        const targets = Int32Array.from({ length: K }, (_, r) => toks[first + r + 1]!);
        const one = new Float32Array(2);
        for (let r = 0; r < K; r++) {
          b.llamaLogProbs(whole.subarray(r * V, (r + 1) * V), V, targets.subarray(r, r + 1), one);
          assert.deepEqual([wholeLlama[2 * r], wholeLlama[2 * r + 1]], [one[0], one[1]], `row ${r}`);
        }
        const steps = planChunks([toks], first, perplexityLayout(T, T, ub));
        assert.equal(steps.length, T / ub);
        const pieces = new Float32Array(K * V);
        const pieceStats = new Float64Array(K * 5);
        for (const s of steps) {
          const k = s.pairIndex.length;
          const out = new Float32Array(k * V);
          const st = new Float64Array(k * 5);
          await b.decode(
            ctx,
            s.clear,
            s.tokens,
            s.pos,
            s.seqStart,
            s.seqIds,
            s.outputs,
            s.pairIndex,
            s.pairTarget,
            out,
            st,
            null,
          );
          assert.ok(k <= ub, 'a step reads at most one ubatch of rows');
          if (k) {
            pieces.set(out, s.pairRow[0]! * V);
            pieceStats.set(st, s.pairRow[0]! * 5);
          }
        }
        sameBits(pieces, whole, 'logits');
        assert.deepEqual(pieceStats, wholeStats);
        b.freeContext(ctx);
      } finally {
        b.freeModel(m);
      }
    });

    test(`${name}, flash attention ${fa}: 16 chunks side by side (llama-perplexity's n_seq) = each chunk alone, bit for bit`, {
      skip,
    }, async () => {
      const m = await open(name, fa);
      assert.equal(m.chunkGroupSize(128), 16);
      const toks = await tokens(m, 16 * 128);
      const chunks = Array.from({ length: 16 }, (_, k) => {
        const c = toks.slice(k * 128, (k + 1) * 128);
        c[0] = m.bosToken!;
        return c;
      });
      const packed = await m.scoreChunks(chunks, { from: 64, full: true, rawLogits: true });
      for (let k = 0; k < 16; k++) {
        const one = await m.score(chunks[k]!, { from: 64, full: true, rawLogits: true });
        sameBits(packed[k]!.logits, one.logits, `chunk ${k}`);
        assert.deepEqual(packed[k]!.nats, one.nats);
      }
      // The slices kld reads: the same rows, a decode at a time.
      let rows = 0;
      for await (const s of m.scoreChunkSlices(chunks.slice(0, 5), { from: 64, full: true, rawLogits: true })) {
        sameBits(
          s.scores.logits,
          packed[s.chunk]!.logits!.subarray(s.row * m.vocabSize, (s.row + s.scores.nats.length) * m.vocabSize),
          `slice ${s.chunk}:${s.row}`,
        );
        rows += s.scores.nats.length;
      }
      assert.equal(rows, 5 * 63);
    });

    test(`${name}, flash attention ${fa}: scoreBatch packs requests (a shared prefix once) and scores as score() does`, {
      skip,
    }, async () => {
      // Eight sequences per decode: all seven requests in one llama_batch.
      const m = await open(name, fa, 256, 8);
      const toks = await tokens(m, 6000);
      const context = toks.slice(1000, 1040);
      context[0] = m.bosToken!;
      const requests: BatchRequest[] = [];
      // Four endings of one context (HellaSwag's layout), then three unrelated requests.
      for (let e = 0; e < 4; e++) {
        const t = new Int32Array(40 + 8 + e);
        t.set(context);
        t.set(toks.subarray(2000 + 50 * e, 2008 + 50 * e + e), 40);
        requests.push({ tokens: t, from: 39, ...(e > 0 ? { prefix: 40 } : {}) });
      }
      for (const len of [48, 64, 80]) {
        const t = toks.slice(3000 + len, 3000 + 2 * len);
        t[0] = m.bosToken!;
        requests.push({ tokens: t, from: 3 });
      }
      const batched = await m.scoreBatch(requests, { full: true, rawLogits: true });
      // One decode: the group takes 40 + 8 + 9 + 10 + 11 = 78 cells, then the unrelated
      // requests start at cells 78, 126 and 190 (none a multiple of 16); only the first
      // request sits where it would alone (cells 0…47).
      for (let r = 0; r < requests.length; r++) {
        const one = await m.score(requests[r]!.tokens, { from: requests[r]!.from, full: true, rawLogits: true });
        assert.equal(batched[r]!.nats.length, one.nats.length);
        if (fa === 'on' || r === 0) {
          sameBits(batched[r]!.logits, one.logits, `request ${r}`);
          assert.deepEqual(batched[r]!.nats, one.nats);
        }
      }
      if (fa === 'off') {
        // Aligned cells: a request after others of 16, 32 or 48 tokens scores bit for bit as alone.
        const q = requests[5]!;
        const one = await m.score(q.tokens, { from: q.from, full: true, rawLogits: true });
        for (const lead of [16, 32, 48]) {
          const d = toks.slice(100, 100 + lead);
          d[0] = m.bosToken!;
          const [, got] = await m.scoreBatch([{ tokens: d, from: 0 }, q], { full: true, rawLogits: true });
          sameBits(got!.logits, one.logits, `after ${lead} cells`);
        }
      }
    });
  }
}

test('scoreBatch() on a model without a batch decode: one score() per request, in order, same options', {
  skip: skip,
}, async () => {
  const lstm = await loadModel(join(REPO_ROOT, 'models', 'brown-lstm'));
  opened.push(lstm);
  const toks = await lstm.tokenize('The jury said it did find that the city election was conducted well.');
  const requests: BatchRequest[] = [
    { tokens: toks.slice(0, 10), from: 2 },
    { tokens: toks.slice(0, 14), from: 9, prefix: 10 },
    { tokens: toks.slice(3, 12), from: 0 },
  ];
  const got = await scoreBatch(lstm, requests, { full: true });
  for (let r = 0; r < requests.length; r++) {
    const one: PositionScores = await lstm.score(requests[r]!.tokens, { from: requests[r]!.from, full: true });
    assert.deepEqual(got[r], one, `request ${r}`);
  }
  await assert.rejects(
    scoreBatch(lstm, [requests[0]!, { tokens: toks.slice(1, 12), from: 0, prefix: 4 }]),
    /requests\[1\]\.prefix = 4, but its token 0/,
  );
});

test('the native decode call refuses bad arrays with a message naming them', { skip }, async () => {
  const m = await open('stories260K', 'on');
  await assert.rejects(
    m.scoreBatch([{ tokens: Int32Array.of(1, 2, 700), from: 0 }]),
    /requests\[0\]: .*tokens\[2\] = 700 is out of range \[0, 512\)/,
  );
  const b = native!;
  const h = b.loadModel(sharedPath('models', 'stories260K.gguf')!);
  try {
    const ctx = b.createContext(h, 64, 64, 64, 1, 1, 0, false);
    // Three tokens in sequence 0, logits at row 1 scored against token 5; each case changes some.
    type Args = Parameters<typeof b.decode>;
    const decode = (o: {
      tokens?: Args[2];
      pos?: Args[3];
      seqStart?: Args[4];
      seqIds?: Args[5];
      outputs?: Args[6];
      pairIndex?: Args[7];
      out?: Args[9];
      stats?: Args[10];
      llama?: Args[11];
    }) =>
      b.decode(
        ctx,
        true,
        o.tokens ?? Int32Array.of(1, 2, 3),
        o.pos ?? Int32Array.of(0, 1, 2),
        o.seqStart ?? null,
        o.seqIds ?? null,
        o.outputs ?? Uint8Array.of(0, 1, 0),
        o.pairIndex ?? Int32Array.of(1),
        Int32Array.of(5),
        o.out ?? null,
        o.stats ?? null,
        o.llama ?? null,
      );
    assert.throws(
      () => decode({ pairIndex: Int32Array.of(2) }),
      /pairIndex must name batch rows that have outputs set/,
    );
    assert.throws(() => decode({ pos: Int32Array.of(0, 1) }), /equal lengths/);
    assert.throws(
      () => decode({ seqStart: Int32Array.of(0, 1, 2, 3), seqIds: Int32Array.of(0, 0, 1) }),
      /sequence id out of range/,
    );
    assert.throws(
      () => decode({ tokens: new Int32Array(65), pos: new Int32Array(65), outputs: new Uint8Array(65) }),
      /65 tokens, but a batch holds 1 to 64/,
    );
    assert.throws(() => decode({ out: new Float32Array(10) }), /out is too small/);
    const st = new Float64Array(5);
    assert.equal(await decode({ stats: st }), 3);
    assert.ok(Number.isFinite(st[0]!) && st[0]! > 0);
    assert.throws(() => decode({ llama: new Float32Array(1) }), /llama is too small for \[K, 2\]/);
    b.freeContext(ctx);
  } finally {
    b.freeModel(h);
  }
});

test("xent tasks' context (taskModelOptions): 8 sequences in llama-perplexity's 4 × ctx cells, made at load and kept by four Winogrande-sized tasks in one call", {
  skip,
}, async () => {
  const handle = (m: NativeGgufLanguageModel): unknown => lanesOf(m)[0]!.handle;
  const m = (await loadGgufModel(sharedPath('models', 'stories260K.gguf')!, {
    ctx: 512,
    threads: 2,
    engine: 'native',
    ...taskModelOptions(512),
  })) as GgufLanguageModel as NativeGgufLanguageModel;
  try {
    const atLoad = handle(m);
    const toks = await tokens(m, 80);
    // Four tasks of two sequences each: a 12-token context, then 6 tokens of its own per choice.
    const requests: BatchRequest[] = [0, 1, 2, 3].flatMap((t) => {
      const ctx = toks.subarray(10 * t, 10 * t + 12);
      return [0, 1].map((k) => ({
        tokens: Int32Array.from([...ctx, ...toks.subarray(50 + 6 * k + t, 56 + 6 * k + t)]),
        from: 11,
        prefix: k === 0 ? 0 : 12,
      }));
    });
    const together = await m.scoreBatch(requests);
    const info = m.contextInfo()!;
    assert.deepEqual([info.nCtx, info.nSeqMax], [4 * 512, 8], "llama-perplexity's KV cells, 8 sequences");
    assert.equal(handle(m), atLoad, 'the context made at load');
    // The same requests one task per call give the same log-probabilities to float32 rounding
    // (the batch's shape can change llama.cpp's last bits, never more).
    for (let t = 0; t < 4; t++) {
      const alone = await m.scoreBatch(requests.slice(2 * t, 2 * t + 2));
      for (let k = 0; k < 2; k++)
        for (const [j, x] of alone[k]!.nats.entries())
          assert.ok(
            Math.abs(x - together[2 * t + k]!.nats[j]!) <= 1e-4 * Math.max(1, Math.abs(x)),
            `task ${t}, choice ${k}, row ${j}`,
          );
    }
  } finally {
    await m.close();
  }
});

test('contexts: 2 (as xent tasks loads a small model): two one-thread contexts decode two calls at once, with the values of one context and both threads, bit for bit', {
  skip,
}, async () => {
  const path = sharedPath('models', 'stories260K.gguf')!;
  const load = async (contexts: number | 'auto') =>
    (await loadGgufModel(path, {
      ctx: 512,
      threads: 2,
      engine: 'native',
      ...taskModelOptions(512, contexts),
    })) as GgufLanguageModel as NativeGgufLanguageModel;
  const one = await load(1);
  const two = await load('auto');
  try {
    assert.deepEqual([one.concurrency, two.concurrency], [1, 2], "'auto' gives this small model two contexts");
    assert.deepEqual(
      lanesOf(two).map((l) => l.threads),
      [1, 1],
      'the threads shared',
    );
    const toks = await tokens(two, 120);
    // Eight HellaSwag-shaped tasks: a 20-token context and four 6-token endings each.
    const task = (t: number): BatchRequest[] =>
      [0, 1, 2, 3].map((k) => ({
        tokens: Int32Array.from([...toks.subarray(10 * t, 10 * t + 20), ...toks.subarray(90 + k + t, 96 + k + t)]),
        from: 19,
        prefix: k === 0 ? 0 : 20,
      }));
    const calls = [0, 1, 2, 3, 4, 5, 6, 7].map(task);
    await two.scoreBatch(calls[0]!);
    assert.deepEqual(
      lanesOf(two).map((l) => l.made),
      [true, false],
      'the second context is not made for calls one at a time',
    );
    const pending = calls.map((c) => two.scoreBatch(c, { llamaTaskLogProbs: true }));
    assert.deepEqual(
      lanesOf(two).map((l) => l.pending),
      [4, 4],
      'the calls went to both contexts in turn',
    );
    const got = await Promise.all(pending);
    for (const [t, c] of calls.entries()) {
      const want = await one.scoreBatch(c, { llamaTaskLogProbs: true });
      for (let k = 0; k < 4; k++) {
        assert.deepEqual(got[t]![k]!.nats, want[k]!.nats, `task ${t}, ending ${k}: nats`);
        assert.deepEqual(got[t]![k]!.llama, want[k]!.llama, `task ${t}, ending ${k}: llama-perplexity's values`);
      }
    }
    // The first context still serves every other kind of call.
    const seq = toks.subarray(0, 40);
    assert.deepEqual((await two.score(seq, { from: 0 })).nats, (await one.score(seq, { from: 0 })).nats);
  } finally {
    await one.close();
    await two.close();
  }
});

test('loadGgufModel refuses contexts outside 1 … 4, naming the option', { skip }, async () => {
  const path = sharedPath('models', 'stories260K.gguf')!;
  await assert.rejects(
    loadGgufModel(path, { engine: 'native', contexts: 0 }),
    (e: Error & { code?: string }) =>
      e.code === 'invalid_argument' && /contexts must be an integer ≥ 1, got 0/.test(e.message),
  );
  await assert.rejects(
    loadGgufModel(path, { engine: 'native', contexts: 5 }),
    (e: Error & { code?: string }) =>
      e.code === 'invalid_argument' && /contexts must be at most 4 \(libuv's pool threads/.test(e.message),
  );
});

test('loadGgufModel refuses kvCells below 2, naming the option', { skip }, async () => {
  await assert.rejects(
    loadGgufModel(sharedPath('models', 'stories260K.gguf')!, { engine: 'native', kvCells: 1 }),
    (e: Error & { code?: string }) =>
      e.code === 'invalid_argument' && /kvCells must be an integer ≥ 2, got 1/.test(e.message),
  );
});

test("layout 'requests': the context made at load is the one scoreBatch uses (llama-perplexity's task context), not replaced by the first call", {
  skip,
}, async () => {
  // The context handle (a private field: what this test is about) before and after one task's
  // batch of four endings.
  const handle = (m: NativeGgufLanguageModel): unknown => lanesOf(m)[0]!.handle;
  for (const layout of ['requests', 'chunks'] as const) {
    const m = (await loadGgufModel(sharedPath('models', 'stories260K.gguf')!, {
      ctx: 512,
      threads: 2,
      engine: 'native',
      layout,
    })) as GgufLanguageModel as NativeGgufLanguageModel;
    try {
      const atLoad = handle(m);
      const toks = await tokens(m, 40);
      const ending = (k: number) => Int32Array.from([...toks.subarray(0, 30), ...toks.subarray(30 + k, 34 + k)]);
      await m.scoreBatch([0, 1, 2, 3].map((k) => ({ tokens: ending(k), from: 29, prefix: k === 0 ? 0 : 30 })));
      const info = m.contextInfo()!;
      assert.deepEqual([info.nCtx, info.nSeqMax], [4 * 512, 4], 'n_parallel 4 × ctx cells, 4 sequences');
      // 'chunks' makes llama-perplexity's chunk context at load (4 streams of 512 cells), which
      // a unified 4-sequence batch cannot use: the first call replaces it.
      assert.equal(handle(m) === atLoad, layout === 'requests', layout);
    } finally {
      await m.close();
    }
  }
});
