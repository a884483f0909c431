// WebAssembly SIMD kernels of the LSTM language model trainer (src/train/fast-trainer.ts).
// AssemblyScript; compiled twice: plain SIMD (train-kernels.wasm) and with relaxed SIMD
// fused multiply-add (train-kernels-relaxed.wasm). Memory is imported and shared with
// worker threads; every pointer is a byte offset into it, every array f32 row-major.
// Each parallel kernel takes (part, nparts) and does its share of the work, so the
// same call runs on the main thread and on each worker. The plain TypeScript
// reference these are validated against: src/train/matmul.ts, src/train/lstm-grad.ts,
// src/train/output-ce.ts, src/train/adam.ts.

// ---------- helpers ----------

// a·b + c: fused on relaxed SIMD builds (one rounding), mul then add otherwise.
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** [lo, hi) of `n` items for this part, in multiples of `align`. */
@inline function rangeLo(n: i32, align: i32, part: i32, nparts: i32): i32 {
  const blocks = (n + align - 1) / align;
  return min(n, <i32>((<i64>blocks * part) / nparts) * align);
}

// exp on 4 lanes: x = k·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 Taylor polynomial
// (error < 2e-7 relative), 2^k by building the exponent bits. Inputs are clamped to
// [-87, 88] so the result stays a normal float (e^-87 ≈ 1.6e-38 stands in for 0).
@inline function expv(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const k = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(k, f32x4.splat(0.693145751953125)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(1.428606765330187045e-6)));
  let p = f32x4.splat(1.0 / 720.0);
  p = madd(p, r, f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.mul(p, e);
}

@inline function sigm(x: f32): f32 {
  return 1.0 / (1.0 + Mathf.exp(-x));
}

// ---------- matrix product ----------

const KB: i32 = 512; // k-block: a 4-row A tile (8 KB) and a W tile stay in L1
const NB: i32 = 48; // n-block: NB rows of W (≤ 96 KB at KB = 512) stay in L2 across all m

/**
 * out[m, n] = (acc ? out[m, n] : 0) + (bias ? bias[n] : 0) + Σ_k a[m, k]·w[n, k]
 * a: [M, K], w: [N, K], out: [M, N]. The larger of M and N is split across parts.
 */
export function mm_abt(out: usize, a: usize, w: usize, bias: usize, M: i32, K: i32, N: i32, acc: i32, part: i32, nparts: i32): void {
  let m0 = 0, m1 = M, n0 = 0, n1 = N;
  if (M >= N) { m0 = rangeLo(M, 4, part, nparts); m1 = rangeLo(M, 4, part + 1, nparts); }
  else { n0 = rangeLo(N, 2, part, nparts); n1 = rangeLo(N, 2, part + 1, nparts); }
  if (m0 >= m1 || n0 >= n1) return;
  const K4 = K & ~3;
  for (let k0 = 0; k0 < K; k0 += KB) {
    const k1 = min(K, k0 + KB);
    const k14 = min(K4, k1);
    const first = k0 == 0 && acc == 0;
    const last = k1 == K;
    for (let nb = n0; nb < n1; nb += NB) {
      const nbEnd = min(n1, nb + NB);
      let m = m0;
      for (; m + 4 <= m1; m += 4) {
        const a0 = a + (<usize>(m * K) << 2), a1 = a0 + (<usize>K << 2), a2 = a1 + (<usize>K << 2), a3 = a2 + (<usize>K << 2);
        let n = nb;
        for (; n + 2 <= nbEnd; n += 2) {
          const w0 = w + (<usize>(n * K) << 2), w1 = w0 + (<usize>K << 2);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
          let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
          let k = k0;
          for (; k < k14; k += 4) {
            const o = <usize>k << 2;
            const x0 = v128.load(w0 + o), x1 = v128.load(w1 + o);
            const y0 = v128.load(a0 + o), y1 = v128.load(a1 + o), y2 = v128.load(a2 + o), y3 = v128.load(a3 + o);
            c00 = madd(y0, x0, c00); c01 = madd(y0, x1, c01);
            c10 = madd(y1, x0, c10); c11 = madd(y1, x1, c11);
            c20 = madd(y2, x0, c20); c21 = madd(y2, x1, c21);
            c30 = madd(y3, x0, c30); c31 = madd(y3, x1, c31);
          }
          let s00 = hsum(c00), s01 = hsum(c01), s10 = hsum(c10), s11 = hsum(c11);
          let s20 = hsum(c20), s21 = hsum(c21), s30 = hsum(c30), s31 = hsum(c31);
          for (; k < k1; k++) {
            const o = <usize>k << 2;
            const x0 = load<f32>(w0 + o), x1 = load<f32>(w1 + o);
            const y0 = load<f32>(a0 + o), y1 = load<f32>(a1 + o), y2 = load<f32>(a2 + o), y3 = load<f32>(a3 + o);
            s00 += y0 * x0; s01 += y0 * x1; s10 += y1 * x0; s11 += y1 * x1;
            s20 += y2 * x0; s21 += y2 * x1; s30 += y3 * x0; s31 += y3 * x1;
          }
          const po = out + (<usize>(m * N + n) << 2);
          const st = <usize>N << 2;
          if (first) {
            store<f32>(po, s00); store<f32>(po + 4, s01);
            store<f32>(po + st, s10); store<f32>(po + st + 4, s11);
            store<f32>(po + 2 * st, s20); store<f32>(po + 2 * st + 4, s21);
            store<f32>(po + 3 * st, s30); store<f32>(po + 3 * st + 4, s31);
          } else {
            store<f32>(po, load<f32>(po) + s00); store<f32>(po + 4, load<f32>(po + 4) + s01);
            store<f32>(po + st, load<f32>(po + st) + s10); store<f32>(po + st + 4, load<f32>(po + st + 4) + s11);
            store<f32>(po + 2 * st, load<f32>(po + 2 * st) + s20); store<f32>(po + 2 * st + 4, load<f32>(po + 2 * st + 4) + s21);
            store<f32>(po + 3 * st, load<f32>(po + 3 * st) + s30); store<f32>(po + 3 * st + 4, load<f32>(po + 3 * st + 4) + s31);
          }
        }
        for (; n < nbEnd; n++) for (let r = 0; r < 4; r++) dotInto(out, a, w, m + r, n, K, N, k0, k1, first);
      }
      for (; m < m1; m++) for (let n = nb; n < nbEnd; n++) dotInto(out, a, w, m, n, K, N, k0, k1, first);
    }
    if (last && bias != 0) {
      for (let m = m0; m < m1; m++) {
        const po = out + (<usize>(m * N) << 2);
        for (let n = n0; n < n1; n++) store<f32>(po + (<usize>n << 2), load<f32>(po + (<usize>n << 2)) + load<f32>(bias + (<usize>n << 2)));
      }
    }
  }
}

function dotInto(out: usize, a: usize, w: usize, m: i32, n: i32, K: i32, N: i32, k0: i32, k1: i32, first: bool): void {
  const ap = a + (<usize>(m * K) << 2), wp = w + (<usize>(n * K) << 2);
  let c = f32x4.splat(0);
  let k = k0;
  for (; k + 4 <= k1; k += 4) c = madd(v128.load(ap + (<usize>k << 2)), v128.load(wp + (<usize>k << 2)), c);
  let s = hsum(c);
  for (; k < k1; k++) s += load<f32>(ap + (<usize>k << 2)) * load<f32>(wp + (<usize>k << 2));
  const po = out + (<usize>(m * N + n) << 2);
  store<f32>(po, first ? s : load<f32>(po) + s);
}

/** out[n, m] = a[m, n]; a: [M, N]. Rows of `out` are split across parts. */
export function transpose(out: usize, a: usize, M: i32, N: i32, part: i32, nparts: i32): void {
  const n0 = rangeLo(N, 8, part, nparts), n1 = rangeLo(N, 8, part + 1, nparts);
  for (let mb = 0; mb < M; mb += 32) {
    const me = min(M, mb + 32);
    for (let n = n0; n < n1; n++) {
      const po = out + (<usize>(n * M) << 2);
      for (let m = mb; m < me; m++) store<f32>(po + (<usize>m << 2), load<f32>(a + (<usize>(m * N + n) << 2)));
    }
  }
}

// ---------- output layer + cross-entropy on a block of rows ----------

/**
 * For rows r of z [rows, V] (logits): loss_r = (1−ε)(lse − z_y) + ε(lse − mean z) into
 * lossOut[r] (f64), ce (lse − z_y) into ceOut[r] (f64); with grad ≠ 0 z is replaced by
 * scale·(softmax(z) − (1−ε)·onehot(y) − ε/V). Rows with y = ignore get loss 0, gradient 0.
 */
export function ce_rows(z: usize, targets: usize, rows: i32, V: i32, eps: f32, ignore: i32, scale: f32, grad: i32,
  lossOut: usize, ceOut: usize, part: i32, nparts: i32): void {
  const r0 = rangeLo(rows, 1, part, nparts), r1 = rangeLo(rows, 1, part + 1, nparts);
  const V4 = V & ~3;
  for (let r = r0; r < r1; r++) {
    const zp = z + (<usize>(r * V) << 2);
    const y = load<i32>(targets + (<usize>r << 2));
    if (y == ignore) {
      store<f64>(lossOut + (<usize>r << 3), 0);
      store<f64>(ceOut + (<usize>r << 3), 0);
      if (grad != 0) memory.fill(zp, 0, <usize>V << 2);
      continue;
    }
    let mx = f32x4.splat(-Infinity);
    let zs0 = f64x2.splat(0), zs1 = f64x2.splat(0);
    let v = 0;
    for (; v < V4; v += 4) {
      const x = v128.load(zp + (<usize>v << 2));
      mx = f32x4.max(mx, x);
      zs0 = f64x2.add(zs0, f64x2.promote_low_f32x4(x));
      zs1 = f64x2.add(zs1, f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1)));
    }
    let m = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    let zsum = f64x2.extract_lane(zs0, 0) + f64x2.extract_lane(zs0, 1) + f64x2.extract_lane(zs1, 0) + f64x2.extract_lane(zs1, 1);
    for (let u = v; u < V; u++) { const x = load<f32>(zp + (<usize>u << 2)); m = max(m, x); zsum += <f64>x; }
    const zy = <f64>load<f32>(zp + (<usize>y << 2));
    // exp(z − max) in place, summed in f64
    const mv = f32x4.splat(m);
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    v = 0;
    for (; v < V4; v += 4) {
      const e = expv(f32x4.sub(v128.load(zp + (<usize>v << 2)), mv));
      if (grad != 0) v128.store(zp + (<usize>v << 2), e);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    }
    let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
    for (let u = v; u < V; u++) {
      const e = Mathf.exp(load<f32>(zp + (<usize>u << 2)) - m);
      if (grad != 0) store<f32>(zp + (<usize>u << 2), e);
      s += <f64>e;
    }
    const lse = <f64>m + Math.log(s);
    const ce = lse - zy;
    store<f64>(ceOut + (<usize>r << 3), ce);
    store<f64>(lossOut + (<usize>r << 3), (1.0 - <f64>eps) * ce + <f64>eps * (lse - zsum / <f64>V));
    if (grad != 0) {
      const k = f32x4.splat(<f32>(<f64>scale / s));
      const c = f32x4.splat(scale * eps / <f32>V);
      v = 0;
      for (; v < V4; v += 4) v128.store(zp + (<usize>v << 2), f32x4.sub(f32x4.mul(v128.load(zp + (<usize>v << 2)), k), c));
      for (let u = v; u < V; u++) store<f32>(zp + (<usize>u << 2), load<f32>(zp + (<usize>u << 2)) * <f32>(<f64>scale / s) - scale * eps / <f32>V);
      store<f32>(zp + (<usize>y << 2), load<f32>(zp + (<usize>y << 2)) - scale * (1.0 - eps));
    }
  }
}

// ---------- LSTM pointwise parts (time-major: the B rows of step t are contiguous) ----------

/**
 * One forward step for rows b in this part: pre = gh[b] + xg[b] (both [B, 4H]),
 * act[b] = (σ(i), σ(f), tanh(g), σ(o)), c[b] = f·cprev[b] + i·g, h[b] = o·tanh(c[b]).
 */
export function lstm_step_fwd(gh: usize, xg: usize, act: usize, cprev: usize, c: usize, h: usize, B: i32, H: i32, part: i32, nparts: i32): void {
  const b0 = rangeLo(B, 1, part, nparts), b1 = rangeLo(B, 1, part + 1, nparts);
  const G = 4 * H;
  for (let b = b0; b < b1; b++) {
    const go = <usize>(b * G) << 2, ho = <usize>(b * H) << 2;
    for (let j = 0; j < H; j++) {
      const jo = <usize>j << 2, Ho = <usize>H << 2;
      const gi = sigm(load<f32>(gh + go + jo) + load<f32>(xg + go + jo));
      const gf = sigm(load<f32>(gh + go + Ho + jo) + load<f32>(xg + go + Ho + jo));
      const gg = Mathf.tanh(load<f32>(gh + go + 2 * Ho + jo) + load<f32>(xg + go + 2 * Ho + jo));
      const gout = sigm(load<f32>(gh + go + 3 * Ho + jo) + load<f32>(xg + go + 3 * Ho + jo));
      store<f32>(act + go + jo, gi);
      store<f32>(act + go + Ho + jo, gf);
      store<f32>(act + go + 2 * Ho + jo, gg);
      store<f32>(act + go + 3 * Ho + jo, gout);
      const cn = gf * load<f32>(cprev + ho + jo) + gi * gg;
      store<f32>(c + ho + jo, cn);
      store<f32>(h + ho + jo, gout * Mathf.tanh(cn));
    }
  }
}

/**
 * One backward step for rows b in this part. dh = dhs[b] + dhNext[b];
 * dc = dcNext[b] + dh·o·(1 − tanh²c); dz = (dc·g·i(1−i), dc·cprev·f(1−f), dc·i(1−g²), dh·tanh c·o(1−o));
 * dcNext[b] ← dc·f. (dhNext is recomputed by the caller as dz · W_hh.)
 */
export function lstm_step_bwd(act: usize, c: usize, cprev: usize, dhs: usize, dhNext: usize, dcNext: usize, dz: usize, B: i32, H: i32, part: i32, nparts: i32): void {
  const b0 = rangeLo(B, 1, part, nparts), b1 = rangeLo(B, 1, part + 1, nparts);
  const G = 4 * H;
  for (let b = b0; b < b1; b++) {
    const go = <usize>(b * G) << 2, ho = <usize>(b * H) << 2;
    for (let j = 0; j < H; j++) {
      const jo = <usize>j << 2, Ho = <usize>H << 2;
      const gi = load<f32>(act + go + jo), gf = load<f32>(act + go + Ho + jo);
      const gg = load<f32>(act + go + 2 * Ho + jo), gout = load<f32>(act + go + 3 * Ho + jo);
      const tc = Mathf.tanh(load<f32>(c + ho + jo));
      const dh = load<f32>(dhs + ho + jo) + load<f32>(dhNext + ho + jo);
      const dc = load<f32>(dcNext + ho + jo) + dh * gout * (1.0 - tc * tc);
      store<f32>(dz + go + jo, dc * gg * gi * (1.0 - gi));
      store<f32>(dz + go + Ho + jo, dc * load<f32>(cprev + ho + jo) * gf * (1.0 - gf));
      store<f32>(dz + go + 2 * Ho + jo, dc * gi * (1.0 - gg * gg));
      store<f32>(dz + go + 3 * Ho + jo, dh * tc * gout * (1.0 - gout));
      store<f32>(dcNext + ho + jo, dc * gf);
    }
  }
}

// ---------- reductions, optimiser ----------

/** out[n] += Σ_m a[m, n] (column sums of a [M, N]); columns split across parts. */
export function col_sum_acc(out: usize, a: usize, M: i32, N: i32, part: i32, nparts: i32): void {
  const n0 = rangeLo(N, 4, part, nparts), n1 = rangeLo(N, 4, part + 1, nparts);
  for (let m = 0; m < M; m++) {
    const ap = a + (<usize>(m * N) << 2);
    let n = n0;
    for (; n + 4 <= n1; n += 4) v128.store(out + (<usize>n << 2), f32x4.add(v128.load(out + (<usize>n << 2)), v128.load(ap + (<usize>n << 2))));
    for (; n < n1; n++) store<f32>(out + (<usize>n << 2), load<f32>(out + (<usize>n << 2)) + load<f32>(ap + (<usize>n << 2)));
  }
}

/** Σ x² over this part's range of x [n], written as f64 to partial[part]. */
export function sum_sq(x: usize, n: i32, partial: usize, part: i32, nparts: i32): void {
  const i0 = rangeLo(n, 4, part, nparts), i1 = rangeLo(n, 4, part + 1, nparts);
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const q = f32x4.mul(v, v);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(q));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<f32>(q, q, 2, 3, 0, 1)));
  }
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; i < i1; i++) { const v = <f64>load<f32>(x + (<usize>i << 2)); s += v * v; }
  store<f64>(partial + (<usize>part << 3), s);
}

/** x ← x·k over this part's range. */
export function scale(x: usize, n: i32, k: f32, part: i32, nparts: i32): void {
  const i0 = rangeLo(n, 4, part, nparts), i1 = rangeLo(n, 4, part + 1, nparts);
  const kv = f32x4.splat(k);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(x + (<usize>i << 2), f32x4.mul(v128.load(x + (<usize>i << 2)), kv));
  for (; i < i1; i++) store<f32>(x + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * k);
}

/**
 * Adam(W) on this part's range (see src/train/adam.ts for the formulas):
 * θ ← θ·decay; g' = g + l2·θ; m ← β1 m + (1−β1) g'; v ← β2 v + (1−β2) g'²;
 * θ ← θ − stepSize·m / (√v / bc2Sqrt + eps).
 */
export function adam(p: usize, g: usize, m: usize, v: usize, n: i32, stepSize: f32, beta1: f32, beta2: f32, eps: f32, bc2Sqrt: f32,
  decay: f32, l2: f32, part: i32, nparts: i32): void {
  const i0 = rangeLo(n, 4, part, nparts), i1 = rangeLo(n, 4, part + 1, nparts);
  const b1 = f32x4.splat(beta1), nb1 = f32x4.splat(1.0 - beta1), b2 = f32x4.splat(beta2), nb2 = f32x4.splat(1.0 - beta2);
  const ss = f32x4.splat(stepSize), ev = f32x4.splat(eps), ib = f32x4.splat(1.0 / bc2Sqrt), dv = f32x4.splat(decay), lv = f32x4.splat(l2);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    const th = f32x4.mul(v128.load(p + o), dv);
    const gr = f32x4.add(v128.load(g + o), f32x4.mul(lv, th));
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(nb1, gr));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(nb2, f32x4.mul(gr, gr)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(p + o, f32x4.sub(th, f32x4.div(f32x4.mul(ss, mi), f32x4.add(f32x4.mul(f32x4.sqrt(vi), ib), ev))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const th = load<f32>(p + o) * decay;
    const gr = load<f32>(g + o) + l2 * th;
    const mi = beta1 * load<f32>(m + o) + (1.0 - beta1) * gr;
    const vi = beta2 * load<f32>(v + o) + (1.0 - beta2) * gr * gr;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(p + o, th - (stepSize * mi) / (Mathf.sqrt(vi) / bc2Sqrt + eps));
  }
}
