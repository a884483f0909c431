import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { CLI } from '../helpers/shared.js';
import { close } from './helpers.js';

// `xent score` end to end on the built CLI (dist/), as users run it.
const dir = mkdtempSync(join(tmpdir(), 'xent-score-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const skip = requires({ cli: true });

function write(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function xent(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'score', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// sacrebleu README example (expected BLEU 48.530827 from sacrebleu test/test_bleu.py), as files, CRLF on one.
const hyp = write('hyp.txt', "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
const ref1 = write('ref1.txt', 'The dog bit the man.\r\nIt was not unexpected.\r\nThe man bit him first.\r\n');
const ref2 = write('ref2.txt', 'The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.');

test('score --hyp --ref --ref --json: sacrebleu figures, both reference streams', { skip }, () => {
  const r = xent('--hyp', hyp, '--ref', ref1, '--ref', ref2, '--metrics', 'bleu,chrf,rouge', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.segments, 3);
  close(j.bleu.score_0_100, 48.530827, 1e-8);
  assert.deepEqual(j.bleu.counts, [14, 7, 5, 3]);
  assert.ok(j.chrf.score_0_100 > 0 && j.chrf.score_0_100 < 100);
  assert.ok(j.rouge.rougeL.f_0_100 > 0);
  const t = xent('--hyp', hyp, '--ref', ref1, '--ref', ref2);
  assert.equal(t.code, 0);
  assert.match(
    t.out,
    /^BLEU = 48\.53 82\.4\/50\.0\/45\.5\/37\.5 \(BP = 0\.943 ratio = 0\.944 hyp_len = 17 ref_len = 18\)/m,
  );
});

test('score: mismatched line counts name both counts and both files; bad UTF-8 names the line', { skip }, () => {
  const short = write('short.txt', 'a\nb\n');
  const r = xent('--hyp', hyp, '--ref', short);
  assert.equal(r.code, 2);
  assert.equal(
    r.err.trim(),
    `xent: score: line counts differ: --hyp ${hyp} has 3 lines but --ref ${short} has 2 lines`,
  );
  const bad = write('bad.txt', Buffer.from([0x61, 0x0a, 0x62, 0xff, 0x0a, 0x63, 0x0a]));
  const b = xent('--hyp', bad, '--ref', hyp);
  assert.equal(b.code, 2);
  assert.match(b.err, /^xent: score: --hyp .*bad\.txt is not valid UTF-8 \(line 2, near byte 3\)\n$/);
  const m = xent('--hyp', hyp, '--ref', ref1, '--metrics', 'bleu,meteor');
  assert.equal(m.code, 2);
  assert.match(m.err, /unknown text metric 'meteor'/);
  assert.equal(xent('--hyp', hyp).code, 2);
});

test('score: empty hypotheses are kept, as sacrebleu keeps them (BLEU 0, not an error)', { skip }, () => {
  const empty = write('empty.txt', '\n\n\n');
  const r = xent('--hyp', empty, '--ref', ref1, '--ref', ref2, '--json', '--metrics', 'bleu,chrf,rouge');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.segments, 3);
  assert.equal(j.bleu.score_0_100, 0);
  assert.equal(j.chrf.score_0_100, 0);
  assert.equal(j.rouge.rouge1.f_0_100, 0);
});

// Records as xent eval --tokens writes them (src/eval/evaluate.ts TokenRecord), rank 1 = top choice.
function records(withTop1Prob: boolean): string {
  const rows = [
    { token: 5, nats: 0.1, rank: 1, top1: 5, top1_p: 0.9 },
    { token: 7, nats: 2.0, rank: 4, top1: 2, top1_p: 0.6 },
    { token: 1, nats: 0.7, rank: 1, top1: 1, top1_p: 0.5 },
    { token: 9, nats: 5.0, rank: 13, top1: 4, top1_p: 0.95 },
  ];
  return rows
    .map((r, i) => {
      const rec: Record<string, unknown> = {
        position: i + 1,
        token: r.token,
        text: 't',
        nats: r.nats,
        bits: r.nats / Math.LN2,
        p: Math.exp(-r.nats),
        rank: r.rank,
        top1: r.top1,
        top1_text: 'x',
      };
      if (withTop1Prob) rec.top1_p = r.top1_p;
      return JSON.stringify(rec);
    })
    .join('\n');
}

test('score --tokens: cross-entropy, top-k from ranks, ECE from p(top-1)', { skip }, () => {
  const f = write('tok.jsonl', `${records(true)}\n`);
  const r = xent('--tokens', f, '--metrics', 'ce,top1,top5,ece,reliability', '--json', '--bins', '10');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.tokens_scored, 4);
  close(j.nats_per_token, (0.1 + 2 + 0.7 + 5) / 4);
  close(j.bits_per_token, (0.1 + 2 + 0.7 + 5) / 4 / Math.LN2);
  assert.equal(j.top1_accuracy, 0.5);
  assert.equal(j.top5_accuracy, 0.75);
  // bins of 0.1: [0.5,0.6): conf 0.5 acc 1; [0.6,0.7): 0.6 acc 0; [0.9,1.0): 0.9 (1) and 0.95 (0) → conf 0.925 acc 0.5
  close(j.ece_l1, (0.5 + 0.6 + 2 * 0.425) / 4);
  close(j.mce_max, 0.6);
  assert.equal(j.reliability.length, 11);
  const text = xent('--tokens', f, '--metrics', 'ce,top5');
  assert.match(text.out, /nats\/token = .* bits\/token/);
});

test('score --tokens without p(top-1): ECE refuses with a message naming the field and line; top-k still works', {
  skip,
}, () => {
  const f = write('tok-nop.jsonl', records(false));
  const r = xent('--tokens', f, '--metrics', 'ece');
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /^xent: score: ece\/reliability need the probability of the model's top-1 token \(field top1_p \/ p_top1 \/ top1Prob \/ top1_prob\) in every record; 4 of 4 records lack it \(first at line 1 of /,
  );
  assert.equal(xent('--tokens', f, '--metrics', 'top1,top5').code, 0);
  const bad = write('bad.jsonl', `${records(true)}\n{"nats": oops}\n`);
  const b = xent('--tokens', bad);
  assert.equal(b.code, 2);
  assert.match(b.err, /line 5: not valid JSON/);
});

test('score --tokens: ranks are 1-based (rank ≤ K counts for top-K); rank 0 is refused naming the line', {
  skip,
}, () => {
  const f = write('tok-k.jsonl', records(true));
  const j = JSON.parse(xent('--tokens', f, '--metrics', 'top3,top4', '--json').out);
  assert.equal(j.top3_accuracy, 0.5); // ranks 1, 4, 1, 13
  assert.equal(j.top4_accuracy, 0.75);
  const zero = write(
    'tok-zero.jsonl',
    `${records(true)}\n${JSON.stringify({ position: 9, token: 3, text: 't', nats: 0.2, rank: 0, top1: 3 })}\n`,
  );
  const r = xent('--tokens', zero, '--metrics', 'top5');
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /^xent: score: --tokens .*tok-zero\.jsonl line 5: "rank" must be a 1-based integer ≥ 1 \(1 = the model's top choice\), got 0\n$/,
  );
});
