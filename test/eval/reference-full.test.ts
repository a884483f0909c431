/**
 * Every row of the llama-perplexity reference table (../shared/reference/README.md),
 * full files, through the built CLI, asserted to every printed decimal. Runs on the
 * native (raw-logit) engine: the probability-Map engine would take ~10 minutes here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { CLI, sharedPath } from '../helpers/shared.js';

const MODEL = sharedPath('models', 'stories260K.gguf');
const skip = requires({
  shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt', 'data/wikitext2_test.raw'],
  cli: true,
  native: true,
});

const rows: [string, number, string, string, number][] = [
  ['tinystories_valid_600k.txt', 128, '5.0063', '0.02891', 2323],
  ['tinystories_valid_600k.txt', 512, '4.9954', '0.02854', 580],
  ['wikitext2_test.raw', 256, '113.2342', '0.67099', 3149],
];

for (const [data, ctx, ppl, pm, chunks] of rows) {
  test(`stories260K on ${data}, ctx ${ctx}: PPL = ${ppl} +/- ${pm} (${chunks} chunks)`, {
    skip,
    timeout: 600_000,
  }, () => {
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        'eval',
        '--model',
        MODEL!,
        '--data',
        sharedPath('data', data)!,
        '--ctx',
        String(ctx),
        '--threads',
        '1',
        // The table was made with flash attention off (-fa off), as older releases ran.
        '--flash-attn',
        'off',
        '--json',
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, CI: '1' },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.chunks, chunks);
    assert.equal(j.engine, 'native');
    assert.equal(j.perplexity.toFixed(4), ppl);
    assert.equal(j.perplexity_pm.toFixed(5), pm);
    assert.equal(j.tokens_scored, chunks * (ctx - 1 - ctx / 2));
  });
}
