/**
 * `xent bench ce` (the built CLI): one JSON object with the documented fields and sane values,
 * and a bad flag is one `xent:` line with exit code 2. Timings themselves are never asserted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { CLI } from '../helpers/shared.js';

const skip = requires({ cli: true });

test('xent bench ce --json prints { op, rows, vocab, threads, median_s, min_s, peak_rss_bytes }', { skip }, () => {
  for (const op of ['fwd', 'fwdbwd', 'read']) {
    const r = spawnSync(
      process.execPath,
      [CLI, 'bench', 'ce', '--rows', '64', '--vocab', '1001', '--threads', '2', '--op', op, '--reps', '3', '--json'],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    for (const k of ['op', 'rows', 'vocab', 'threads', 'median_s', 'min_s', 'peak_rss_bytes'])
      assert.ok(k in j, `missing ${k}`);
    assert.equal(j.op, op);
    assert.equal(j.rows, 64);
    assert.equal(j.vocab, 1001);
    assert.equal(j.threads, 2);
    assert.ok((j.min_s as number) > 0 && (j.min_s as number) <= (j.median_s as number));
    assert.ok((j.peak_rss_bytes as number) > (j.logits_bytes as number));
    if (op !== 'read')
      assert.ok(Math.abs((j.loss_nats as number) - (Math.log(1001) + 0.5)) < 0.2, `loss ${j.loss_nats}`);
  }
});

test('xent bench ce: a bad flag is one clear line and exit code 2', { skip }, () => {
  const r = spawnSync(process.execPath, [CLI, 'bench', 'ce', '--op', 'backward'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), "xent: xent bench ce: --op must be one of fwd, fwdbwd, read, got 'backward'");
});

test('xent bench lce --json prints { median_s, peak_extra_bytes } of linearCrossEntropy forward + backward', {
  skip,
}, () => {
  for (const backend of ['js', 'wasm']) {
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'bench',
        'lce',
        '--rows',
        '16',
        '--hidden',
        '8',
        '--vocab',
        '1001',
        '--threads',
        '2',
        '--backend',
        backend,
        '--json',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    for (const k of ['median_s', 'peak_extra_bytes']) assert.ok(k in j, `missing ${k}`);
    assert.equal(j.backend, backend);
    assert.ok((j.median_s as number) > 0);
    assert.ok((j.peak_extra_bytes as number) >= 0);
    // hidden ~ N(0, 1), weight ~ N(0, 1/H): logits ~ N(0, 1), so the loss is about ln V + 1/2
    assert.ok(Math.abs((j.loss_nats as number) - (Math.log(1001) + 0.5)) < 0.5, `loss ${j.loss_nats}`);
  }
});

test('xent bench lce: a bad flag is one clear line and exit code 2', { skip }, () => {
  const r = spawnSync(process.execPath, [CLI, 'bench', 'lce', '--backend', 'gpu'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), "xent: xent bench lce: --backend must be one of auto, native, wasm, js, got 'gpu'");
});
