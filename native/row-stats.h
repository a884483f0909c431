/*
 * Row statistics of the binding (included once, by xent-llama.c): for each logit row the
 * caller scores, the true token's NLL, the log-sum-exp, the max, the argmax and the rank,
 * with llama-perplexity's arithmetic. Split from xent-llama.c to keep the N-API glue and the
 * vector code apart; native/check-expf.c exercises the vector expf exhaustively.
 */
#ifndef XENT_ROW_STATS_H
#define XENT_ROW_STATS_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Per-row statistics with llama-perplexity's own arithmetic (log_softmax() in
 * tools/perplexity/perplexity.cpp): float max, Σ expf(l − max) in double, and
 * nll = −((l[t] − max) − log Σ) with the first subtraction in float. Computing this here,
 * on the worker thread, keeps the results equal to llama.cpp's and leaves the
 * JavaScript thread free; the raw logits are still copied out when the caller wants them.
 *   st[0] nll (nats)  st[1] lse = max + log Σ  st[2] max  st[3] argmax (first on ties)
 *   st[4] rank = #{v : l_v > l_t}
 * A NaN or +Inf logit gives st[0] = NaN and st[3] = the first offending column.
 *
 * Two implementations, chosen once at init (row_stats_select):
 *  - row_stats_scalar: the reference; libm's expf per element, summed in index order,
 *    which is llama.cpp's loop exactly (bit-identical sums).
 *  - row_stats_avx2 (x86-64 with AVX2 + FMA): the same expf values, computed 4 at a time
 *    (expf4_avx2 below), summed into 8 double accumulators. The sum then differs from
 *    llama.cpp's only by the order of double additions (~1e-16 relative), and the row is
 *    read twice at 8 floats per instruction instead of one libm call per element: at
 *    V = 32000 the statistics of a ctx-128 chunk fall from ~8 ms to under 1 ms, which is
 *    otherwise as long as the decode itself.
 */
static void row_stats_finish(const float *row, int32_t nv, float mx, float lt, double sum, int32_t am, int32_t above, double *st) {
  if (!(sum == sum) || sum > 1.7e308 || mx != mx || lt != lt || mx == INFINITY) {
    int32_t bad = -1;
    for (int32_t v = 0; v < nv && bad < 0; v++)
      if (row[v] != row[v] || row[v] == INFINITY) bad = v;
    st[0] = NAN;
    st[1] = NAN;
    st[2] = NAN;
    st[3] = bad;
    st[4] = -1;
    return;
  }
  const double ls = log(sum);
  st[0] = -((double)(lt - mx) - ls);
  st[1] = (double)mx + ls;
  st[2] = mx;
  st[3] = am;
  st[4] = above;
}

static void row_stats_scalar(const float *row, int32_t nv, int32_t t, double *st) {
  float mx = row[0];
  int32_t am = 0;
  for (int32_t v = 1; v < nv; v++)
    if (row[v] > mx) {
      mx = row[v];
      am = v;
    }
  /* Σ expf(l − max) in double, in index order as llama.cpp sums, fused with the rank
     count: V is read twice (max, then sum + rank), not three times. */
  const float lt = row[t];
  double sum = 0.0;
  int32_t above = 0;
  for (int32_t v = 0; v < nv; v++) {
    sum += expf(row[v] - mx);
    above += row[v] > lt;
  }
  row_stats_finish(row, nv, mx, lt, sum, am, above, st);
}

typedef void (*row_stats_fn)(const float *, int32_t, int32_t, double *);
static row_stats_fn row_stats = row_stats_scalar;
static const char *row_stats_name = "scalar";

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define XENT_ROW_STATS_AVX2 1

/*
 * expf, 4 lanes: the algorithm of glibc's expf (since 2.27; from Arm's
 * optimized-routines, sysdeps/ieee754/flt-32/e_expf.c) with the operations fused as in
 * glibc's FMA build (__expf_fma, which glibc's resolver picks on CPUs with FMA): with
 * N = 32, z = x·N/ln2 = k + r, expf(x) = 2^(k/N) · 2^(r/N), 2^(r/N) ≈ C0 r³ + C1 r² + C2 r + 1
 * in double, rounded once to float. The table T[j] = bits(2^(j/N)) − (j << 47) and the
 * constants are the published ones. Inputs below log(2^-150) give 0, as glibc's.
 * Whether this equals the libm expf the process actually uses is not assumed:
 * row_stats_select() compares them on a sweep of 160,000 inputs and keeps the scalar path
 * unless every one is bit-identical. native/check-expf.c compares every float in
 * [−103.28, 0] (1.12e9 inputs): no difference for either vector version on glibc 2.36.
 */
static uint64_t g_exp2f_tab[32];
#define EXPF_INVLN2N 0x1.71547652b82fep+5 /* N / ln 2 */
#define EXPF_SHIFT 0x1.8p+52
#define EXPF_C0 0x1.c6af84b912394p-20 /* 0x1.c6af84b912394p-5 / N³ */
#define EXPF_C1 0x1.ebfce50fac4f3p-13 /* 0x1.ebfce50fac4f3p-3 / N² */
#define EXPF_C2 0x1.62e42ff0c52d6p-6  /* 0x1.62e42ff0c52d6p-1 / N */
#define EXPF_UFLOW (-0x1.9fe368p6)   /* log(2^-150) */

__attribute__((target("avx2,fma"))) static inline __m256d expf4_avx2(__m128 x) {
  const __m256d xd = _mm256_cvtps_pd(x);
  const __m256d invln2n = _mm256_set1_pd(EXPF_INVLN2N), shift = _mm256_set1_pd(EXPF_SHIFT);
  const __m256d z = _mm256_fmadd_pd(invln2n, xd, shift);
  const __m256i ki = _mm256_castpd_si256(z);
  const __m256d kd = _mm256_sub_pd(z, shift);
  const __m256d r = _mm256_fmsub_pd(invln2n, xd, kd);
  const __m256i j = _mm256_and_si256(ki, _mm256_set1_epi64x(31));
  __m256i t = _mm256_i64gather_epi64((const long long *)g_exp2f_tab, j, 8);
  t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
  const __m256d s = _mm256_castsi256_pd(t);
  const __m256d zc = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C0), _mm256_set1_pd(EXPF_C1));
  const __m256d r2 = _mm256_mul_pd(r, r);
  __m256d y = _mm256_fmadd_pd(r, _mm256_set1_pd(EXPF_C2), _mm256_set1_pd(1.0));
  y = _mm256_fmadd_pd(zc, r2, y);
  y = _mm256_mul_pd(y, s);
  /* Round to float (as glibc returns float), back to double for the sum. */
  __m256d f = _mm256_cvtps_pd(_mm256_cvtpd_ps(y));
  /* x < log(2^-150), −inf included: 0. NaN compares false and stays NaN. */
  const __m256d under = _mm256_cmp_pd(xd, _mm256_set1_pd(EXPF_UFLOW), _CMP_LT_OQ);
  return _mm256_andnot_pd(under, f);
}

__attribute__((target("avx2,fma"))) static void row_stats_avx2(const float *row, int32_t nv, int32_t t, double *st) {
  const int32_t n8 = nv & ~7;
  /* Pass 1: max. */
  float mx = row[0];
  if (n8 >= 8) {
    __m256 m0 = _mm256_loadu_ps(row), m1 = m0;
    int32_t v = 8;
    for (; v + 16 <= n8; v += 16) {
      m0 = _mm256_max_ps(m0, _mm256_loadu_ps(row + v));
      m1 = _mm256_max_ps(m1, _mm256_loadu_ps(row + v + 8));
    }
    for (; v < n8; v += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(row + v));
    m0 = _mm256_max_ps(m0, m1);
    float lanes[8];
    _mm256_storeu_ps(lanes, m0);
    mx = lanes[0];
    for (int k = 1; k < 8; k++)
      if (lanes[k] > mx) mx = lanes[k];
  }
  for (int32_t v = n8; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  /* Pass 2: Σ expf(l − max), rank and the first argmax. */
  const float lt = row[t];
  const __m256 mxv = _mm256_set1_ps(mx), ltv = _mm256_set1_ps(lt);
  __m256d a0 = _mm256_setzero_pd(), a1 = a0;
  __m256i cnt = _mm256_setzero_si256();
  int32_t am = -1;
  for (int32_t v = 0; v < n8; v += 8) {
    const __m256 x = _mm256_loadu_ps(row + v);
    const __m256 d = _mm256_sub_ps(x, mxv);
    a0 = _mm256_add_pd(a0, expf4_avx2(_mm256_castps256_ps128(d)));
    a1 = _mm256_add_pd(a1, expf4_avx2(_mm256_extractf128_ps(d, 1)));
    cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(_mm256_cmp_ps(x, ltv, _CMP_GT_OQ)));
    if (am < 0) {
      const int eq = _mm256_movemask_ps(_mm256_cmp_ps(x, mxv, _CMP_EQ_OQ));
      if (eq) am = v + __builtin_ctz((unsigned)eq);
    }
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, _mm256_add_pd(a0, a1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  int32_t c8[8];
  _mm256_storeu_si256((__m256i *)c8, cnt);
  int32_t above = 0;
  for (int k = 0; k < 8; k++) above += c8[k];
  for (int32_t v = n8; v < nv; v++) {
    sum += expf(row[v] - mx);
    above += row[v] > lt;
    if (am < 0 && row[v] == mx) am = v;
  }
  if (am < 0) am = 0; /* no element equals max only when the row holds NaN; reported below */
  row_stats_finish(row, nv, mx, lt, sum, am, above, st);
}

/* The same expf, 8 lanes (AVX-512F): the 32-entry table sits in four registers and is
   read with two two-register permutes instead of a gather. */
__attribute__((target("avx512f"))) static inline __m512d expf8_avx512(__m256 x, __m512d t0, __m512d t1, __m512d t2, __m512d t3) {
  const __m512d xd = _mm512_cvtps_pd(x);
  const __m512d invln2n = _mm512_set1_pd(EXPF_INVLN2N), shift = _mm512_set1_pd(EXPF_SHIFT);
  const __m512d z = _mm512_fmadd_pd(invln2n, xd, shift);
  const __m512i ki = _mm512_castpd_si512(z);
  const __m512d kd = _mm512_sub_pd(z, shift);
  const __m512d r = _mm512_fmsub_pd(invln2n, xd, kd);
  /* j = ki mod 32: permutex2var reads index bits 0–3; bit 4 picks the pair. */
  const __m512d lo = _mm512_permutex2var_pd(t0, ki, t1);
  const __m512d hi = _mm512_permutex2var_pd(t2, ki, t3);
  const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
  __m512i t = _mm512_castpd_si512(_mm512_mask_blend_pd(upper, lo, hi));
  t = _mm512_add_epi64(t, _mm512_slli_epi64(ki, 47));
  const __m512d s = _mm512_castsi512_pd(t);
  const __m512d zc = _mm512_fmadd_pd(r, _mm512_set1_pd(EXPF_C0), _mm512_set1_pd(EXPF_C1));
  const __m512d r2 = _mm512_mul_pd(r, r);
  __m512d y = _mm512_fmadd_pd(r, _mm512_set1_pd(EXPF_C2), _mm512_set1_pd(1.0));
  y = _mm512_fmadd_pd(zc, r2, y);
  y = _mm512_mul_pd(y, s);
  const __m512d f = _mm512_cvtps_pd(_mm512_cvtpd_ps(y));
  const __mmask8 under = _mm512_cmp_pd_mask(xd, _mm512_set1_pd(EXPF_UFLOW), _CMP_LT_OQ);
  return _mm512_maskz_mov_pd((__mmask8)~under, f);
}

__attribute__((target("avx512f"))) static void row_stats_avx512(const float *row, int32_t nv, int32_t t, double *st) {
  const int32_t n16 = nv & ~15;
  float mx = row[0];
  if (n16 >= 16) {
    __m512 m0 = _mm512_loadu_ps(row), m1 = m0;
    int32_t v = 16;
    for (; v + 32 <= n16; v += 32) {
      m0 = _mm512_max_ps(m0, _mm512_loadu_ps(row + v));
      m1 = _mm512_max_ps(m1, _mm512_loadu_ps(row + v + 16));
    }
    for (; v < n16; v += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(row + v));
    mx = _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
  }
  for (int32_t v = n16; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  const float lt = row[t];
  const __m512 mxv = _mm512_set1_ps(mx), ltv = _mm512_set1_ps(lt);
  const __m512d t0 = _mm512_loadu_pd((const double *)g_exp2f_tab), t1 = _mm512_loadu_pd((const double *)g_exp2f_tab + 8);
  const __m512d t2 = _mm512_loadu_pd((const double *)g_exp2f_tab + 16), t3 = _mm512_loadu_pd((const double *)g_exp2f_tab + 24);
  __m512d a0 = _mm512_setzero_pd(), a1 = a0;
  int32_t above = 0;
  int32_t am = -1;
  for (int32_t v = 0; v < n16; v += 16) {
    const __m512 x = _mm512_loadu_ps(row + v);
    const __m512 d = _mm512_sub_ps(x, mxv);
    a0 = _mm512_add_pd(a0, expf8_avx512(_mm512_castps512_ps256(d), t0, t1, t2, t3));
    a1 = _mm512_add_pd(a1, expf8_avx512(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)), t0, t1, t2, t3));
    above += __builtin_popcount((unsigned)_mm512_cmp_ps_mask(x, ltv, _CMP_GT_OQ));
    if (am < 0) {
      const unsigned eq = (unsigned)_mm512_cmp_ps_mask(x, mxv, _CMP_EQ_OQ);
      if (eq) am = v + __builtin_ctz(eq);
    }
  }
  double lanes[8];
  _mm512_storeu_pd(lanes, _mm512_add_pd(a0, a1));
  double sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (int32_t v = n16; v < nv; v++) {
    sum += expf(row[v] - mx);
    above += row[v] > lt;
    if (am < 0 && row[v] == mx) am = v;
  }
  if (am < 0) am = 0;
  row_stats_finish(row, nv, mx, lt, sum, am, above, st);
}

__attribute__((target("avx512f"))) static void expf8_avx512_store(const float *x, double *out) {
  const __m512d t0 = _mm512_loadu_pd((const double *)g_exp2f_tab), t1 = _mm512_loadu_pd((const double *)g_exp2f_tab + 8);
  const __m512d t2 = _mm512_loadu_pd((const double *)g_exp2f_tab + 16), t3 = _mm512_loadu_pd((const double *)g_exp2f_tab + 24);
  _mm512_storeu_pd(out, expf8_avx512(_mm256_loadu_ps(x), t0, t1, t2, t3));
}

__attribute__((target("avx2,fma"))) static void expf4_avx2_store(const float *x, double *out) {
  _mm256_storeu_pd(out, expf4_avx2(_mm_loadu_ps(x)));
}

/* 1 when the vector expf (8 lanes when wide, else 4) equals this process's libm expf,
   bit for bit, on a sweep of inputs over [−110, 0] (row_stats only passes l − max ≤ 0)
   plus −inf and the edges. */
static int expf_vector_matches_libm(int wide) {
  float xs[8];
  double got[8];
  uint32_t state = 12345u;
  for (int i = 0; i < 20000; i++) {
    for (int k = 0; k < 8; k++) {
      state = state * 1664525u + 1013904223u;
      const int mode = (i + k) & 3;
      /* uniform on [−110, 0], on [−1, 0], near 0, and around the underflow threshold */
      const float u = (float)(state >> 8) / 16777216.0f;
      xs[k] = mode == 0 ? -110.0f * u : mode == 1 ? -u : mode == 2 ? -1e-6f * u : -103.0f - 1.5f * u;
    }
    if (i == 0) {
      const float edge[8] = {0.0f, -INFINITY, -0.0f, -87.5f, -88.0f, -0x1.9fe368p6f, -0x1p-149f, -103.28f};
      memcpy(xs, edge, sizeof xs);
    }
    if (wide) {
      expf8_avx512_store(xs, got);
    } else {
      expf4_avx2_store(xs, got);
      expf4_avx2_store(xs + 4, got + 4);
    }
    for (int k = 0; k < 8; k++) {
      const float want = expf(xs[k]);
      /* glibc flushes −103.97 < x < −103.28 to its smallest subnormal; either way the
         term is ≤ 2^-149, below the last bit of any row sum (which is ≥ 1). */
      if (xs[k] < -103.28f) {
        if (!(got[k] >= 0.0 && got[k] <= 0x1p-148)) return 0;
        continue;
      }
      if ((float)got[k] != want || (want == 0.0f && got[k] != 0.0)) return 0;
    }
  }
  return 1;
}

static void exp2f_table_init(void) {
  for (int j = 0; j < 32; j++) {
    const double v = (double)exp2l((long double)j / 32.0L);
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    g_exp2f_tab[j] = b - ((uint64_t)j << 47);
  }
}
#endif

static void row_stats_select(void) {
  const char *env = getenv("XENT_NATIVE_ROW_STATS");
  if (env && strcmp(env, "scalar") == 0) return;
#ifdef XENT_ROW_STATS_AVX2
  __builtin_cpu_init();
  exp2f_table_init();
  const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f") && !(env && strcmp(env, "avx2") == 0) && expf_vector_matches_libm(1)) {
    row_stats = row_stats_avx512;
    row_stats_name = "avx512";
  } else if (avx2 && expf_vector_matches_libm(0)) {
    row_stats = row_stats_avx2;
    row_stats_name = "avx2";
  }
#endif
}

#endif
