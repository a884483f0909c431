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
 * binding. The expf values come from the row statistics' vector expf where it was selected
 * (row-stats.h: bit-identical to libm's, checked at init and exhaustively by check-expf.c;
 * below −103.28 both are ≤ 2^-148, which a float sum holding its row's 1 cannot see),
 * 8 at a time, and are added in index order, so the sums are libm's bit for bit.
 *
 * Rows are split over threads, as llama-perplexity spreads compute_logprobs over its workers.
 */
#ifndef XENT_LLAMA_TASK_H
#define XENT_LLAMA_TASK_H

/* One row's max, its float sum and its double sum of expf(l − max) (one pass, both sums in index order). */
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
  int32_t v = 0;
#ifdef XENT_ROW_STATS_AVX2
  const int wide = row_stats == row_stats_avx512, narrow = row_stats == row_stats_avx2;
  if (wide || narrow) {
    float x[8];
    double e[8];
    for (; v + 8 <= nv; v += 8) {
      for (int k = 0; k < 8; k++) x[k] = row[v + k] - mx;
      if (wide) {
        expf8_avx512_store(x, e);
      } else {
        expf4_avx2_store(x, e);
        expf4_avx2_store(x + 4, e + 4);
      }
      for (int k = 0; k < 8; k++) {
        sum += (float)e[k];
        dsum += e[k];
      }
    }
  }
#endif
  for (; v < nv; v++) {
    const float e = expf(row[v] - mx);
    sum += e;
    dsum += e;
  }
  return (llama_row_sums){mx, sum, dsum};
}

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
     token of every ending): its sums are computed once. */
  const float *prev = NULL;
  llama_row_sums s = {0};
  for (size_t r = j->r0; r < j->r1; r++) {
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
