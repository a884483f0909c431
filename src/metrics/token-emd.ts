/**
 * Earth mover's distance (Wasserstein-1 under a ground cost) between two next-token
 * distributions p and q over the same vocabulary of V tokens, given a token-distance
 * matrix C [V, V] (or a function (i, j) → cost):
 *
 *   EMD(p, q) = min_{T ≥ 0, T·1 = p, Tᵀ·1 = q} Σ_ij T_ij C_ij        (p, q normalised to sum 1)
 *
 * Unlike cross-entropy or KL, it gives partial credit for putting mass on tokens CLOSE to
 * the right ones. Only the supports matter: S = #{i : p_i > 0} rows and D = #{j : q_j > 0}
 * columns.
 *
 * method 'exact' (default when S·D ≤ 250 000): the transportation problem solved exactly by
 *   successive shortest paths with Johnson potentials on the complete bipartite graph
 *   (dense Dijkstra, O(S·D) per augmentation; each augmentation empties a supply, a demand
 *   or a reverse edge). Optimal to rounding (~1e-15 relative); errorBound = 0.
 * method 'sinkhorn' (default above that size): entropic optimal transport (Cuturi 2013),
 *   Sinkhorn iterations with regularisation ε = epsilon·max C (plain domain with the kernel
 *   exp(−C/ε) precomputed when max C/ε < 600, log domain otherwise), then the
 *   Altschuler–Weed–Rigollet (2017) rounding, which makes the plan exactly feasible. Hence
 *   the returned cost is ≥ the exact EMD, and at most
 *     EMD + ε·ln(S·D) + 3·max C·(‖T1 − p‖₁ + ‖Tᵀ1 − q‖₁)
 *   (entropic bias of a Sinkhorn plan for its own marginals, plus the rounding and the
 *   Lipschitz change of EMD in the marginals); that bound is returned as `errorBound`.
 *   Cost O(S·D) per iteration and O(S·D) memory. The bound is conservative: the ε·ln(S·D)
 *   term dominates (e.g. 0.16 reported where the true gap was 0.006 at S = D = 500, ε = 0.01·max C),
 *   so lower epsilon (and more iterations) for a tighter guarantee, or use 'exact'.
 * Measured here (`npm run bench -- metrics`, Node 20, one core, 2-D Euclidean costs, medians
 *   of 3): exact 16 ms at S = D = 100, 0.46 s at 300, 2.8 s at 500 (roughly cubic); Sinkhorn
 *   (ε = 0.01·max C, 500 iterations) 22 ms, 0.14 s, 0.54 s (quadratic per iteration).
 * For a whole vocabulary (V ≈ 32k–150k) neither fits in memory as a dense V×V plan: restrict
 * to the tokens that carry the mass (`topK`: the union of both distributions' top-k tokens,
 * renormalised; `droppedMass` reports what was cut), or, when tokens are embedded on a line
 * (1-D positions), use `tokenEmd1d`, which is exact in O(V log V).
 */

import { checkOptions } from '../core/check-options.js';
import { XentError } from '../core/errors.js';
import { NeumaierSum } from '../core/sum.js';
import type { Matrix } from '../core/tensor.js';
import { checkMatrix, describe } from '../core/tensor.js';
import { wassersteinDistance } from '../loss/wasserstein.js';
import { checkNumbers, checkSameLength } from './check.js';

export type TokenCost = Matrix | ((i: number, j: number) => number);

export interface TokenEmdOptions {
  method?: 'exact' | 'sinkhorn';
  /** Keep only the union of the top-k tokens of p and of q (renormalised). */
  topK?: number;
  /**
   * Sinkhorn regularisation relative to max C (default 0.01: fast plain-domain iterations; below
   * 1/600 the slower log domain is used). Smaller is closer to the exact EMD and needs more iterations.
   */
  epsilon?: number;
  /** Sinkhorn iteration cap (default 2000) and marginal tolerance in L1 (default 1e-9). */
  maxIterations?: number;
  tolerance?: number;
}

export interface TokenEmdResult {
  /** The transport cost, in the units of the cost matrix. */
  distance: number;
  method: 'exact' | 'sinkhorn';
  /** 0 for 'exact'; for 'sinkhorn' an upper bound on distance − exact EMD (≥ 0). */
  errorBound: number;
  /** Support sizes used (after topK). */
  rows: number;
  columns: number;
  /** Mass of p and q outside the kept tokens (0 without topK). */
  droppedMass: { p: number; q: number };
  /** Sinkhorn iterations run (0 for 'exact'). */
  iterations: number;
}

const EXACT_LIMIT = 250_000;

function topIndices(x: Float64Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > 0) idx.push(i);
  idx.sort((a, b) => (x[b] as number) - (x[a] as number) || a - b);
  return idx.slice(0, k);
}

/** EMD between next-token distributions p and q under the token cost C. */
export function tokenEmd(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  cost: TokenCost,
  options?: TokenEmdOptions,
): TokenEmdResult {
  const op = 'tokenEmd';
  const o = checkOptions(op, options);
  const a0 = checkNumbers(op, 'p', p, { min: 0 });
  const b0 = checkNumbers(op, 'q', q, { min: 0 });
  checkSameLength(op, 'q', b0.length, 'p', a0.length);
  const V = a0.length;
  let costAt: (i: number, j: number) => number;
  if (typeof cost === 'function') costAt = cost;
  else {
    const [r, c] = checkMatrix(op, 'cost', cost);
    if (r !== V || c !== V) {
      throw new XentError(
        'shape_mismatch',
        op,
        `cost.shape [${r}, ${c}] must be [V, V] = [${V}, ${V}] for distributions of length ${V}`,
        {
          arg: 'cost',
          expected: [V, V],
          actual: [r, c],
        },
      );
    }
    const d = cost.data;
    costAt = (i, j) => d[i * V + j] as number;
  }
  const norm = (x: Float64Array, arg: string): number => {
    const s = new NeumaierSum();
    for (const v of x) s.add(v);
    if (!(s.value > 0))
      throw new XentError('invalid_argument', op, `${arg} sums to 0; it cannot be normalised`, { arg });
    return s.value;
  };
  const sa = norm(a0, 'p');
  const sb = norm(b0, 'q');
  let rows: number[];
  let cols: number[];
  if (o.topK !== undefined) {
    if (!Number.isInteger(o.topK) || o.topK < 1)
      throw new XentError('invalid_argument', op, `topK must be an integer ≥ 1, got ${describe(o.topK)}`, {
        arg: 'topK',
      });
    const keep = new Set([...topIndices(a0, o.topK), ...topIndices(b0, o.topK)]);
    rows = [...keep].filter((i) => (a0[i] as number) > 0).sort((x, y) => x - y);
    cols = [...keep].filter((j) => (b0[j] as number) > 0).sort((x, y) => x - y);
  } else {
    rows = [];
    cols = [];
    for (let i = 0; i < V; i++) {
      if ((a0[i] as number) > 0) rows.push(i);
      if ((b0[i] as number) > 0) cols.push(i);
    }
  }
  const keptA = rows.reduce((s, i) => s + (a0[i] as number), 0);
  const keptB = cols.reduce((s, j) => s + (b0[j] as number), 0);
  const a = Float64Array.from(rows, (i) => (a0[i] as number) / keptA);
  const b = Float64Array.from(cols, (j) => (b0[j] as number) / keptB);
  const S = rows.length;
  const D = cols.length;
  const C = new Float64Array(S * D);
  let maxC = 0;
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < D; t++) {
      const c = costAt(rows[s] as number, cols[t] as number);
      if (typeof c !== 'number' || !Number.isFinite(c)) {
        throw new XentError('non_finite', op, `cost[${rows[s]}, ${cols[t]}] is ${String(c)}; costs must be finite`, {
          arg: 'cost',
          row: rows[s],
          column: cols[t],
          value: c,
        });
      }
      if (c < 0)
        throw new XentError(
          'invalid_argument',
          op,
          `cost[${rows[s]}, ${cols[t]}] = ${c} is negative; a token distance is ≥ 0`,
          { arg: 'cost', row: rows[s], column: cols[t], value: c },
        );
      C[s * D + t] = c;
      if (c > maxC) maxC = c;
    }
  }
  const method = o.method ?? (S * D <= EXACT_LIMIT ? 'exact' : 'sinkhorn');
  const dropped = { p: 1 - keptA / sa, q: 1 - keptB / sb };
  if (method === 'exact') {
    return {
      distance: exactTransport(a, b, C),
      method,
      errorBound: 0,
      rows: S,
      columns: D,
      droppedMass: dropped,
      iterations: 0,
    };
  }
  if (method !== 'sinkhorn')
    throw new XentError('invalid_argument', op, `method must be 'exact' or 'sinkhorn', got ${describe(method)}`, {
      arg: 'method',
    });
  const eps = o.epsilon ?? 1e-2;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps))
    throw new XentError('invalid_argument', op, `epsilon must be a finite number > 0, got ${describe(eps)}`, {
      arg: 'epsilon',
    });
  const maxIter = o.maxIterations ?? 2000;
  if (!Number.isInteger(maxIter) || maxIter < 1)
    throw new XentError('invalid_argument', op, `maxIterations must be an integer ≥ 1, got ${describe(maxIter)}`, {
      arg: 'maxIterations',
    });
  const tol = o.tolerance ?? 1e-9;
  if (typeof tol !== 'number' || !(tol >= 0))
    throw new XentError('invalid_argument', op, `tolerance must be a number ≥ 0, got ${describe(tol)}`, {
      arg: 'tolerance',
    });
  // The transport cost is linear in C: iterate on C / max C, so that ε·max C cannot underflow
  // (costs of 5e-324 made ε = 0 and the plan NaN), and scale the result back.
  const scale = maxC > 0 ? maxC : 1;
  const r = sinkhorn(a, b, scale === 1 ? C : C.map((c) => c / scale), maxC > 0 ? 1 : 0, eps, maxIter, tol);
  return {
    distance: r.cost * scale,
    method,
    errorBound: r.bound * scale,
    rows: S,
    columns: D,
    droppedMass: dropped,
    iterations: r.iterations,
  };
}

/**
 * Exact transportation cost by successive shortest paths. a: supplies [S], b: demands [D]
 * (both summing to 1 up to rounding), C: costs [S, D] ≥ 0. Nodes 0..S−1 are sources,
 * S..S+D−1 sinks; reduced costs stay ≥ 0 thanks to the potentials, so Dijkstra applies.
 */
function exactTransport(a: Float64Array, b: Float64Array, C: Float64Array): number {
  const S = a.length;
  const D = b.length;
  const N = S + D;
  const supply = Float64Array.from(a);
  const demand = Float64Array.from(b);
  const flow = new Float64Array(S * D);
  const pot = new Float64Array(N); // potentials: sources 0, sinks min_i C_ij ⇒ C_ij + pot_i − pot_j ≥ 0
  for (let t = 0; t < D; t++) {
    let m = Infinity;
    for (let s = 0; s < S; s++) m = Math.min(m, C[s * D + t] as number);
    pot[S + t] = m;
  }
  // Every positive mass is moved, however small (softmax tails reach 1e-30 and below); the loop
  // ends when no demand is left to reach, which also absorbs the ulp-level mismatch between
  // Σp and Σq after normalisation.
  const TINY = 0;
  let remaining = Math.min(
    a.reduce((x, y) => x + y, 0),
    b.reduce((x, y) => x + y, 0),
  );
  const dist = new Float64Array(N);
  const prev = new Int32Array(N);
  const done = new Uint8Array(N);
  for (let iter = 0; remaining > TINY && iter < 4 * N * N + 16; iter++) {
    dist.fill(Infinity);
    prev.fill(-1);
    done.fill(0);
    for (let s = 0; s < S; s++) if ((supply[s] as number) > TINY) dist[s] = 0;
    let target = -1;
    for (;;) {
      let u = -1;
      let du = Infinity;
      for (let v = 0; v < N; v++) if (!done[v] && (dist[v] as number) < du) (du = dist[v] as number), (u = v);
      if (u < 0) break;
      done[u] = 1;
      if (u >= S && (demand[u - S] as number) > TINY) {
        target = u;
        break;
      }
      if (u < S) {
        const pu = pot[u] as number;
        for (let t = 0; t < D; t++) {
          const v = S + t;
          if (done[v]) continue;
          const nd = du + (C[u * D + t] as number) + pu - (pot[v] as number);
          if (nd < (dist[v] as number)) (dist[v] = nd), (prev[v] = u);
        }
      } else {
        const t = u - S;
        const pu = pot[u] as number;
        for (let s = 0; s < S; s++) {
          if (done[s] || !((flow[s * D + t] as number) > 0)) continue;
          const nd = du - (C[s * D + t] as number) + pu - (pot[s] as number);
          if (nd < (dist[s] as number)) (dist[s] = nd), (prev[s] = u);
        }
      }
    }
    if (target < 0) break; // no augmenting path: the remaining mass is rounding residue
    const dt = dist[target] as number;
    for (let v = 0; v < N; v++) pot[v] = (pot[v] as number) + Math.min(dist[v] as number, dt);
    // Bottleneck along the path target ← … ← source.
    let delta = demand[target - S] as number;
    let v = target;
    while (prev[v] !== -1) {
      const u = prev[v] as number;
      if (u >= S) delta = Math.min(delta, flow[v * D + (u - S)] as number); // reverse edge sink u → source v
      v = u;
    }
    delta = Math.min(delta, supply[v] as number);
    supply[v] = (supply[v] as number) - delta;
    demand[target - S] = (demand[target - S] as number) - delta;
    v = target;
    while (prev[v] !== -1) {
      const u = prev[v] as number;
      if (u < S) flow[u * D + (v - S)] = (flow[u * D + (v - S)] as number) + delta;
      else flow[v * D + (u - S)] = Math.max(0, (flow[v * D + (u - S)] as number) - delta);
      v = u;
    }
    remaining -= delta;
  }
  const total = new NeumaierSum();
  for (let k = 0; k < flow.length; k++) {
    const f = flow[k] as number;
    if (f > 0) total.add(f * (C[k] as number));
  }
  return total.value;
}

function logSumExp(xs: Float64Array, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if ((xs[i] as number) > m) m = xs[i] as number;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp((xs[i] as number) - m);
  return m + Math.log(s);
}

/** Log-domain Sinkhorn + rounding; returns the rounded plan's cost and the error bound. */
function sinkhorn(
  a: Float64Array,
  b: Float64Array,
  C: Float64Array,
  maxC: number,
  epsRel: number,
  maxIter: number,
  tol: number,
): { cost: number; bound: number; iterations: number } {
  const S = a.length;
  const D = b.length;
  const eps = epsRel * (maxC > 0 ? maxC : 1);
  const f = new Float64Array(S); // dual potentials: T_ij = exp((f_i + g_j − C_ij)/ε)
  const g = new Float64Array(D);
  const la = a.map(Math.log);
  const lb = b.map(Math.log);
  const tmpD = new Float64Array(D);
  const tmpS = new Float64Array(S);
  const plan = (i: number, j: number): number =>
    Math.exp(((f[i] as number) + (g[j] as number) - (C[i * D + j] as number)) / eps);
  let it = 0;
  let err = Infinity;
  if (maxC / eps < 600) {
    // exp(−C/ε) ≥ e^−600 cannot underflow: plain-domain Sinkhorn (u ← a / K v, v ← b / Kᵀu) with the
    // kernel computed once — the same iterates as the log domain (f = ε ln u, g = ε ln v), without an
    // exp and a log per entry per iteration.
    const K = C.map((c) => Math.exp(-c / eps));
    const u = new Float64Array(S).fill(1);
    const v = new Float64Array(D).fill(1);
    for (; it < maxIter; it++) {
      for (let i = 0; i < S; i++) {
        let kv = 0;
        for (let j = 0; j < D; j++) kv += (K[i * D + j] as number) * (v[j] as number);
        u[i] = (a[i] as number) / kv;
      }
      tmpD.fill(0);
      for (let i = 0; i < S; i++) {
        const ui = u[i] as number;
        for (let j = 0; j < D; j++) tmpD[j] = (tmpD[j] as number) + (K[i * D + j] as number) * ui;
      }
      for (let j = 0; j < D; j++) v[j] = (b[j] as number) / (tmpD[j] as number);
      if (it % 10 === 9 || it === maxIter - 1) {
        err = 0;
        for (let i = 0; i < S; i++) {
          let r = 0;
          for (let j = 0; j < D; j++) r += (K[i * D + j] as number) * (v[j] as number);
          err += Math.abs((u[i] as number) * r - (a[i] as number));
        }
        if (err <= tol) {
          it++;
          break;
        }
      }
    }
    for (let i = 0; i < S; i++) f[i] = eps * Math.log(u[i] as number);
    for (let j = 0; j < D; j++) g[j] = eps * Math.log(v[j] as number);
  } else
    for (; it < maxIter; it++) {
      for (let i = 0; i < S; i++) {
        for (let j = 0; j < D; j++) tmpD[j] = ((g[j] as number) - (C[i * D + j] as number)) / eps;
        f[i] = eps * ((la[i] as number) - logSumExp(tmpD, D));
      }
      for (let j = 0; j < D; j++) {
        for (let i = 0; i < S; i++) tmpS[i] = ((f[i] as number) - (C[i * D + j] as number)) / eps;
        g[j] = eps * ((lb[j] as number) - logSumExp(tmpS, S));
      }
      // After the g update the column marginals are exact; check the rows.
      if (it % 10 === 9 || it === maxIter - 1) {
        err = 0;
        for (let i = 0; i < S; i++) {
          let r = 0;
          for (let j = 0; j < D; j++) r += plan(i, j);
          err += Math.abs(r - (a[i] as number));
        }
        if (err <= tol) {
          it++;
          break;
        }
      }
    }
  // Marginal errors of the final iterate F, then Altschuler et al. (2017) Algorithm 2 rounding.
  const F = new Float64Array(S * D);
  for (let i = 0; i < S; i++) for (let j = 0; j < D; j++) F[i * D + j] = plan(i, j);
  const rowSum = (M: Float64Array): Float64Array => {
    const r = new Float64Array(S);
    for (let i = 0; i < S; i++) for (let j = 0; j < D; j++) r[i] = (r[i] as number) + (M[i * D + j] as number);
    return r;
  };
  const colSum = (M: Float64Array): Float64Array => {
    const c = new Float64Array(D);
    for (let i = 0; i < S; i++) for (let j = 0; j < D; j++) c[j] = (c[j] as number) + (M[i * D + j] as number);
    return c;
  };
  let r = rowSum(F);
  let c = colSum(F);
  let dr = 0;
  let dc = 0;
  for (let i = 0; i < S; i++) dr += Math.abs((r[i] as number) - (a[i] as number));
  for (let j = 0; j < D; j++) dc += Math.abs((c[j] as number) - (b[j] as number));
  for (let i = 0; i < S; i++) {
    const x = Math.min(1, (a[i] as number) / (r[i] as number));
    for (let j = 0; j < D; j++) F[i * D + j] = (F[i * D + j] as number) * x;
  }
  c = colSum(F);
  for (let j = 0; j < D; j++) {
    const y = Math.min(1, (b[j] as number) / (c[j] as number));
    for (let i = 0; i < S; i++) F[i * D + j] = (F[i * D + j] as number) * y;
  }
  r = rowSum(F);
  c = colSum(F);
  const errR = Float64Array.from(a, (x, i) => Math.max(0, x - (r[i] as number)));
  const errC = Float64Array.from(b, (x, j) => Math.max(0, x - (c[j] as number)));
  const errMass = errC.reduce((x, y) => x + y, 0);
  const cost = new NeumaierSum();
  for (let i = 0; i < S; i++) {
    for (let j = 0; j < D; j++) {
      let t = F[i * D + j] as number;
      if (errMass > 0) t += ((errR[i] as number) * (errC[j] as number)) / errMass;
      cost.add(t * (C[i * D + j] as number));
    }
  }
  return { cost: cost.value, bound: eps * Math.log(S * D) + 3 * maxC * (dr + dc), iterations: it };
}

/**
 * Exact EMD when every token has a position on a line (a 1-D embedding): the cost is
 * |x_i − x_j| and the EMD is scipy's wasserstein_distance(x, x, p, q), O(V log V).
 */
export function tokenEmd1d(p: ArrayLike<number>, q: ArrayLike<number>, positions: ArrayLike<number>): number {
  const op = 'tokenEmd1d';
  const x = checkNumbers(op, 'positions', positions);
  checkSameLength(op, 'p', p.length, 'positions', x.length);
  checkSameLength(op, 'q', q.length, 'positions', x.length);
  return wassersteinDistance(x, x, p, q);
}
