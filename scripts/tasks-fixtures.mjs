#!/usr/bin/env node
// Regenerates the anchors' outputs that test/tasks checks xent against without running the
// anchors themselves (CI has ../shared and the native binding, but not necessarily
// llama-perplexity or g++): see test/tasks/data/README.md for what each file is.
//
//   node scripts/tasks-fixtures.mjs [--only llama|cxx|lmeval] [--llama /path/to/llama-perplexity]
//
//   llama   llama-perplexity (LLAMA_PERPLEXITY, --llama, or /work/llama.cpp's native build) on
//           stories260K at -c 512 -b 512 -t 1: logs trimmed to the lines the tests read
//   cxx     test/tasks/data/cxx-anchor.cpp compiled with g++: cxx-anchor.json
//   lmeval  lm-eval 0.4.13's code (test/tasks/lmeval_check.py, in XENT_LMEVAL_VENV, default
//           /root/.cache/xent-lmeval-venv) on the cases of test/tasks/lmeval-cases.ts with
//           synthetic log-probabilities: lmeval-<case>.json (needs the built native binding
//           for stories260K's tokenizer; runs itself again under tsx to import the tests' code)
//
// Then `git diff test/tasks/data` shows whether anything moved.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const data = join(root, 'test', 'tasks', 'data');
const shared = resolve(process.env.XENT_SHARED ?? join(root, '..', 'shared'));
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt('--only');
if (only !== undefined && !['llama', 'cxx', 'lmeval'].includes(only)) {
  console.error(`tasks-fixtures: --only must be llama, cxx or lmeval, got ${JSON.stringify(only)}`);
  process.exit(2);
}

function die(msg) {
  console.error(`tasks-fixtures: ${msg}`);
  process.exit(1);
}

/** Writes a file and says so. */
function put(name, text) {
  writeFileSync(join(data, name), text);
  console.log(`wrote test/tasks/data/${name}`);
}

// ---------------------------------------------------------------------------------------
// llama-perplexity

const MODEL = join(shared, 'models', 'stories260K.gguf');
const strip = (l) => l.replace(/^\d+\.\d+\.\d+\.\d+ [IWE] /, '');
const isTaskLine = (l) => /^\d+\t/.test(l);

/**
 * llama-perplexity's output lines, timestamps and level letters removed. Its logger writes
 * from a thread it does not join at exit (common/log.cpp), so under load the last lines can
 * be lost: a run whose output `complete` rejects is run again.
 */
function llamaPerplexity(llama, runArgs, complete) {
  for (let attempt = 1; attempt <= 8; attempt++) {
    const r = spawnSync(llama, ['-m', MODEL, '-c', '512', '-b', '512', '-t', '1', ...runArgs], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) die(`llama-perplexity ${runArgs.join(' ')} exited with ${r.status}:\n${r.stderr}`);
    const lines = `${r.stdout}\n${r.stderr}`.split('\n').map(strip);
    if (complete(lines)) return lines;
  }
  die(`llama-perplexity ${runArgs.join(' ')} lost the end of its output 8 times`);
}

const printed = (n) => (lines) => lines.filter(isTaskLine).length === n;
const loadedLine = (l) => /(?:loaded \d+ tasks from prompt|there are \d+ tasks in prompt)/.test(l);

function llamaFixtures() {
  const llama = [
    opt('--llama'),
    process.env.LLAMA_PERPLEXITY,
    '/work/llama.cpp/build/bin/llama-perplexity',
    join(root, '..', 'llama.cpp', 'build', 'bin', 'llama-perplexity'),
  ].find((p) => p !== undefined && existsSync(p));
  if (!llama) die('no llama-perplexity binary: pass --llama or set LLAMA_PERPLEXITY');
  if (!existsSync(MODEL)) die(`${MODEL} is missing`);
  const wino = join(shared, 'data', 'tasks', 'winogrande.csv');
  const mc = join(shared, 'data', 'tasks', 'mc.bin');
  const keep = (lines, extra = () => false) =>
    `${lines.filter((l) => loadedLine(l) || isTaskLine(l) || extra(l)).join('\n')}\n`;

  const final = (l) => l.startsWith('Final Winogrande score');
  const w = llamaPerplexity(
    llama,
    ['--winogrande', '--winogrande-tasks', '100', '-f', wino],
    (ls) => printed(100)(ls) && ls.some(final),
  );
  put('stories260K-winogrande100.log', keep(w, final));

  const m = llamaPerplexity(llama, ['--multiple-choice', '--multiple-choice-tasks', '30', '-bf', mc], printed(30));
  put('stories260K-mc30.log', keep(m));

  const loadedIn = (ls) => Number(/loaded (\d+) tasks/.exec(ls.join('\n'))?.[1]);
  const b = llamaPerplexity(llama, ['--winogrande', '-f', join(data, 'wg-bad.csv')], (ls) => printed(loadedIn(ls))(ls));
  put('stories260K-wg-bad.log', keep(b));

  const fits = (l) => /does not fit in the context window \(requires \d+ tokens\)/.test(l);
  const long = llamaPerplexity(llama, ['--hellaswag', '-f', join(data, 'long.txt'), '-c', '16'], (ls) => ls.some(fits));
  put('stories260K-long-c16.log', keep(long, fits));
}

// ---------------------------------------------------------------------------------------
// g++ and libstdc++

function cxxFixtures() {
  const dir = mkdtempSync(join(tmpdir(), 'xent-cxx-'));
  try {
    const exe = join(dir, 'anchor');
    const c = spawnSync('g++', ['-O2', '-std=c++17', '-o', exe, join(data, 'cxx-anchor.cpp')], { encoding: 'utf8' });
    if (c.error || c.status !== 0) die(`g++ failed: ${c.error?.message ?? c.stderr}`);
    const gxx = spawnSync('g++', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    const run = (runArgs, input = '') => {
      const r = spawnSync(exe, runArgs, { input, encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) die(`anchor ${runArgs.join(' ')} exited with ${r.status}: ${r.stderr}`);
      return r.stdout.replace(/\n$/, '').split('\n');
    };

    // std::mt19937: three seeds, 2000 outputs each (three twists of the 624-word state).
    const raw = [1, 5489, 4294967295].map((seed) => ({
      seed,
      outputs: run(['raw', String(seed), '2000']).map(Number),
    }));

    // uniform_int_distribution<size_t>: small ranges (libstdc++'s downscaling path) and ranges
    // just above 2^31 and below 2^32, where it rejects draws. The ranges are not stored:
    // test/tasks/cxx-anchors.test.ts builds the same list (a different list cannot match).
    const ns = [];
    for (let i = 0; i < 3000; i++) ns.push(1 + ((i * 7919) % 1000));
    for (let i = 0; i < 3000; i++) ns.push(2 ** 31 + 1 + i * 700_001, 4294967295 - i, 3_000_000_000 + i * 17);
    const uniform = [1, 12345].map((seed) => ({
      seed,
      ranges: ns.length,
      draws: run(['uniform', String(seed)], ns.join('\n')).map(Number),
    }));

    const subset = [
      [399, 100],
      [400, 399],
      [10042, 500],
      [1267, 1267],
      [5, 3],
    ].map(([count, take]) => ({ count, take, picks: run(['subset', String(count), String(take)]).map(Number) }));

    // printf("%W.Df"): exact ties, signed zeros, extremes, and fast-check's doubles.
    const fixed = [
      0.125, 0.375, 2.5, 3.5, -2.5, 0.5, 1.5, -0.00001, -0, 0, 1e21, 1.7976931348623157e308, 5e-324, 65.1629, 44.5, 100,
      0.045, 1.0000000000000002,
    ];
    const sampled = fc.sample(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(...fixed),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.integer({ min: -1e6, max: 1e6 }).map((k) => k / 2 ** 12),
          fc.double({ min: -1000, max: 1000, noNaN: true }),
        ),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
      ),
      { numRuns: 4000, seed: 20261206 },
    );
    const cases = [...fixed.flatMap((x) => [0, 1, 2, 4, 6, 8].map((d) => [x, d, 3])), ...sampled];
    const hex = (x) => {
      const v = new DataView(new ArrayBuffer(8));
      v.setFloat64(0, x);
      return v.getBigUint64(0).toString(16).padStart(16, '0');
    };
    const inputs = cases.map(([x, d, w]) => [hex(x), d, w]);
    const outs = run(['printf'], inputs.map((c) => c.join(' ')).join('\n'));
    const printf = inputs.map((c, i) => [...c, outs[i]]);

    const json = {
      source: 'test/tasks/data/cxx-anchor.cpp',
      compiler: `${gxx}, g++ -O2 -std=c++17`,
      raw,
      uniform,
      subset,
      printf,
    };
    put('cxx-anchor.json', linesJson(json));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** JSON with each element of a top-level array on its own line (diffs stay readable). */
function linesJson(obj) {
  const parts = Object.entries(obj).map(([k, v]) =>
    Array.isArray(v)
      ? `  ${JSON.stringify(k)}: [\n${v.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]`
      : `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`,
  );
  return `{\n${parts.join(',\n')}\n}\n`;
}

// ---------------------------------------------------------------------------------------
// lm-evaluation-harness

async function lmevalFixtures() {
  if (!process.env.XENT_FIXTURES_TSX) {
    // The cases and the recording run are TypeScript (test/tasks/lmeval-cases.ts).
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--only', 'lmeval'], {
      stdio: 'inherit',
      env: { ...process.env, XENT_FIXTURES_TSX: '1' },
    });
    if (r.status !== 0) die('the lm-eval fixtures failed');
    return;
  }
  const cases = await import('../test/tasks/lmeval-cases.ts');
  const { loadModel } = await import('../src/models/load.ts');
  if (!existsSync(cases.LMEVAL_PYTHON)) die(`no lm-eval venv: ${cases.LMEVAL_PYTHON} is missing (XENT_LMEVAL_VENV)`);
  const model = await loadModel(MODEL, { ctx: 2048, threads: 1 });
  try {
    for (const c of cases.LMEVAL_CASES) {
      const rec = await cases.recordRun(model, c, cases.syntheticScorer(model.vocabSize, c.synthetic));
      const out = cases.runLmEval(rec.input);
      const { tasks, ...aggregates } = out;
      const head = { case: c.name, max_length: c.maxLength, take: c.take ?? null, synthetic: c.synthetic };
      const text = [
        '{',
        ...Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`),
        '  "lmeval": {',
        ...Object.entries(aggregates).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)},`),
        '    "tasks": [',
        tasks.map((t) => `      ${JSON.stringify(t)}`).join(',\n'),
        '    ]',
        '  }',
        '}',
        '',
      ].join('\n');
      put(`lmeval-${c.name}.json`, text);
    }
  } finally {
    await model.close();
  }
}

if (!process.env.XENT_FIXTURES_TSX) {
  if (only === undefined || only === 'llama') llamaFixtures();
  if (only === undefined || only === 'cxx') cxxFixtures();
}
if (only === undefined || only === 'lmeval') await lmevalFixtures();
