/*
 * llama-perplexity's task arithmetic (tools/perplexity/perplexity.cpp) on logit rows, in its
 * float32 operations, for `xent tasks` (included once, by xent-llama.c, after row-stats.h):
 *
 *   lp  compute_logprobs: float max, a float sum of expf(l − max) in index order,
 *       then (l[t] − max) − logf(sum), each step in float (every scored token of Winogrande,
 *       every token but the first of a HellaSwag ending or a multiple-choice answer);
 *   sm  softmax then std::log: p = (float)(expf(l[t] − max) / Σ expf summed in double),
 *       then logf(p) (the first token of an ending, read from the shared prefix's last row).
 *
 * Both come from one pass: the same expf values go into the float and the double sum. They
 * are src/tasks/llama-arith.ts's operations, which stays the reference where there is no
 * binding. llama_sums is the C reference (libm's expf); llama_sums4 takes four rows at once
 * with the row statistics' vector expf where it was selected (row-stats.h: bit-identical to
 * libm's, checked at init and exhaustively by check-expf.c; below −103.28 both are ≤ 2^-148,
 * which a float sum holding its row's 1 cannot see), adding each row's terms in index order,
 * so its sums are the reference's bit for bit (tested with XENT_NATIVE_ROW_STATS=scalar).
 *
 * Rows are split over threads, as llama-perplexity spreads compute_logprobs over its workers.
 */
#ifndef XENT_LLAMA_TASK_H
#define XENT_LLAMA_TASK_H

/* One row's max, its float sum and its double sum of expf(l − max) (one pass, both sums in
   index order): the reference, and the path for rows that come alone. */
typedef struct {
  float mx, sum;
  double dsum;
} llama_row_sums;

static llama_row_sums llama_sums(const float *row, int32_t nv) {
  float mx = row[0];
  for (int32_t v = 1; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  float sum = 0.0f;
  double dsum = 0.0;
  for (int32_t v = 0; v < nv; v++) {
    const float e = expf(row[v] - mx);
    sum += e;
    dsum += e;
  }
  return (llama_row_sums){mx, sum, dsum};
}

#ifdef XENT_ROW_STATS_AVX2
/*
 * Four rows at once, with the vector expf (bit-identical to libm's, see above). Each row's
 * float sum must run in index order to equal llama.cpp's bit for bit, so one row is a chain of
 * dependent additions (4 cycles each); four independent rows' chains run side by side, which
 * is where the time goes at V = 32000 (about 3× faster than one row at a time). The max is
 * exact in any order for the rows that matter (without NaN; a row with NaN gives NaN sums
 * either way, which the caller reports).
 */
__attribute__((target("avx512f"))) static float llama_max_avx512(const float *row, int32_t nv) {
  __m512 m = _mm512_set1_ps(row[0]);
  int32_t v = 0;
  for (; v + 16 <= nv; v += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + v));
  float mx = _mm512_reduce_max_ps(m);
  for (; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  return mx;
}

__attribute__((target("avx2"))) static float llama_max_avx2(const float *row, int32_t nv) {
  __m256 m = _mm256_set1_ps(row[0]);
  int32_t v = 0;
  for (; v + 8 <= nv; v += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(row + v));
  float lanes[8];
  _mm256_storeu_ps(lanes, m);
  float mx = lanes[0];
  for (int k = 1; k < 8; k++)
    if (lanes[k] > mx) mx = lanes[k];
  for (; v < nv; v++)
    if (row[v] > mx) mx = row[v];
  return mx;
}

/* Adds four rows' terms e[i][k] (k = 0 … 7, index order) to their float and double sums. */
#define LLAMA_ADD4(e, sum, dsum)                 \
  for (int k = 0; k < 8; k++) {                  \
    for (int i = 0; i < 4; i++) {                \
      sum[i] += (float)e[i][k];                  \
      dsum[i] += e[i][k];                        \
    }                                            \
  }

/* The tail (nv not a multiple of 8) with libm's expf, and the result. */
static void llama_sums4_finish(const float *const *rows, int32_t nv, int32_t v, const float *mx, float *sum,
                               double *dsum, llama_row_sums *out) {
  for (int i = 0; i < 4; i++) {
    for (int32_t w = v; w < nv; w++) {
      const float ex = expf(rows[i][w] - mx[i]);
      sum[i] += ex;
      dsum[i] += ex;
    }
    out[i] = (llama_row_sums){mx[i], sum[i], dsum[i]};
  }
}

__attribute__((target("avx512f"))) static void llama_sums4_avx512(const float *const *rows, int32_t nv, llama_row_sums *out) {
  const __m512d t0 = _mm512_loadu_pd((const double *)g_exp2f_tab), t1 = _mm512_loadu_pd((const double *)g_exp2f_tab + 8);
  const __m512d t2 = _mm512_loadu_pd((const double *)g_exp2f_tab + 16), t3 = _mm512_loadu_pd((const double *)g_exp2f_tab + 24);
  float mx[4], sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  double dsum[4] = {0.0, 0.0, 0.0, 0.0};
  __m256 vmx[4];
  double e[4][8] __attribute__((aligned(64)));
  for (int i = 0; i < 4; i++) {
    mx[i] = llama_max_avx512(rows[i], nv);
    vmx[i] = _mm256_set1_ps(mx[i]);
  }
  int32_t v = 0;
  for (; v + 8 <= nv; v += 8) {
    for (int i = 0; i < 4; i++)
      _mm512_store_pd(e[i], expf8_avx512(_mm256_sub_ps(_mm256_loadu_ps(rows[i] + v), vmx[i]), t0, t1, t2, t3));
    LLAMA_ADD4(e, sum, dsum)
  }
  llama_sums4_finish(rows, nv, v, mx, sum, dsum, out);
}

__attribute__((target("avx2,fma"))) static void llama_sums4_avx2(const float *const *rows, int32_t nv, llama_row_sums *out) {
  float mx[4], sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  double dsum[4] = {0.0, 0.0, 0.0, 0.0};
  __m128 vmx[4];
  double e[4][8] __attribute__((aligned(32)));
  for (int i = 0; i < 4; i++) {
    mx[i] = llama_max_avx2(rows[i], nv);
    vmx[i] = _mm_set1_ps(mx[i]);
  }
  int32_t v = 0;
  for (; v + 8 <= nv; v += 8) {
    for (int i = 0; i < 4; i++) {
      _mm256_store_pd(e[i], expf4_avx2(_mm_sub_ps(_mm_loadu_ps(rows[i] + v), vmx[i])));
      _mm256_store_pd(e[i] + 4, expf4_avx2(_mm_sub_ps(_mm_loadu_ps(rows[i] + v + 4), vmx[i])));
    }
    LLAMA_ADD4(e, sum, dsum)
  }
  llama_sums4_finish(rows, nv, v, mx, sum, dsum, out);
}
#endif

/* Both values for token t of a row whose sums are s. */
static void llama_values(const float *row, const llama_row_sums *s, int32_t t, float *lp, float *sm) {
  *lp = (row[t] - s->mx) - logf(s->sum);
  *sm = logf((float)(expf(row[t] - s->mx) / s->dsum));
}

/* Pairs r0 … r1−1: rows[r] is a row of nv logits, targets[r] its token; out is [n, 2] (lp, sm). */
typedef struct {
  const float *const *rows;
  int32_t nv;
  const int32_t *targets;
  float *out;
  size_t r0, r1;
} llama_rows_job;

static void *llama_rows_run(void *arg) {
  const llama_rows_job *j = (const llama_rows_job *)arg;
  /* Pairs that read the same row come together (a shared prefix's last row scores the first
     token of every ending): its sums are computed once. The distinct rows of the job go four
     at a time through llama_sums4 where the vector expf was selected. */
  size_t r = j->r0;
#ifdef XENT_ROW_STATS_AVX2
  const int wide = row_stats == row_stats_avx512, narrow = row_stats == row_stats_avx2;
  if (wide || narrow) {
    while (r < j->r1) {
      const float *rows[4];
      size_t first[5];
      int n = 0;
      size_t q = r;
      while (q < j->r1 && n < 4) {
        first[n] = q;
        rows[n++] = j->rows[q];
        while (q < j->r1 && j->rows[q] == rows[n - 1]) q++;
      }
      if (n < 4) break; /* fewer than four rows left: one at a time below */
      first[4] = q;
      llama_row_sums s[4];
      if (wide)
        llama_sums4_avx512(rows, j->nv, s);
      else
        llama_sums4_avx2(rows, j->nv, s);
      for (int i = 0; i < 4; i++)
        for (size_t p = first[i]; p < first[i + 1]; p++)
          llama_values(j->rows[p], &s[i], j->targets[p], j->out + 2 * p, j->out + 2 * p + 1);
      r = q;
    }
  }
#endif
  const float *prev = NULL;
  llama_row_sums s = {0};
  for (; r < j->r1; r++) {
    if (j->rows[r] != prev) s = llama_sums(prev = j->rows[r], j->nv);
    llama_values(j->rows[r], &s, j->targets[r], j->out + 2 * r, j->out + 2 * r + 1);
  }
  return NULL;
}

#define LLAMA_ROWS_MAX_THREADS 16

/* The values of n rows on up to `threads` threads (the caller's included). A thread pays for
   its start (~50 µs) from about half a million logits on, so smaller calls stay on one. */
static void llama_rows(const float *const *rows, int32_t nv, const int32_t *targets, size_t n, float *out, int threads) {
  if (n == 0) return;
  const size_t per = (size_t)1 << 19;
  size_t want = (n * (size_t)nv) / per;
  if (want < 1) want = 1;
  if (want > (size_t)threads) want = (size_t)threads;
  if (want > n) want = n;
  if (want > LLAMA_ROWS_MAX_THREADS) want = LLAMA_ROWS_MAX_THREADS;
  llama_rows_job jobs[LLAMA_ROWS_MAX_THREADS];
  pthread_t th[LLAMA_ROWS_MAX_THREADS];
  int started[LLAMA_ROWS_MAX_THREADS] = {0};
  for (size_t k = 0; k < want; k++) {
    jobs[k] = (llama_rows_job){rows, nv, targets, out, n * k / want, n * (k + 1) / want};
    if (k > 0) started[k] = pthread_create(&th[k], NULL, llama_rows_run, &jobs[k]) == 0;
  }
  llama_rows_run(&jobs[0]);
  for (size_t k = 1; k < want; k++) {
    if (started[k]) pthread_join(th[k], NULL);
    else llama_rows_run(&jobs[k]); /* no thread: do its rows here */
  }
}

#endif
