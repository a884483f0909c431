/**
 * The real lm-evaluation-harness 0.4.13 client (`lm_eval --model local-completions`, the
 * venv that .ci/run installs under ~/.cache/xent/lmeval-venv, or XENT_LMEVAL_VENV) against a
 * running `xent serve`, with tokenizer_backend=remote (no Hugging Face tokenizer) and
 * tokenized_requests=True, on two local tasks whose YAMLs this test writes:
 *   - a loglikelihood_rolling task over the first 60 stories of tinystories_valid_600k.txt
 *     (split at blank lines): word_perplexity, byte_perplexity and bits_per_byte must equal
 *     `xent eval --protocol lm-eval` on the same documents (relative 1e-6);
 *   - a multiple_choice task over the first 60 tasks of hellaswag.jsonl: acc, acc_norm and
 *     their stderrs must equal `xent tasks --format jsonl` on the same file.
 * Subsets keep the run near a minute on 2 cores (the full files take several). Both xent
 * commands run with the server's llama.cpp settings (its defaults: flash attention auto).
 * lm-eval's wall time is printed as a diagnostic.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { requires } from '../helpers/requires.js';
import { SHARED_DIR } from '../helpers/shared.js';
import { killAll, runCli, startServe } from '../models/server-helpers.js';

const VENV = process.env.XENT_LMEVAL_VENV ?? join(homedir(), '.cache', 'xent', 'lmeval-venv');
const LM_EVAL = join(VENV, 'bin', 'lm_eval');
const DOCS = 60;
const TASKS = 60;
const CTX = 128;
const skip = requires({
  shared: ['models/stories260K.gguf', 'data/tinystories_valid_600k.txt', 'data/tasks/hellaswag.jsonl'],
  cli: true,
  native: true,
  files: [LM_EVAL],
});

const dir = mkdtempSync(join(tmpdir(), 'xent-lmeval-client-'));
after(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ms: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const close = (a: number, b: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.abs(b), `${what}: lm-eval ${a}, xent ${b}`);

test('lm_eval local-completions through xent serve equals xent eval --protocol lm-eval and xent tasks', {
  skip,
  timeout: 480_000,
}, async (t) => {
  const model = join(SHARED_DIR, 'models', 'stories260K.gguf');
  const text = readFileSync(join(SHARED_DIR, 'data', 'tinystories_valid_600k.txt'), 'utf8');
  const stories = text
    .split(/\n\s*\n/)
    .filter((s) => s.trim() !== '')
    .slice(0, DOCS);
  const docs = join(dir, 'stories.jsonl');
  writeFileSync(docs, stories.map((s) => `${JSON.stringify({ text: s })}\n`).join(''));
  const hs = join(dir, 'hellaswag.jsonl');
  const lines = readFileSync(join(SHARED_DIR, 'data', 'tasks', 'hellaswag.jsonl'), 'utf8').split('\n');
  writeFileSync(hs, `${lines.slice(0, TASKS).join('\n')}\n`);
  const tasks = join(dir, 'tasks');
  mkdirSync(tasks);
  writeFileSync(
    join(tasks, 'rolling.yaml'),
    `task: xent_stories_rolling\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: ${docs}\ntest_split: test\noutput_type: loglikelihood_rolling\ndoc_to_text: ""\ndoc_to_target: "{{text}}"\nmetric_list:\n  - metric: word_perplexity\n  - metric: byte_perplexity\n  - metric: bits_per_byte\n`,
  );
  writeFileSync(
    join(tasks, 'hellaswag.yaml'),
    `task: xent_hellaswag\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: ${hs}\ntest_split: test\noutput_type: multiple_choice\ndoc_to_text: "{{context}}"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: "{{gold}}"\nmetric_list:\n  - metric: acc\n  - metric: acc_norm\n`,
  );

  const served = await startServe(model, ['--ctx', String(CTX)]);
  const outDir = join(dir, 'out');
  const t0 = performance.now();
  const r = await run(
    LM_EVAL,
    [
      '--model',
      'local-completions',
      '--model_args',
      `model=stories260K.gguf,base_url=${served.url}/v1/completions,tokenizer_backend=remote,tokenized_requests=True,max_length=${CTX}`,
      '--batch_size',
      '16',
      '--tasks',
      'xent_stories_rolling,xent_hellaswag',
      '--include_path',
      tasks,
      '--output_path',
      outDir,
    ],
    {
      HF_DATASETS_OFFLINE: '1',
      HF_HUB_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
      HF_DATASETS_CACHE: join(dir, 'hf-datasets'),
      HF_HOME: join(dir, 'hf-home'),
    },
    420_000,
  );
  const wall = (performance.now() - t0) / 1000;
  await served.kill();
  t.diagnostic(
    `lm_eval wall time through xent serve: ${wall.toFixed(1)} s (${DOCS} documents, ${TASKS} HellaSwag tasks)`,
  );
  const resultDir = join(outDir, 'stories260K.gguf');
  const file = existsSync(resultDir) ? readdirSync(resultDir).find((f) => f.startsWith('results_')) : undefined;
  // lm_eval prints its table after saving the results, with pytablewriter; where the package
  // index lacks it, that last step fails and nothing else does.
  const tableOnly = r.code !== 0 && /No module named 'pytablewriter'/.test(r.out);
  assert.ok(file && (r.code === 0 || tableOnly), `lm_eval failed (exit ${r.code}):\n${r.out.slice(-4000)}`);
  const results = (
    JSON.parse(readFileSync(join(resultDir, file), 'utf8')) as { results: Record<string, Record<string, number>> }
  ).results;

  const mine = await runCli([
    'eval',
    '--model',
    model,
    '--data',
    docs,
    '--ctx',
    String(CTX),
    '--protocol',
    'lm-eval',
    '--threads',
    '1',
    '--json',
  ]);
  assert.equal(mine.code, 0, mine.stderr);
  const x = JSON.parse(mine.stdout) as Record<string, number>;
  const roll = results.xent_stories_rolling!;
  assert.equal(x.documents, DOCS);
  close(roll['word_perplexity,none']!, x.word_perplexity!, 'word_perplexity');
  close(roll['byte_perplexity,none']!, x.byte_perplexity!, 'byte_perplexity');
  close(roll['bits_per_byte,none']!, x.bits_per_byte!, 'bits_per_byte');

  const tk = await runCli([
    'tasks',
    '--model',
    model,
    '--data',
    hs,
    '--format',
    'jsonl',
    '--ctx',
    String(CTX),
    '--threads',
    '1',
    '--json',
  ]);
  assert.equal(tk.code, 0, tk.stderr);
  const y = JSON.parse(tk.stdout) as Record<string, number>;
  const mc = results.xent_hellaswag!;
  assert.equal(mc['acc,none'], y.acc);
  assert.equal(mc['acc_norm,none'], y.acc_norm);
  assert.equal(mc['acc_stderr,none'], y.acc_stderr);
  assert.equal(mc['acc_norm_stderr,none'], y.acc_norm_stderr);
});
