/**
 * The batch layouts of the native GGUF engine (src/models/gguf/gguf-batches.ts), against
 * llama-perplexity: its context sizes as it prints them (test/eval/data/*.log, "n_ctx=…,
 * batch_size=…, n_seq=…"), the batch it builds in perplexity() (tools/perplexity/
 * perplexity.cpp: chunk s as sequence s at positions 0…T−1, logits from ⌊T/2⌋ on), and
 * the micro-batch pieces that keep memory flat (no step has more than n_ubatch rows once
 * ctx ≥ n_batch).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkBatchRequests } from '../../src/models/batch.js';
import {
  type DecodeStep,
  groupRequests,
  layoutServes,
  perplexityLayout,
  planChunks,
  planRequests,
  planSequence,
  sequenceLayout,
} from '../../src/models/gguf/gguf-batches.js';
import { REPO_ROOT } from '../helpers/shared.js';

const DATA = join(REPO_ROOT, 'test', 'eval', 'data');

test("llama-perplexity's n_seq and batch size, as its logs print them, for every fixture", () => {
  const logs = readdirSync(DATA).filter((f) => f.endsWith('.log'));
  assert.ok(logs.length >= 6, 'the fixtures are committed');
  let seen = 0;
  for (const f of logs) {
    const text = readFileSync(join(DATA, f), 'utf8');
    // perplexity(): "calculating perplexity over N chunks, n_ctx=C, batch_size=B, n_seq=S"
    // kl_divergence(): "computing over N chunks, n_ctx=C, batch_size=B, n_seq=S"
    for (const m of text.matchAll(/over \d+ chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)/g)) {
      const [, ctx, batch, seq] = m.map(Number) as [number, number, number, number];
      // The command's -b is in the fixture's name (…-b<B>-…) or llama-perplexity's default 2048.
      const b = Number(/-b(\d+)/.exec(f)?.[1] ?? 2048);
      const l = perplexityLayout(ctx, b, 512);
      assert.equal(l.nSeqMax, seq, `${f}: n_seq`);
      assert.equal(l.nBatch, batch, `${f}: batch_size`);
      seen++;
    }
  }
  assert.ok(seen >= logs.length, `read ${seen} layout lines`);
});

function concat(steps: DecodeStep[]): {
  tokens: number[];
  pos: number[];
  seq: number[][];
  outputs: number[];
  pairs: number[][];
} {
  const out = {
    tokens: [] as number[],
    pos: [] as number[],
    seq: [] as number[][],
    outputs: [] as number[],
    pairs: [] as number[][],
  };
  for (const s of steps) {
    const base = out.tokens.length;
    s.tokens.forEach((t, k) => {
      out.tokens.push(t);
      out.pos.push(s.pos[k]!);
      out.seq.push(s.seqStart ? Array.from(s.seqIds!.subarray(s.seqStart[k]!, s.seqStart[k + 1]!)) : [0]);
      out.outputs.push(s.outputs[k]!);
    });
    s.pairIndex.forEach((i, p) => {
      out.pairs.push([base + i, s.pairTarget[p]!, s.pairDest[p]!, s.pairRow[p]!]);
    });
  }
  return out;
}

test("16 chunks of 128 at -b 2048: one decode, llama-perplexity's batch exactly", () => {
  const T = 128;
  const chunks = Array.from({ length: 16 }, (_, s) => Int32Array.from({ length: T }, (_, k) => (s * 1000 + k) % 500));
  const layout = perplexityLayout(T, 2048, 512);
  assert.deepEqual(layout, { nCtx: 2048, nBatch: 2048, nUbatch: 512, nSeqMax: 16, kvUnified: false });
  const steps = planChunks(chunks, 64, layout);
  assert.equal(steps.length, 1);
  assert.equal(steps[0]!.clear, true);
  const c = concat(steps);
  for (let s = 0; s < 16; s++) {
    for (let k = 0; k < T; k++) {
      const idx = s * T + k; // perplexity(): idx = seq*n_ctx + k
      assert.equal(c.tokens[idx], chunks[s]![k]);
      assert.equal(c.pos[idx], k);
      assert.deepEqual(c.seq[idx], [s]);
      assert.equal(c.outputs[idx], k >= 64 ? 1 : 0);
    }
  }
  // Scored: rows 64…126 of each chunk, the target the next token.
  assert.equal(c.pairs.length, 16 * 63);
  for (const [i, target, dest, row] of c.pairs) {
    assert.equal(i, dest! * T + 64 + row!);
    assert.equal(target, chunks[dest!]![65 + row!]);
  }
  // The last group of --chunks 20: 4 chunks, still in the 16-sequence context.
  const tail = planChunks(chunks.slice(0, 4), 64, layout);
  assert.equal(tail.length, 1);
  assert.equal(tail[0]!.tokens.length, 4 * T);
});

test('ctx ≥ n_batch: one sequence in pieces of n_ubatch tokens, the KV cache carried; no step holds more than 512 rows', () => {
  for (const T of [2048, 8192, 16384]) {
    const layout = perplexityLayout(T, 2048, 512);
    assert.equal(layout.nSeqMax, 1);
    const chunk = Int32Array.from({ length: T }, (_, k) => (k * 7) % 32000);
    const steps = planChunks([chunk], T / 2, layout);
    assert.equal(steps.length, T / 512);
    steps.forEach((s, j) => {
      assert.equal(s.clear, j === 0, 'only the first piece empties the KV cache');
      assert.equal(s.tokens.length, 512);
      assert.equal(s.pos[0], j * 512);
      assert.ok(s.outputs.reduce((a, b) => a + b, 0) <= 512);
    });
    const c = concat(steps);
    assert.deepEqual(c.tokens, Array.from(chunk));
    assert.deepEqual(
      c.pos,
      Array.from({ length: T }, (_, k) => k),
    );
    // Logits from n_ctx/2 on, the last position included, as perplexity() asks for them.
    assert.deepEqual(
      c.outputs,
      Array.from({ length: T }, (_, k) => (k >= T / 2 ? 1 : 0)),
    );
    assert.equal(c.pairs.length, T - 1 - T / 2);
  }
  // -b 1000 -ub 512: each batch of 1000 in pieces of 512 and 488 (split_simple's ubatches).
  const odd = perplexityLayout(3000, 1000, 512);
  const steps = planChunks([new Int32Array(3000)], 1500, odd);
  assert.deepEqual(
    steps.map((s) => s.tokens.length),
    [512, 488, 512, 488, 512, 488],
  );
});

test('planSequence scores from … T−2 with logits only there (score())', () => {
  const tokens = Int32Array.from({ length: 700 }, (_, k) => k % 300);
  const steps = planSequence(tokens, 100, 100, 698, sequenceLayout(700, 2048, 512));
  assert.deepEqual(
    steps.map((s) => s.tokens.length),
    [512, 188],
  );
  const c = concat(steps);
  assert.equal(
    c.outputs.reduce((a, b) => a + b, 0),
    599,
  );
  assert.equal(c.outputs[699], 0);
  assert.deepEqual(
    c.pairs.map((p) => p[3]),
    Array.from({ length: 599 }, (_, r) => r),
  );
});

test('requests sharing a prefix: the prefix once with every sequence id, then each ending; packed while cells and sequences fit', () => {
  const ctxTok = [1, 10, 11, 12, 13];
  const endings = [[20, 21], [30, 31, 32], [40], [50, 51]];
  const requests = endings.map((e, i) => ({
    tokens: Int32Array.from([...ctxTok, ...e]),
    from: ctxTok.length - 1,
    ...(i > 0 ? { prefix: ctxTok.length } : {}),
  }));
  requests.push({ tokens: Int32Array.of(1, 60, 61, 62), from: 0 });
  checkBatchRequests('test', requests, 100, 1);
  const groups = groupRequests(requests, 4);
  assert.deepEqual(
    groups.map((g) => [g.members, g.prefix, g.cells]),
    [
      [[0, 1, 2, 3], 5, 5 + 2 + 3 + 1 + 2],
      [[4], 0, 4],
    ],
  );
  // A 4-sequence context of 32 cells holds the first group only; the second goes to a second decode.
  const decodes = planRequests('test', requests, groups, {
    nCtx: 32,
    nBatch: 32,
    nUbatch: 32,
    nSeqMax: 4,
    kvUnified: true,
  });
  assert.equal(decodes.length, 2);
  const c = concat(decodes[0]!);
  assert.deepEqual(c.tokens, [...ctxTok, 20, 21, 30, 31, 32, 40, 50, 51]);
  assert.deepEqual(c.pos, [0, 1, 2, 3, 4, 5, 6, 5, 6, 7, 5, 5, 6]);
  assert.deepEqual(c.seq.slice(0, 5), Array(5).fill([0, 1, 2, 3]));
  assert.deepEqual(c.seq.slice(5), [[0], [0], [1], [1], [1], [2], [3], [3]]);
  // Every request's rows from … T−2, each row's logits from the right token.
  for (let r = 0; r < 4; r++) {
    const q = requests[r]!;
    const mine = c.pairs.filter((p) => p[2] === r).sort((a, b) => a[3]! - b[3]!);
    assert.equal(mine.length, q.tokens.length - 1 - q.from);
    mine.forEach(([i, target, , row]) => {
      assert.equal(c.pos[i!], q.from + row!);
      assert.equal(target, q.tokens[q.from + row! + 1]);
      assert.ok(c.seq[i!]!.includes(r) && c.outputs[i!] === 1);
    });
  }
  // The shared last context token is one row, scored against each ending's first token.
  assert.deepEqual(
    c.pairs.filter((p) => p[0] === 4).map((p) => p[1]),
    [20, 30, 40, 50],
  );
  assert.throws(
    () => planRequests('test', requests, groups, { nCtx: 8, nBatch: 8, nUbatch: 8, nSeqMax: 4, kvUnified: true }),
    /requests 0, 1, 2, 3 need 13 KV cells/,
  );
  assert.throws(
    () => checkBatchRequests('test', [requests[0]!, { tokens: Int32Array.of(1, 10, 99), from: 0, prefix: 3 }], 100, 1),
    /requests\[1\]\.prefix = 3, but its token 2 \(99\) differs/,
  );
});

test('a context serves another layout only when llama.cpp would cut the same ubatches', () => {
  const p128 = perplexityLayout(128, 2048, 512);
  const p2048 = perplexityLayout(2048, 2048, 512);
  assert.ok(layoutServes(p128, p128));
  assert.ok(!layoutServes(p128, perplexityLayout(256, 2048, 512)), 'other n_seq: other split_equal ubatches');
  assert.ok(!layoutServes(p128, sequenceLayout(128, 2048, 512)), 'sixteen KV streams do not decode like one');
  assert.ok(layoutServes(p2048, sequenceLayout(1000, 2048, 512)));
  assert.ok(!layoutServes(sequenceLayout(1000, 2048, 512), p2048), 'too few cells');
  assert.ok(
    layoutServes(
      { nCtx: 2048, nBatch: 2048, nUbatch: 512, nSeqMax: 4, kvUnified: true },
      sequenceLayout(512, 2048, 512),
    ),
  );
});
