/**
 * `npm run bench -- ce [--reps N] [--shapes 8192x32000,2048x128256] [--threads 1,2] [--json]`
 *
 * xent's cross-entropy kernels and PyTorch's F.cross_entropy side by side, in one run, on the
 * same machine: float32 logits [N, V], forward and forward+backward, 1 and 2 threads, plus the
 * time to read the logits once (xent: a SIMD sum in the same kernels; PyTorch: logits.sum(),
 * the floor named in ../shared/reference/README.md). Every configuration runs in its own fresh
 * process (xent: `xent bench ce`, PyTorch: ../shared/bench/torch_ce_bench.py, which also spawns
 * one process per op), so peak RSS is per configuration.
 *
 * xent's setup, stated in the table: logits live in the kernels' shared memory (allocFloat32, no
 * copy per call) and forward+backward writes the gradient into one buffer allocated before the
 * timing (PyTorch's ce_fwdbwd allocates its gradient every call: both are shown, with
 * PyTorch's reused-buffer variant ce_fwdbwd_prealloc_analytic for reference).
 *
 * Needs Debian's python3-torch at /usr/bin/python3 (XENT_PYTHON overrides) and ../shared
 * (XENT_SHARED overrides); without them it prints xent alone and says why.
 * Timings on shared machines drift: read the ratios, which come from the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = resolve(process.env.XENT_SHARED ?? join(ROOT, '..', 'shared'));
const PYTHON = process.env.XENT_PYTHON ?? '/usr/bin/python3';
const TORCH_SCRIPT = join(SHARED, 'bench', 'torch_ce_bench.py');

interface Args {
  reps: number;
  shapes: Array<[number, number]>;
  threads: number[];
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    reps: 5,
    shapes: [
      [8192, 32000],
      [2048, 128256],
    ],
    threads: [1, 2],
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--json') a.json = true;
    else if (k === '--reps' && v) (a.reps = Number(v)), i++;
    else if (k === '--shapes' && v)
      (a.shapes = v.split(',').map((s) => s.toLowerCase().split('x').map(Number) as [number, number])), i++;
    else if (k === '--threads' && v) (a.threads = v.split(',').map(Number)), i++;
    else {
      console.error(
        `bench ce: unknown argument ${k}\nusage: npm run bench -- ce [--reps N] [--shapes 8192x32000,2048x128256] [--threads 1,2] [--json]`,
      );
      process.exit(2);
    }
  }
  if (
    !Number.isInteger(a.reps) ||
    a.reps < 1 ||
    a.shapes.some(([n, v]) => !(n > 0 && v > 0)) ||
    a.threads.some((t) => !(t >= 1))
  ) {
    console.error('bench ce: --reps, --shapes and --threads need positive integers');
    process.exit(2);
  }
  return a;
}

interface XentRun {
  op: string;
  threads: number;
  median_s: number;
  min_s: number;
  peak_rss_bytes: number;
  extra_peak_bytes: number;
  logits_bytes: number;
}

/** Node 20 accepts relaxed SIMD (fused multiply-add) only behind this flag; Node ≥ 22 has it on. */
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

function relaxedNeedsFlag(): boolean {
  const wasm = join(ROOT, 'dist', 'kernels', 'ce-relaxed.wasm');
  if (!existsSync(wasm)) return false;
  const probe = `process.exit(WebAssembly.validate(require('node:fs').readFileSync(${JSON.stringify(wasm)})) ? 0 : 1)`;
  const plain = spawnSync(process.execPath, ['-e', probe]).status === 0;
  if (plain) return false; // on by default: every xent row already uses it
  return spawnSync(process.execPath, [RELAXED_FLAG, '-e', probe]).status === 0;
}

function xent(
  n: number,
  v: number,
  op: string,
  threads: number,
  reps: number,
  extra: string[] = [],
  nodeFlags: string[] = [],
): XentRun {
  const dist = join(ROOT, 'dist', 'cli', 'main.js');
  // The built CLI (npm run bench builds it first); from source when dist/ predates the command.
  const cmd = existsSync(join(ROOT, 'dist', 'cli', 'bench.js'))
    ? [dist]
    : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
  const args = [
    ...cmd,
    'bench',
    'ce',
    '--rows',
    String(n),
    '--vocab',
    String(v),
    '--threads',
    String(threads),
    '--op',
    op,
    '--reps',
    String(reps),
    '--json',
    ...extra,
  ];
  const r = spawnSync(process.execPath, [...nodeFlags, ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xent bench ce ${op} ${n}x${v} t=${threads} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as XentRun;
}

interface TorchOp {
  op: string;
  threads: Record<string, { median_s: number; min_s: number }>;
  peak_rss_bytes: number;
  rss_after_alloc_bytes: number;
  skipped?: string;
  failed?: string;
}

function torchAvailable(): string {
  if (!existsSync(TORCH_SCRIPT)) return `${TORCH_SCRIPT} is absent (set XENT_SHARED)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0)
    return `${PYTHON} cannot import torch (apt-get install python3-torch): ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return '';
}

function torch(n: number, v: number, ops: string, threads: number[], reps: number): Map<string, TorchOp> {
  const dir = mkdtempSync(join(tmpdir(), 'xent-bench-ce-'));
  try {
    const json = join(dir, 'torch.json');
    const r = spawnSync(
      PYTHON,
      [
        TORCH_SCRIPT,
        '--shapes',
        `${n}x${v}`,
        '--ops',
        ops,
        '--threads',
        threads.join(','),
        '--reps',
        String(reps),
        '--warmup',
        '1',
        '--budget-gib',
        '12',
        '--json',
        json,
      ],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`torch_ce_bench.py failed: ${r.stderr.trim().split('\n').pop()}`);
    // Python's json writes NaN / Infinity as bare tokens (its instability demo has some): not JSON.
    const text = readFileSync(json, 'utf8').replace(/-?\bInfinity\b|\bNaN\b/g, 'null');
    const out = JSON.parse(text) as { results: TorchOp[]; env: { torch: string } };
    return new Map(out.results.map((x) => [x.op, x]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const s = (x: number | undefined): string => (x === undefined ? '—' : `${x.toFixed(4)} s`);
const gib = (b: number | undefined): string => (b === undefined ? '—' : `${(b / 2 ** 30).toFixed(2)} GiB`);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}×`;

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const why = torchAvailable();
  const relaxed = relaxedNeedsFlag();
  const rows: string[][] = [];
  const records: unknown[] = [];
  const checks: string[] = [];
  const started = new Date().toISOString();
  for (const [n, v] of a.shapes) {
    const shape = `${n}×${v}`;
    // PyTorch and xent alternate op by op, so load drift on a shared machine hits both alike.
    const t = new Map<string, TorchOp>();
    const torchOps = (ops: string): void => {
      if (why) return;
      process.stderr.write(`bench ce: ${shape}: PyTorch ${ops}…\n`);
      for (const [k, r] of torch(n, v, ops, a.threads, a.reps)) t.set(k, r);
    };
    const tmed = (op: string, th: number): number | undefined => t.get(op)?.threads?.[String(th)]?.median_s;
    const textra = (op: string): number | undefined => {
      const r = t.get(op);
      return r && r.peak_rss_bytes !== undefined ? r.peak_rss_bytes - r.rss_after_alloc_bytes : undefined;
    };
    torchOps('sum');
    process.stderr.write(`bench ce: ${shape}: xent read…\n`);
    for (const th of a.threads) {
      const read = xent(n, v, 'read', th, a.reps);
      rows.push([
        shape,
        'read once',
        String(th),
        s(read.median_s),
        `${s(tmed('sum', th))} (sum)`,
        ratio(tmed('sum', th), read.median_s),
        '',
        '',
      ]);
      records.push({ shape: [n, v], op: 'read', threads: th, xent: read, torch_sum_median_s: tmed('sum', th) });
    }
    for (const op of ['fwd', 'fwdbwd'] as const) {
      const top = op === 'fwd' ? 'ce_fwd' : 'ce_fwdbwd';
      torchOps(op === 'fwd' ? 'ce_fwd' : 'ce_fwdbwd,ce_fwdbwd_prealloc_analytic');
      process.stderr.write(`bench ce: ${shape}: xent ${op}…\n`);
      for (const th of a.threads) {
        const r = xent(n, v, op, th, a.reps);
        rows.push([
          shape,
          op,
          String(th),
          s(r.median_s),
          s(tmed(top, th)),
          ratio(tmed(top, th), r.median_s),
          gib(r.extra_peak_bytes),
          gib(textra(top)),
        ]);
        records.push({
          shape: [n, v],
          op,
          threads: th,
          xent: r,
          torch: t.get(top)?.threads?.[String(th)],
          torch_extra_peak_bytes: textra(top),
        });
        if (op === 'fwdbwd' && !why) {
          const pre = tmed('ce_fwdbwd_prealloc_analytic', th);
          rows.push([
            shape,
            '  torch prealloc',
            String(th),
            '',
            s(pre),
            ratio(pre, r.median_s),
            '',
            gib(textra('ce_fwdbwd_prealloc_analytic')),
          ]);
        }
        if (th === Math.max(...a.threads)) {
          // The same op from ordinary arrays: logits copied into wasm memory per call (fwd), or a
          // fresh gradient array per call (fwdbwd, what `grad: true` returns; page faults included).
          const variant = op === 'fwd' ? ['--input', 'copy'] : ['--grad', 'fresh'];
          const rv = xent(n, v, op, th, a.reps, variant);
          const label = op === 'fwd' ? '  fwd, copy input' : '  fwdbwd, fresh grad';
          rows.push([
            shape,
            label,
            String(th),
            s(rv.median_s),
            s(tmed(top, th)),
            ratio(tmed(top, th), rv.median_s),
            gib(rv.extra_peak_bytes),
            gib(textra(top)),
          ]);
          records.push({
            shape: [n, v],
            op,
            variant: variant.join(' '),
            threads: th,
            xent: rv,
            torch: t.get(top)?.threads?.[String(th)],
          });
          if (relaxed) {
            // The relaxed-SIMD build (fused multiply-add), which Node 20 runs only behind a flag.
            const rr = xent(n, v, op, th, a.reps, [], [RELAXED_FLAG]);
            rows.push([
              shape,
              `  ${op}, relaxed SIMD`,
              String(th),
              s(rr.median_s),
              s(tmed(top, th)),
              ratio(tmed(top, th), rr.median_s),
              gib(rr.extra_peak_bytes),
              gib(textra(top)),
            ]);
            records.push({
              shape: [n, v],
              op,
              variant: RELAXED_FLAG,
              threads: th,
              xent: rr,
              torch: t.get(top)?.threads?.[String(th)],
            });
            if (op === 'fwd' && !why && tmed('sum', th) !== undefined) {
              const f = rr.median_s / (tmed('sum', th) as number);
              checks.push(
                `${shape} fwd, ${th} threads, relaxed SIMD (${RELAXED_FLAG}): ${f.toFixed(2)}× PyTorch's read of the logits (target ≤ 3×) ${f <= 3 ? 'MET' : 'NOT MET'}`,
              );
            }
          }
        }
        if (th === 2 && !why) {
          const sp = (tmed(top, th) ?? NaN) / r.median_s;
          const need = op === 'fwd' ? 3 : 4;
          checks.push(
            `${shape} ${op}, 2 threads: ${sp.toFixed(2)}× faster than PyTorch (target ≥ ${need}×) ${sp >= need ? 'MET' : 'NOT MET'}`,
          );
          if (op === 'fwd') {
            const floor = tmed('sum', 2);
            if (floor !== undefined) {
              const f = r.median_s / floor;
              checks.push(
                `${shape} fwd, 2 threads: ${f.toFixed(2)}× PyTorch's read of the logits (logits.sum(), target ≤ 3×) ${f <= 3 ? 'MET' : 'NOT MET'}`,
              );
            }
          } else {
            const grad = r.logits_bytes;
            const ok = r.extra_peak_bytes <= grad + 64 * n + 32 * 2 ** 20;
            checks.push(
              `${shape} fwdbwd: peak extra memory ${gib(r.extra_peak_bytes)} vs gradient buffer ${gib(grad)} + O(N) ${ok ? 'MET' : 'NOT MET'}`,
            );
          }
        }
      }
    }
  }
  if (a.json) {
    process.stdout.write(
      `${JSON.stringify({ started, torch: why || 'ok', reps: a.reps, results: records, checks }, null, 1)}\n`,
    );
    return;
  }
  const head = [
    'N×V',
    'op',
    'thr',
    'xent median',
    'PyTorch median',
    'PyTorch/xent',
    'xent extra RSS',
    'PyTorch extra RSS',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  process.stdout.write(
    `xent vs PyTorch cross-entropy, float32, median of ${a.reps} runs after 1 warm-up, fresh process per configuration (${started})\n`,
  );
  if (why) process.stdout.write(`PyTorch not run: ${why}. xent alone:\n`);
  process.stdout.write(
    `${pad(head, widths)}\n${pad(
      widths.map((w) => '-'.repeat(w)),
      widths,
    )}\n`,
  );
  for (const r of rows) process.stdout.write(`${pad(r, widths)}\n`);
  process.stdout.write(
    '\nxent: logits in the kernels\' shared memory (allocFloat32), gradient into one reused buffer (counted in "extra RSS"); ' +
      'PyTorch ce_fwdbwd allocates its gradient per call, "torch prealloc" reuses one (ce_fwdbwd_prealloc_analytic).\n' +
      '"fwd, copy input": logits in an ordinary Float32Array, copied into wasm memory a block at a time per call; ' +
      '"fwdbwd, fresh grad": a new gradient array per call (grad: true), its page faults included.\n' +
      '"read once": xent = SIMD sum of the logits in the same kernels; PyTorch = logits.sum().\n' +
      (relaxed
        ? `"relaxed SIMD": the same call run with node ${RELAXED_FLAG} (fused multiply-add kernels; on by default from Node 22).\n`
        : ''),
  );
  if (checks.length) process.stdout.write(`\nTargets:\n${checks.map((c) => `  ${c}`).join('\n')}\n`);
}

main();
