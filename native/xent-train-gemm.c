/*
 * The matrix product C[M, N] (=|+=) op(A)·op(B) (+ bias) of the training kernels: the plain
 * reference (xt_gemm_ref) and the BLIS-style driver around a vector micro-kernel
 * (xt_gemm with xt_cur->gemm set; the kernels and their packing are in
 * xent-train-gemm-x86.c). Semantics and the bit-identity of all implementations: see
 * xt_gemm_t in xent-train.h.
 *
 * The driver (after Goto and van de Geijn, "Anatomy of high-performance matrix
 * multiplication", ACM TOMS 2008; Van Zee and van de Geijn, "BLIS", ACM TOMS 2015):
 *   for each column panel jc of nc columns:
 *     pack B(0 … K, jc … jc+nc) into nr-wide micro-panels Bp[q][k][nr]   (all threads, by micro-panel)
 *     for each kc-block pc of K (one fork-join each):
 *       split C[·, jc … jc+nc] into units of rows × micro-panels; threads take units in turn:
 *         for each mc-block ic of the unit's rows:
 *           pack A(ic … ic+mc, pc … pc+kc) into mr-tall micro-panels Ap[p][k][mr]  (private, in L2)
 *           for each micro-panel q (kc×nr of Bp, in L1):  for each mr rows:  micro-kernel
 * B is packed whole in K (not per kc-block) so that one parallel packing pass serves all of K;
 * nc is capped so that Bp stays within XT_BP_FLOATS. All threads work through the same kc-block
 * at a time, so the kc rows of A that block reads stay in cache while every unit reads them. Units
 * are handed out through an atomic counter, so a thread slowed by other work on its core
 * takes fewer; every element is still computed by one chain in k order, so the result does
 * not depend on which thread computed it.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "xent-train.h"

/* Floats of packed B held at once (16 MiB): K·nc ≤ this unless one micro-panel is larger. */
#define XT_BP_FLOATS (4 << 20)

/* ---------- the plain reference ---------- */

static void ref_range(const xt_gemm_t *g, int64_t m0, int64_t m1) {
  for (int64_t m = m0; m < m1; m++) {
    for (int64_t n = 0; n < g->N; n++) {
      float acc = g->accumulate ? g->C[m * g->ldc + n] : 0.0f;
      if (g->bias) acc = acc + g->bias[n];
      for (int64_t k = 0; k < g->K; k++) {
        const float a = g->transA ? g->A[k * g->lda + m] : g->A[m * g->lda + k];
        const float b = g->transB ? g->B[n * g->ldb + k] : g->B[k * g->ldb + n];
        acc = fmaf(a, b, acc);
      }
      g->C[m * g->ldc + n] = acc;
    }
  }
}

static void ref_task(void *p, int part, int nparts) {
  const xt_gemm_t *g = (const xt_gemm_t *)p;
  ref_range(g, xt_range(g->M, 1, part, nparts), xt_range(g->M, 1, part + 1, nparts));
}

void xt_gemm_ref(const xt_gemm_t *g) {
  if (g->M == 0 || g->N == 0) return;
  xt_run(ref_task, (void *)g);
}

/* ---------- the blocked driver ---------- */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

typedef struct {
  const xt_gemm_t *g;
  const xt_gemm_kernel_t *kd;
  int64_t jc;
  int nc, np; /* columns of this panel, micro-panels */
  float *bp;
  int64_t mu;           /* rows per unit (a multiple of mr) */
  int pu, col_units;    /* micro-panels per unit, units across the panel */
  int64_t units;
  int64_t pc; /* the kc-block of K the compute pass works on */
  int kc;
  _Atomic int64_t next;
} step_t;

static void pack_b_task(void *p, int part, int nparts) {
  step_t *s = (step_t *)p;
  const int q0 = (int)xt_range(s->np, 1, part, nparts), q1 = (int)xt_range(s->np, 1, part + 1, nparts);
  if (q0 < q1) s->kd->pack_b(s->g, 0, (int)s->g->K, s->jc, s->nc, q0, q1, s->bp);
}

/* Rows [m0, m1) × micro-panels [q0, q1) of the columns jc … jc+nc, for k in [pc, pc + kc); B
   packed whole in K at bp. */
static void compute_block(const xt_gemm_t *g, const xt_gemm_kernel_t *kd, const float *bp, int64_t jc, int nc,
                          int64_t m0, int64_t m1, int q0, int q1, int64_t pc, int kc, float *ap) {
  const int mr = kd->mr, nr = kd->nr;
  const int load_c = pc > 0 || g->accumulate;
  for (int64_t ic = m0; ic < m1; ic += kd->mc) {
    const int mc = (int)(m1 - ic < kd->mc ? m1 - ic : kd->mc);
    kd->pack_a(g, ic, mc, pc, kc, ap);
    for (int q = q0; q < q1; q++) {
      const int64_t j = (int64_t)q * nr;
      const int ncols = (int)(nc - j < nr ? nc - j : nr);
      /* micro-panel q of bp holds all K rows; its rows pc … pc+kc start at pc·nr */
      const float *bq = bp + ((size_t)q * (size_t)g->K + (size_t)pc) * (size_t)nr;
      float *cq = g->C + ic * g->ldc + jc + j;
      const float *bias = pc == 0 && g->bias ? g->bias + jc + j : NULL;
      for (int ir = 0; ir < mc; ir += mr)
        kd->ukr(mc - ir < mr ? mc - ir : mr, ncols, kc, ap + (size_t)ir * (size_t)kc, bq, cq + ir * g->ldc, g->ldc,
                load_c, bias);
    }
  }
}

static float *pack_a_buffer(const xt_gemm_kernel_t *kd, int part) {
  return xt_scratch(XT_SLOT_AP + part, (size_t)(kd->mc + kd->mr) * (size_t)kd->kc);
}

static void compute_task(void *p, int part, int nparts) {
  (void)nparts;
  step_t *s = (step_t *)p;
  float *ap = pack_a_buffer(s->kd, part);
  if (!ap) return;
  for (;;) {
    const int64_t u = atomic_fetch_add_explicit(&s->next, 1, memory_order_relaxed);
    if (u >= s->units) break;
    const int64_t m0 = (u / s->col_units) * s->mu;
    const int64_t m1 = m0 + s->mu < s->g->M ? m0 + s->mu : s->g->M;
    const int q0 = (int)(u % s->col_units) * s->pu;
    const int q1 = q0 + s->pu < s->np ? q0 + s->pu : s->np;
    compute_block(s->g, s->kd, s->bp, s->jc, s->nc, m0, m1, q0, q1, s->pc, s->kc, ap);
  }
}

float *xt_gemm_pack_b_all(const xt_gemm_t *g, int slot) {
  const xt_gemm_kernel_t *kd = xt_cur->gemm;
  if (!kd) return NULL;
  step_t s;
  s.g = g;
  s.kd = kd;
  s.jc = 0;
  s.nc = (int)g->N;
  s.np = (int)ceil_div(g->N, kd->nr);
  s.bp = xt_scratch(slot, (size_t)s.np * (size_t)kd->nr * (size_t)(g->K > 0 ? g->K : 1));
  if (s.bp && g->K > 0) xt_run(pack_b_task, &s);
  return s.bp;
}

void xt_gemm_rows(const xt_gemm_t *g, const float *bp, int64_t m0, int64_t m1, int part) {
  const xt_gemm_kernel_t *kd = xt_cur->gemm;
  if (m0 >= m1 || g->N == 0) return;
  if (!kd) {
    ref_range(g, m0, m1);
    return;
  }
  if (g->K == 0) {
    for (int64_t m = m0; m < m1; m++)
      for (int64_t n = 0; n < g->N; n++) {
        float acc = g->accumulate ? g->C[m * g->ldc + n] : 0.0f;
        if (g->bias) acc = acc + g->bias[n];
        g->C[m * g->ldc + n] = acc;
      }
    return;
  }
  float *ap = pack_a_buffer(kd, part);
  if (!ap) return;
  for (int64_t pc = 0; pc < g->K; pc += kd->kc)
    compute_block(g, kd, bp, 0, (int)g->N, m0, m1, 0, (int)ceil_div(g->N, kd->nr), pc,
                  (int)(g->K - pc < kd->kc ? g->K - pc : kd->kc), ap);
}

void xt_gemm(const xt_gemm_t *g) {
  const xt_gemm_kernel_t *kd = xt_cur->gemm;
  if (!kd) {
    xt_gemm_ref(g);
    return;
  }
  if (g->M == 0 || g->N == 0) return;
  if (g->K == 0) {
    xt_gemm_rows(g, NULL, 0, g->M, 0); /* C = (accumulate ? C : 0) + bias */
    return;
  }
  const int mr = kd->mr, nr = kd->nr;
  const int T = xt_threads();
  /* columns per panel: kd->nc, fewer when K·nc would exceed XT_BP_FLOATS */
  int64_t ncap = XT_BP_FLOATS / g->K / nr * nr;
  if (ncap < nr) ncap = nr;
  if (ncap > kd->nc) ncap = kd->nc;
  for (int64_t jc = 0; jc < g->N; jc += ncap) {
    step_t s;
    s.g = g;
    s.kd = kd;
    s.jc = jc;
    s.nc = (int)(g->N - jc < ncap ? g->N - jc : ncap);
    s.np = (int)ceil_div(s.nc, nr);
    s.bp = xt_scratch(XT_SLOT_BP, (size_t)s.np * (size_t)nr * (size_t)g->K);
    if (!s.bp) return;
    xt_run(pack_b_task, &s);
    /* Units: row blocks of at most mc rows; with several threads at least 2 per thread
       (row blocks of fewer rows when M is small, then column groups when rows run out). */
    const int64_t tiles = ceil_div(g->M, mr);
    int64_t row_units = ceil_div(g->M, kd->mc);
    if (T > 1 && row_units < 2 * T) row_units = tiles < 2 * T ? tiles : 2 * T;
    s.mu = ceil_div(ceil_div(g->M, row_units), mr) * mr;
    row_units = ceil_div(g->M, s.mu);
    int64_t cu = 1;
    if (T > 1 && row_units < 2 * T) cu = ceil_div(2 * T, row_units);
    if (cu > s.np) cu = s.np;
    s.pu = (int)ceil_div(s.np, cu);
    s.col_units = (int)ceil_div(s.np, s.pu);
    s.units = row_units * s.col_units;
    /* one pass per kc-block of K, all threads on the same block: the rows of A it reads (for a
       transposed A, K rows of a wide matrix at a large stride) stay in cache across the units */
    for (s.pc = 0; s.pc < g->K; s.pc += kd->kc) {
      s.kc = (int)(g->K - s.pc < kd->kc ? g->K - s.pc : kd->kc);
      atomic_store(&s.next, 0);
      xt_run(compute_task, &s);
    }
  }
}
