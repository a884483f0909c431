// The two training backends against each other: the native trainer (native-trainer.ts on
// NativeLstmEngine) and the WebAssembly one (fast-trainer.ts, validated against PyTorch in
// lstm-torch.test.ts), from the same seed, on the same batches of a real text, 50 Adam steps:
// the loss at every step within relative 1e-4 and the final weights close. They differ only in
// float32 summation order (the native sgemm blocks K by its kc cache block and splits work
// differently from the WebAssembly mm; the cross-entropy rows and the norm sum in other
// orders), so each step's gradient differs by a few ulp of its terms; Adam normalises the
// update, and over 50 steps these differences stay within the stated bounds. Then `xent train`
// and `xent distill` with --backend native and --backend wasm, and the errors of --backend.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CounterRng } from '../../src/core/rng.js';
import { loadNativeTrain } from '../../src/kernels/native-train.js';
import { trainTokenizer } from '../../src/tokenizers/tokenizer-spec.js';
import { type ResolvedBackend, resolveTrainBackend } from '../../src/train/train-backend.js';
import { sampleBatch } from '../../src/train/trainer-data.js';
import { createLstmTrainable } from '../../src/train/trainer-lstm.js';
import { requires } from '../helpers/requires.js';
import { CLI, sharedPath } from '../helpers/shared.js';

const DATA = 'data/tinystories_valid_600k.txt';
const skipNative = requires({ shared: [DATA], native: true });
const skipCli = requires({ shared: [DATA], native: true, cli: true });
const skipDistill = requires({ shared: [DATA, 'models/stories260K.gguf'], native: true, cli: true });

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'xent-backends-'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('50 steps on the native and the WebAssembly trainer from one seed: same losses (rel 1e-4), close weights', {
  skip: skipNative,
}, async () => {
  const text = readFileSync(sharedPath(...DATA.split('/'))!, 'utf8').slice(0, 60_000);
  const tok = trainTokenizer('bpe:512', text);
  const tokens = tok.encode(text);
  const config = { V: tok.vocabSize, E: 32, H: 48, seed: 7 };
  const B = 8;
  const T = 24;
  const run = async (backend: ResolvedBackend, threads: number) => {
    const m = createLstmTrainable(config, { B, T, adam: { lr: 0.003 }, clip: 1, threads, backend });
    assert.equal(m.backend, backend.backend);
    const rng = new CounterRng(config.seed, 101);
    const losses: number[] = [];
    for (let s = 0; s < 50; s++) losses.push((await m.step(sampleBatch(tokens, B, T, rng))).loss);
    const params = Float32Array.from(m.params);
    m.close();
    return { losses, params };
  };
  const nt = loadNativeTrain()!;
  const native = await run({ backend: 'native', kernels: nt }, 2);
  const wasm = await run({ backend: 'wasm' }, 2);
  for (let s = 0; s < 50; s++) {
    const rel = Math.abs(native.losses[s]! - wasm.losses[s]!) / Math.abs(wasm.losses[s]!);
    assert.ok(rel <= 1e-4, `step ${s + 1}: native loss ${native.losses[s]} vs wasm ${wasm.losses[s]} (rel ${rel})`);
  }
  // the runs learned: the loss fell from ln V
  assert.ok(wasm.losses[49]! < wasm.losses[0]! - 0.5, `loss ${wasm.losses[0]} → ${wasm.losses[49]}`);
  // Weights: the gradients differ by float32 rounding (a few ulp of their terms), and Adam's
  // normalised updates carry that into the weights without amplifying it much over 50 steps
  // (measured here: ‖Δ‖ / ‖w‖ ≈ 6e-7, max |Δ| ≈ 2e-5). Bounds with a margin of ~10×:
  // ‖Δ‖₂ ≤ 1e-5·‖w‖₂ and no weight off by more than 2e-4 (a fifteenth of one step's lr).
  let d2 = 0;
  let w2 = 0;
  let dMax = 0;
  for (let i = 0; i < wasm.params.length; i++) {
    const d = native.params[i]! - wasm.params[i]!;
    d2 += d * d;
    w2 += wasm.params[i]! * wasm.params[i]!;
    dMax = Math.max(dMax, Math.abs(d));
  }
  const rel = Math.sqrt(d2 / w2);
  assert.ok(rel <= 1e-5, `‖native − wasm‖ / ‖wasm‖ = ${rel}`);
  assert.ok(dMax <= 2e-4, `max |native − wasm| = ${dMax}`);
  // and the same bits on 1 and 2 native threads (the kernels split work, not sums)
  const native1 = await run({ backend: 'native', kernels: nt }, 1);
  assert.deepEqual(native1.losses, native.losses);
  assert.deepEqual(native1.params, native.params);
});

function xent(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SMALL = ['--emb', '16', '--hidden', '32', '--seq', '24', '--batch', '8', '--lr', '0.01', '--eval-interval', '5'];

function corpus(): { train: string; val: string } {
  const text = readFileSync(sharedPath(...DATA.split('/'))!);
  const train = join(dir, 'train.txt');
  const val = join(dir, 'val.txt');
  writeFileSync(train, text.subarray(0, 60_000));
  writeFileSync(val, text.subarray(300_000, 306_000));
  return { train, val };
}

function curves(out: string): { train: { nats_per_token: number }[]; val: { nats_per_token: number }[] } {
  return JSON.parse(readFileSync(join(out, 'curves.json'), 'utf8'));
}

function sameCurves(a: string, b: string): void {
  const ca = curves(a);
  const cb = curves(b);
  assert.equal(ca.val.length, cb.val.length);
  for (const k of ['train', 'val'] as const)
    ca[k].forEach((p, i) => {
      const q = cb[k][i]!.nats_per_token;
      assert.ok(Math.abs(p.nats_per_token - q) <= 1e-4 * q, `${k}[${i}]: ${p.nats_per_token} vs ${q}`);
    });
}

test('xent train --backend native|wasm: the same curves, the backend recorded, model directories of one format', {
  skip: skipCli,
}, () => {
  const { train, val } = corpus();
  const outs: Record<string, string> = {};
  for (const backend of ['native', 'wasm']) {
    const out = join(dir, `train-${backend}`);
    outs[backend] = out;
    const r = xent([
      'train',
      '--data',
      train,
      '--val-data',
      val,
      '--vocab',
      'bpe:300',
      ...SMALL,
      '--steps',
      '15',
      '--backend',
      backend,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.backend, backend);
    assert.ok((j.tokens_per_second_with_validation as number) > 0);
    assert.equal(
      curves(out).train.length > 0 &&
        (JSON.parse(readFileSync(join(out, 'curves.json'), 'utf8')) as { settings: { backend: string } }).settings
          .backend,
      backend,
    );
  }
  sameCurves(outs.native!, outs.wasm!);
  const mj = (o: string) => readFileSync(join(o, 'model.json'), 'utf8');
  assert.deepEqual(Object.keys(JSON.parse(mj(outs.native!))), Object.keys(JSON.parse(mj(outs.wasm!))));
  assert.equal(
    readFileSync(join(outs.native!, 'weights.f32')).length,
    readFileSync(join(outs.wasm!, 'weights.f32')).length,
  );
  // a model trained natively scores with xent eval like any other
  const e = xent(['eval', '--model', outs.native!, '--data', val, '--json']);
  assert.equal(e.status, 0, e.stderr);
});

test('xent distill --backend native|wasm: a few steps give the same curves', { skip: skipDistill }, () => {
  const { train, val } = corpus();
  const outs: string[] = [];
  for (const backend of ['native', 'wasm']) {
    const out = join(dir, `distill-${backend}`);
    outs.push(out);
    const r = xent([
      'distill',
      '--teacher',
      sharedPath('models', 'stories260K.gguf')!,
      '--data',
      train,
      '--val-data',
      val,
      ...SMALL,
      '--steps',
      '6',
      '--backend',
      backend,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { backend: string }).backend, backend);
  }
  sameCurves(outs[0]!, outs[1]!);
});

test('--backend: an unknown name, and native where the binding is disabled, are one-line errors naming the fix', {
  skip: requires({ cli: true }),
}, () => {
  const bad = xent(['train', '--arch', 'lstm', '--backend', 'gpu', '--out', join(dir, 'bad')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^xent: train: --backend must be native or wasm, got "gpu"\n$/);
  const off = xent(['train', '--backend', 'native', '--out', join(dir, 'off')], { XENT_NATIVE: '0' });
  assert.equal(off.status, 2);
  assert.match(
    off.stderr,
    /^xent: train: --backend native: the native training kernels are unavailable \(disabled by XENT_NATIVE=0\)\. Fix: .*xent doctor.*\n$/,
  );
  assert.throws(() => resolveTrainBackend('train', 'tpu'), { code: 'invalid_argument' });
});
