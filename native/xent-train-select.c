/*
 * Which implementation of the training kernels runs: the widest instruction set this CPU
 * has (AVX-512 F/VL/BW/DQ, else AVX2 + FMA, else the scalar reference), capped by
 * XENT_NATIVE_TRAIN=scalar|avx2|avx512, and only if it passes a self-check against the
 * scalar reference on random inputs the first time a training kernel is used. The bounds
 * it states (a vector path is refused, with the reason kept for xent doctor, when any is
 * exceeded):
 *   - matrix product, column sums, scale, Adam: bit-identical (the same operations in the
 *     same order per element; see xt_gemm_t);
 *   - exp, σ, tanh against libm's expf, 1/(1 + expf(−x)), tanhf: at most XT_ULP_EXP,
 *     XT_ULP_SIGMOID, XT_ULP_TANH units in the last place, on 1.2e5 inputs over [−110, 90]
 *     plus ±0, ±inf, NaN and the overflow and underflow edges;
 *   - cross-entropy row statistics: max and target logit equal; log Σ exp within
 *     (XT_ULP_EXP + 1)·2^-24 + V·2^-52 (each term's exp error, then the reassociated float64
 *     sum); gradient entries within |α|·p·((XT_ULP_EXP + 3)·2^-24 + 2·ulp(log Σ)) + 2^-24·|γ w|
 *     + 2^-149 (the exp error, the rounding of log Σ to float, the final roundings);
 *   - the LSTM recurrence over 5 steps: within 2^-17·max(1, |value|) on activations,
 *     states and gate gradients (the per-step differences are those of σ and tanh).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xent-train.h"

#define XT_ULP_EXP 2
#define XT_ULP_SIGMOID 5
#define XT_ULP_TANH 4

const xt_isa_t *xt_cur = &xt_isa_scalar;
static const xt_isa_t *usable[4] = {&xt_isa_scalar};
static int n_usable = 1;
static char refused[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* ---------- random inputs ---------- */

static uint32_t rnd_state;
static float urand(float lo, float hi) {
  rnd_state = rnd_state * 1664525u + 1013904223u;
  return lo + (hi - lo) * (float)(rnd_state >> 8) / 16777216.0f;
}
static void fill(float *x, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; i++) x[i] = urand(lo, hi);
}

/* Distance in units in the last place between two floats of the same sign (∞ otherwise). */
static double ulps(float a, float b) {
  if (a != a || b != b) return (a != a && b != b) ? 0 : INFINITY;
  if (a == b) return 0;
  if ((a < 0) != (b < 0)) return INFINITY;
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  return fabs((double)(ia & 0x7fffffff) - (double)(ib & 0x7fffffff));
}

/* Equal (NaN equals NaN), or within tol. */
static int agree(double a, double b, double tol) { return (a != a && b != b) || a == b || fabs(a - b) <= tol; }

static float ulpf(float x) { return nextafterf(fabsf(x), INFINITY) - fabsf(x); }

/* ---------- the checks; each returns 0 or writes why into why[] ---------- */

static int check_gemm(const xt_isa_t *isa, char *why, size_t cap) {
  static const int shapes[][3] = {{1, 1, 1}, {13, 37, 29}, {12, 32, 256}, {25, 70, 300}, {7, 5, 0}, {30, 100, 3}};
  float A[300 * 100], B[300 * 100], bias[100], C0[30 * 100], C1[30 * 100];
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
    for (int v = 0; v < 16; v++) {
      const int ta = v & 1, tb = (v >> 1) & 1, acc = (v >> 2) & 1, bi = (v >> 3) & 1;
      fill(A, 300 * 100, -1, 1);
      fill(B, 300 * 100, -1, 1);
      fill(bias, 100, -1, 1);
      fill(C0, 30 * 100, -1, 1);
      memcpy(C1, C0, sizeof C0);
      xt_gemm_t g = {ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, C0, N, acc, bi ? bias : NULL};
      xt_gemm_ref(&g);
      g.C = C1;
      xt_cur = isa;
      xt_gemm(&g);
      xt_cur = &xt_isa_scalar;
      if (memcmp(C0, C1, sizeof C0) != 0) {
        snprintf(why, cap, "sgemm [%d×%d·%d×%d] (transA %d, transB %d, accumulate %d, bias %d) differs from the reference",
                 M, K, K, N, ta, tb, acc, bi);
        return 1;
      }
    }
  }
  return 0;
}

static int check_math(const xt_isa_t *isa, char *why, size_t cap) {
  enum { NX = 120000 };
  static float x[NX], y[NX];
  static const float edge[] = {0.0f,   -0.0f,  INFINITY, -INFINITY, NAN,       88.72f,    88.73f,   88.38f,
                               -87.33f, -87.34f, -103.9f,  -103.98f,  -104.0f,  -110.0f,   1e-30f,   -1e-30f,
                               0.3999f, 0.4f,   -0.4f,    9.01f,     -9.01f,    44.4f,     1e-7f,    0x1p-149f};
  const int ne = (int)(sizeof edge / sizeof edge[0]);
  for (int i = 0; i < NX; i++) {
    if (i < ne) x[i] = edge[i];
    else if (i % 4 == 0) x[i] = urand(-110.0f, 90.0f);
    else if (i % 4 == 1) x[i] = urand(-1.0f, 1.0f);
    else if (i % 4 == 2) x[i] = urand(-1e-3f, 1e-3f);
    else x[i] = urand(-10.0f, 10.0f);
  }
  static const char *names[] = {"exp", "sigmoid", "tanh"};
  static const int bound[] = {XT_ULP_EXP, XT_ULP_SIGMOID, XT_ULP_TANH};
  for (int f = 0; f < 3; f++) {
    (f == 0 ? isa->exp_block : f == 1 ? isa->sigmoid_block : isa->tanh_block)(x, y, NX);
    for (int i = 0; i < NX; i++) {
      const float want = f == 0 ? expf(x[i]) : f == 1 ? 1.0f / (1.0f + expf(-x[i])) : tanhf(x[i]);
      if (ulps(y[i], want) > bound[f]) {
        snprintf(why, cap, "%s(%.9g) = %.9g, libm %.9g: more than %d ulp apart", names[f], (double)x[i], (double)y[i],
                 (double)want, bound[f]);
        return 1;
      }
    }
  }
  return 0;
}

static int check_ce(const xt_isa_t *isa, char *why, size_t cap) {
  static const int64_t Vs[] = {1, 7, 100, 1001};
  static float z0[4 * 1001], z1[4 * 1001], zin[4 * 1001], w[1001];
  int32_t tg[4];
  double st0[16], st1[16], al[4], be[4], ga[4];
  for (size_t c = 0; c < 2 * sizeof Vs / sizeof Vs[0]; c++) {
    const int64_t V = Vs[c / 2];
    const int weighted = (int)(c & 1);
    fill(z0, 4 * V, -20, 20);
    fill(w, V, 0, 2);
    if (V > 2) z0[V - 1] = -INFINITY; /* a masked-out class */
    for (int r = 0; r < 4; r++) {
      tg[r] = r == 2 ? -100 : (int32_t)(urand(0, (float)V - 1e-3f));
      al[r] = 1.0 / 3;
      be[r] = 0.9 / 3;
      ga[r] = 0.1 / (3.0 * (double)V);
    }
    if (V > 1) tg[0] = (int32_t)(V - 2);
    memcpy(z1, z0, sizeof z0);
    memcpy(zin, z0, sizeof z0);
    const float *wp = weighted ? w : NULL;
    xt_ce_stats(z0, 4, V, tg, -100, wp, st0);
    xt_ce_grad(z0, 4, V, tg, -100, wp, st0, al, be, ga);
    xt_cur = isa;
    xt_ce_stats(z1, 4, V, tg, -100, wp, st1);
    xt_ce_grad(z1, 4, V, tg, -100, wp, st1, al, be, ga);
    xt_cur = &xt_isa_scalar;
    for (int r = 0; r < 4; r++) {
      const double *a = st0 + 4 * r, *b = st1 + 4 * r;
      double wzabs = 0; /* Σ |w·z|: the scale of the reassociation error of st[3] */
      for (int64_t v = 0; v < V; v++) wzabs += fabs((double)(wp ? w[v] : 1) * (double)zin[r * V + v]);
      if (!agree(a[0], b[0], 0) || !agree(a[2], b[2], 0) ||
          !agree(a[1], b[1], (XT_ULP_EXP + 1) * 0x1p-24 + (double)V * 0x1p-52) ||
          !agree(a[3], b[3], (double)V * 0x1p-52 * wzabs)) {
        snprintf(why, cap, "cross-entropy statistics of row %d (V = %lld) differ: %.17g %.17g %.17g vs %.17g %.17g %.17g",
                 r, (long long)V, a[0], a[1], a[3], b[0], b[1], b[3]);
        return 1;
      }
      if (tg[r] == -100) continue;
      const float lsf = (float)a[1];
      for (int64_t v = 0; v < V; v++) {
        const float g0 = z0[r * V + v], g1 = z1[r * V + v];
        const double wv = wp ? w[v] : 1.0;
        /* p from the reference gradient: g = α·p − γ·w (− β at the target) */
        const double p = (g0 + ga[r] * wv + (v == tg[r] ? be[r] : 0)) / al[r];
        const double tol = al[r] * fabs(p) * ((XT_ULP_EXP + 3) * 0x1p-24 + 2 * (double)ulpf(lsf)) +
                           0x1p-24 * ga[r] * wv + 0x1p-24 * fabs((double)g0) + 0x1p-149;
        if (!(fabs((double)g0 - (double)g1) <= tol)) {
          snprintf(why, cap, "cross-entropy gradient [%d, %lld] (V = %lld): %.9g vs reference %.9g", r, (long long)v,
                   (long long)V, (double)g1, (double)g0);
          return 1;
        }
      }
    }
  }
  return 0;
}

static int check_lstm(const xt_isa_t *isa, char *why, size_t cap) {
  enum { B = 3, H = 21, T = 5, G = 4 * H };
  static float xg[T * B * G], whh[G * H], h0[(T + 1) * B * H], c0[(T + 1) * B * H], a0[T * B * G];
  static float h1[(T + 1) * B * H], c1[(T + 1) * B * H], a1[T * B * G], dhs[T * B * H];
  static float dz0[T * B * G], dz1[T * B * G], dh0[B * H], dh1[B * H], dc0[B * H], dc1[B * H];
  fill(xg, T * B * G, -2, 2);
  fill(whh, G * H, -0.3f, 0.3f);
  fill(h0, B * H, -1, 1);
  fill(c0, B * H, -1, 1);
  fill(dhs, T * B * H, -1, 1);
  fill(dh0, B * H, -1, 1);
  fill(dc0, B * H, -1, 1);
  memcpy(h1, h0, sizeof h0);
  memcpy(c1, c0, sizeof c0);
  memcpy(dh1, dh0, sizeof dh0);
  memcpy(dc1, dc0, sizeof dc0);
  xt_lstm_forward(xg, whh, h0, c0, a0, B, H, T);
  xt_lstm_backward(a0, c0, dhs, whh, dz0, dh0, dc0, B, H, T);
  xt_cur = isa;
  xt_lstm_forward(xg, whh, h1, c1, a1, B, H, T);
  xt_lstm_backward(a1, c1, dhs, whh, dz1, dh1, dc1, B, H, T);
  xt_cur = &xt_isa_scalar;
  const struct {
    const char *name;
    const float *a, *b;
    int n;
  } out[] = {{"h", h0, h1, (T + 1) * B * H}, {"c", c0, c1, (T + 1) * B * H}, {"act", a0, a1, T * B * G},
             {"dz", dz0, dz1, T * B * G},    {"dh", dh0, dh1, B * H},        {"dc", dc0, dc1, B * H}};
  for (size_t k = 0; k < sizeof out / sizeof out[0]; k++)
    for (int i = 0; i < out[k].n; i++)
      if (!(fabsf(out[k].a[i] - out[k].b[i]) <= 0x1p-17f * fmaxf(1.0f, fabsf(out[k].a[i])))) {
        snprintf(why, cap, "LSTM %s[%d]: %.9g vs reference %.9g", out[k].name, i, (double)out[k].b[i],
                 (double)out[k].a[i]);
        return 1;
      }
  return 0;
}

static int check_flat(const xt_isa_t *isa, char *why, size_t cap) {
  enum { M = 37, N = 203, P = 1000 };
  static float a[M * N], s0[N], s1[N], p0[P], p1[P], g[P], m0[P], m1[P], v0[P], v1[P];
  fill(a, M * N, -1, 1);
  fill(s0, N, -1, 1);
  memcpy(s1, s0, sizeof s0);
  fill(p0, P, -1, 1);
  fill(g, P, -0.1f, 0.1f);
  fill(m0, P, -0.01f, 0.01f);
  fill(v0, P, 0, 1e-4f);
  memcpy(p1, p0, sizeof p0);
  memcpy(m1, m0, sizeof m0);
  memcpy(v1, v0, sizeof v0);
  const double h[7] = {1e-3 / (1 - 0.9 * 0.9), 0.9, 0.999, 1e-8, sqrt(1 - 0.999 * 0.999), 1 - 1e-3 * 0.01, 0.0};
  xt_col_sum(s0, a, M, N, 1);
  xt_adam(p0, g, m0, v0, P, h);
  xt_scale(p0, P, 0.37f);
  const double q0 = xt_sum_sq(p0, P);
  xt_cur = isa;
  xt_col_sum(s1, a, M, N, 1);
  xt_adam(p1, g, m1, v1, P, h);
  xt_scale(p1, P, 0.37f);
  const double q1 = xt_sum_sq(p1, P);
  xt_cur = &xt_isa_scalar;
  if (memcmp(s0, s1, sizeof s0) != 0) return snprintf(why, cap, "column sums differ from the reference"), 1;
  if (memcmp(p0, p1, sizeof p0) || memcmp(m0, m1, sizeof m0) || memcmp(v0, v1, sizeof v0))
    return snprintf(why, cap, "Adam or scale differs from the reference"), 1;
  if (!(fabs(q0 - q1) <= 1e-13 * q0)) return snprintf(why, cap, "sum of squares %.17g vs %.17g", q1, q0), 1;
  return 0;
}

static int self_check(const xt_isa_t *isa, char *why, size_t cap) {
  const int threads = xt_threads();
  rnd_state = 12345u;
  int bad = 0;
  for (int th = 1; th <= 2 && !bad; th++) {
    xt_set_threads(th); /* one and two threads: the splits differ, the results must not */
    bad = check_gemm(isa, why, cap) || check_math(isa, why, cap) || check_ce(isa, why, cap) ||
          check_lstm(isa, why, cap) || check_flat(isa, why, cap);
  }
  xt_set_threads(threads);
  return bad;
}

static void note_refusal(const char *name, const char *why) {
  const size_t len = strlen(refused);
  snprintf(refused + len, sizeof refused - len, "%s%s: %s", len ? "; " : "", name, why);
}

static void select_once(void) {
  const char *cap = getenv("XENT_NATIVE_TRAIN");
  int limit = 2; /* 0 scalar, 1 avx2, 2 avx512 */
  if (cap && *cap) {
    if (strcmp(cap, "scalar") == 0) limit = 0;
    else if (strcmp(cap, "avx2") == 0) limit = 1;
    else if (strcmp(cap, "avx512") != 0) note_refusal("XENT_NATIVE_TRAIN", "not one of scalar, avx2, avx512 (ignored)");
  }
#ifdef XT_X86
  __builtin_cpu_init();
  const int has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const int has512 = has2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                     __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  const struct {
    const xt_isa_t *isa;
    int has, level;
  } cand[] = {{&xt_isa_avx512, has512, 2}, {&xt_isa_avx2, has2, 1}};
  for (int i = 0; i < 2; i++) {
    if (!cand[i].has || cand[i].level > limit) continue;
    char why[256];
    if (self_check(cand[i].isa, why, sizeof why)) note_refusal(cand[i].isa->name, why);
    else usable[n_usable++] = cand[i].isa;
  }
#else
  (void)limit;
#endif
  /* the widest usable one (usable[0] is the scalar reference) */
  xt_cur = usable[n_usable > 1 ? 1 : 0];
}

void xt_select(void) { pthread_once(&once, select_once); }

int xt_use(const char *name) {
  xt_select();
  for (int i = 0; i < n_usable; i++)
    if (strcmp(usable[i]->name, name) == 0) {
      xt_cur = usable[i];
      return 1;
    }
  return 0;
}

int xt_available(const char **names, int cap) {
  xt_select();
  int n = 0;
  for (int i = 0; i < n_usable && n < cap; i++) names[n++] = usable[i]->name;
  return n;
}

const char *xt_refused(void) {
  xt_select();
  return refused;
}
