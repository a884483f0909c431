/*
 * The training operations over whole buffers: each splits its work across the pool by
 * output rows or columns (never by a sum's terms) and calls the implementation in use
 * (xt_cur: scalar reference, AVX2 or AVX-512). So every output element is computed by one
 * thread in a fixed order, and results are the same for every thread count.
 *
 * Cross-entropy rows. For a row n with target y (y = ignore: no loss, zero gradient),
 * logits z [V], class weights w (1 without), the statistics are
 *   st[0] = m = max_v z_v,  st[1] = log Σ_v exp(z_v − m),  st[2] = z_y,  st[3] = Σ_v w_v·z_v
 * (float32 exp of the float32 difference, summed in float64), so lse = m + st[1] and every
 * loss of src/loss/cross-entropy-kernel.ts follows: nll = w_y(lse − z_y), smoothing
 * Σ_v w_v(lse − z_v) = lse·Σw − st[3], z-loss lse². The gradient is
 *   dz_v = α_n·p_v − γ_n·w_v − β_n·[v = y],  p_v = exp((z_v − m) − st[1]),
 * with the per-row coefficients α, β, γ that the reduction implies (for the trainer's mean
 * loss with smoothing ε over K kept rows: α = 1/K, β = (1 − ε)/K, γ = ε/(V·K)).
 *
 * Linear + cross-entropy over vocabulary blocks (never [N, V]): for each block of vb
 * vocabulary rows, Z = H·W_blockᵀ + b_block [N, vb] in one scratch buffer, then
 *   forward: the statistics above, merged across blocks with an online log-sum-exp
 *     (m ← max(m, m_b), s ← s·e^(m_old − m) + Σ e^(z − m));
 *   backward: Z recomputed, turned into dZ in place, then dH (+)= dZ·W_block,
 *     dW_block (+)= dZᵀ·H, db_block (+)= Σ_n dZ.
 * Extra memory: N·vb floats for the block plus the products' packing buffers.
 *
 * LSTM. Rows are time-major (n = t·B + b): h and c are [(T+1)·B, H] with the initial state
 * in rows 0 … B−1, xg and act are [T·B, 4H] (gates i, f, g, o; xg includes both biases).
 *   forward, for t = 0 … T−1: gh = h_t · W_hhᵀ [B, 4H]; pre = gh + xg_t;
 *     act = (σ(i), σ(f), tanh(g), σ(o)); c_{t+1} = f·c_t + i·g; h_{t+1} = o·tanh(c_{t+1});
 *   backward, for t = T−1 … 0, with dh, dc [B, H] the gradient flowing into step t's outputs:
 *     dh' = dhs_t + dh; dc' = dc + dh'·o·(1 − tanh²c_{t+1});
 *     dz_t = (dc'·g·i(1−i), dc'·c_t·f(1−f), dc'·i(1−g²), dh'·tanh c_{t+1}·o(1−o));
 *     dc ← dc'·f; dh ← dz_t · W_hh.
 *   On return dh and dc hold d loss / d h_0 and d loss / d c_0.
 * Each thread owns a range of batch rows for all T steps (row b of step t needs only row b
 * of step t − 1), so the recurrence runs without a barrier per step; W_hh is packed once.
 */
#include <math.h>
#include <string.h>

#include "xent-train.h"

/* ---------- cross-entropy rows ---------- */

static void stats_init(double *st, int64_t rows) {
  for (int64_t r = 0; r < rows; r++) {
    st[r * 4] = -INFINITY;
    st[r * 4 + 1] = 0.0;
    st[r * 4 + 2] = 0.0;
    st[r * 4 + 3] = 0.0;
  }
}

/* st[1]: Σ → log Σ; ignored rows become zeros. */
static void stats_finish(double *st, const int32_t *targets, int32_t ignore, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    if (targets[r] == ignore) memset(st + r * 4, 0, 4 * sizeof(double));
    else st[r * 4 + 1] = log(st[r * 4 + 1]);
  }
}

typedef struct {
  float *z;
  int64_t rows, V;
  const int32_t *targets;
  int32_t ignore;
  const float *weight;
  double *stats;
  const double *alpha, *beta, *gamma;
  /* ce_rows */
  float eps, scale;
  int grad;
  double *loss_out, *ce_out;
} rows_t;

static void ce_rows_task(void *p, int part, int nparts) {
  rows_t *a = (rows_t *)p;
  const int64_t r0 = xt_range(a->rows, 1, part, nparts), r1 = xt_range(a->rows, 1, part + 1, nparts);
  const double eps = a->eps, sc = a->scale;
  for (int64_t r = r0; r < r1; r++) {
    /* one row at a time: statistics then gradient while the row is in cache */
    double st[4] = {-INFINITY, 0.0, 0.0, 0.0};
    const xt_ce_block_t blk = {a->z + r * a->V, a->V, 1, a->V, 0, a->targets + r, a->ignore, NULL, st};
    xt_cur->ce_block_stats(&blk, 0, 1);
    if (a->targets[r] == a->ignore) {
      a->loss_out[r] = 0.0;
      a->ce_out[r] = 0.0;
      if (a->grad) memset(a->z + r * a->V, 0, (size_t)a->V * sizeof(float));
      continue;
    }
    st[1] = log(st[1]);
    const double lse = st[0] + st[1];
    const double ce = lse - st[2];
    a->ce_out[r] = ce;
    a->loss_out[r] = (1.0 - eps) * ce + eps * (lse - st[3] / (double)a->V);
    if (a->grad) {
      const double al = sc, be = sc * (1.0 - eps), ga = sc * eps / (double)a->V;
      const xt_ce_grad_t g = {a->z + r * a->V, a->V, 1, a->V, 0, a->targets + r, a->ignore, NULL, st, &al, &be, &ga};
      xt_cur->ce_block_grad(&g, 0, 1);
    }
  }
}

void xt_ce_rows(float *z, int64_t rows, int64_t V, const int32_t *targets, float eps, int32_t ignore, float scale,
                int grad, double *loss_out, double *ce_out) {
  rows_t a = {0};
  a.z = z;
  a.rows = rows;
  a.V = V;
  a.targets = targets;
  a.ignore = ignore;
  a.eps = eps;
  a.scale = scale;
  a.grad = grad;
  a.loss_out = loss_out;
  a.ce_out = ce_out;
  xt_run(ce_rows_task, &a);
}

static void ce_stats_task(void *p, int part, int nparts) {
  rows_t *a = (rows_t *)p;
  const int64_t r0 = xt_range(a->rows, 1, part, nparts), r1 = xt_range(a->rows, 1, part + 1, nparts);
  stats_init(a->stats + r0 * 4, r1 - r0);
  const xt_ce_block_t blk = {a->z, a->V, a->rows, a->V, 0, a->targets, a->ignore, a->weight, a->stats};
  xt_cur->ce_block_stats(&blk, r0, r1);
  stats_finish(a->stats, a->targets, a->ignore, r0, r1);
}

void xt_ce_stats(const float *z, int64_t rows, int64_t V, const int32_t *targets, int32_t ignore, const float *weight,
                 double *stats) {
  rows_t a = {0};
  a.z = (float *)z;
  a.rows = rows;
  a.V = V;
  a.targets = targets;
  a.ignore = ignore;
  a.weight = weight;
  a.stats = stats;
  xt_run(ce_stats_task, &a);
}

static void ce_grad_task(void *p, int part, int nparts) {
  rows_t *a = (rows_t *)p;
  const xt_ce_grad_t g = {a->z,   a->V,         a->rows,  a->V,     0,       a->targets,
                          a->ignore, a->weight, a->stats, a->alpha, a->beta, a->gamma};
  xt_cur->ce_block_grad(&g, xt_range(a->rows, 1, part, nparts), xt_range(a->rows, 1, part + 1, nparts));
}

void xt_ce_grad(float *z, int64_t rows, int64_t V, const int32_t *targets, int32_t ignore, const float *weight,
                const double *stats, const double *alpha, const double *beta, const double *gamma) {
  rows_t a = {0};
  a.z = z;
  a.rows = rows;
  a.V = V;
  a.targets = targets;
  a.ignore = ignore;
  a.weight = weight;
  a.stats = (double *)stats;
  a.alpha = alpha;
  a.beta = beta;
  a.gamma = gamma;
  xt_run(ce_grad_task, &a);
}

/* ---------- linear + cross-entropy over vocabulary blocks ---------- */

typedef struct {
  const xt_ce_block_t *blk;
  const xt_ce_grad_t *grad;
} block_task_t;

static void block_stats_task(void *p, int part, int nparts) {
  const xt_ce_block_t *b = ((block_task_t *)p)->blk;
  xt_cur->ce_block_stats(b, xt_range(b->rows, 1, part, nparts), xt_range(b->rows, 1, part + 1, nparts));
}

static void block_grad_task(void *p, int part, int nparts) {
  const xt_ce_grad_t *g = ((block_task_t *)p)->grad;
  xt_cur->ce_block_grad(g, xt_range(g->rows, 1, part, nparts), xt_range(g->rows, 1, part + 1, nparts));
}

/* Z [N, nb] = H · W[v0 … v0+nb]ᵀ + b[v0 …] into zb. */
static void block_logits(const xt_lce_t *a, int64_t v0, int64_t nb, float *zb) {
  const xt_gemm_t g = {0, 1, a->N, nb, a->D, a->h, a->D, a->w + v0 * a->D, a->D, zb, nb, 0,
                       a->bias ? a->bias + v0 : NULL};
  xt_gemm(&g);
}

void xt_lce_forward(const xt_lce_t *a, double *stats) {
  stats_init(stats, a->N);
  float *zb = xt_scratch(XT_SLOT_LCE, (size_t)a->N * (size_t)(a->vb < a->V ? a->vb : a->V));
  if (!zb) return;
  for (int64_t v0 = 0; v0 < a->V; v0 += a->vb) {
    const int64_t nb = a->V - v0 < a->vb ? a->V - v0 : a->vb;
    block_logits(a, v0, nb, zb);
    const xt_ce_block_t blk = {zb, nb, a->N, nb, v0, a->targets, a->ignore, a->weight, stats};
    block_task_t t = {&blk, NULL};
    xt_run(block_stats_task, &t);
  }
  stats_finish(stats, a->targets, a->ignore, 0, a->N);
}

typedef struct {
  float *out;
  const float *a;
  int64_t M, N, ld;
  int acc;
} colsum_t;

static void col_sum_task(void *p, int part, int nparts) {
  colsum_t *c = (colsum_t *)p;
  /* columns in multiples of 64 per thread: whole cache lines of the output */
  const int64_t n0 = xt_range(c->N, 64, part, nparts), n1 = xt_range(c->N, 64, part + 1, nparts);
  if (n0 < n1) xt_cur->col_sum(c->out, c->a, c->M, c->N, c->ld, n0, n1, c->acc);
}

void xt_lce_backward(const xt_lce_t *a, const double *stats, const double *alpha, const double *beta,
                     const double *gamma, float *dh, float *dw, float *db, int accumulate) {
  float *zb = xt_scratch(XT_SLOT_LCE, (size_t)a->N * (size_t)(a->vb < a->V ? a->vb : a->V));
  if (!zb) return;
  for (int64_t v0 = 0; v0 < a->V; v0 += a->vb) {
    const int64_t nb = a->V - v0 < a->vb ? a->V - v0 : a->vb;
    block_logits(a, v0, nb, zb);
    const xt_ce_grad_t gr = {zb, nb, a->N, nb, v0, a->targets, a->ignore, a->weight, stats, alpha, beta, gamma};
    block_task_t t = {NULL, &gr};
    xt_run(block_grad_task, &t);
    const float *wb = a->w + v0 * a->D;
    if (dh) {
      /* dH (+)= dZ · W_block: the chain of each element continues across blocks */
      const xt_gemm_t g = {0, 0, a->N, a->D, nb, zb, nb, wb, a->D, dh, a->D, accumulate || v0 > 0, NULL};
      xt_gemm(&g);
    }
    if (dw) {
      const xt_gemm_t g = {1, 0, nb, a->D, a->N, zb, nb, a->h, a->D, dw + v0 * a->D, a->D, accumulate, NULL};
      xt_gemm(&g);
    }
    if (db) {
      colsum_t c = {db + v0, zb, a->N, nb, nb, accumulate};
      xt_run(col_sum_task, &c);
    }
  }
}

/* ---------- LSTM ---------- */

typedef struct {
  const float *xg, *whh, *act, *dhs;
  float *h, *c, *act_out, *dz, *dh, *dc, *gh;
  const float *bp;
  int64_t B, H, T;
} lstm_t;

static void lstm_fwd_task(void *p, int part, int nparts) {
  lstm_t *s = (lstm_t *)p;
  const int64_t B = s->B, H = s->H, G = 4 * H;
  const int64_t b0 = xt_range(B, 1, part, nparts), b1 = xt_range(B, 1, part + 1, nparts);
  if (b0 >= b1) return;
  for (int64_t t = 0; t < s->T; t++) {
    const float *hprev = s->h + t * B * H;
    const xt_gemm_t g = {0, 1, B, G, H, hprev, H, s->whh, H, s->gh, G, 0, NULL};
    xt_gemm_rows(&g, s->bp, b0, b1, part);
    xt_cur->lstm_fwd_rows(s->gh, s->xg + t * B * G, s->act_out + t * B * G, s->c + t * B * H, s->c + (t + 1) * B * H,
                          s->h + (t + 1) * B * H, b0, b1, H);
  }
}

void xt_lstm_forward(const float *xg, const float *whh, float *h, float *c, float *act, int64_t B, int64_t H,
                     int64_t T) {
  const int64_t G = 4 * H;
  lstm_t s = {0};
  s.xg = xg;
  s.whh = whh;
  s.h = h;
  s.c = c;
  s.act_out = act;
  s.B = B;
  s.H = H;
  s.T = T;
  s.gh = xt_scratch(XT_SLOT_ROWS, (size_t)(B * G));
  if (!s.gh) return;
  /* gh = h · W_hhᵀ: B operand W_hhᵀ [H, 4H], read from W_hh [4H, H] */
  const xt_gemm_t g = {0, 1, B, G, H, h, H, whh, H, s.gh, G, 0, NULL};
  s.bp = xt_gemm_pack_b_all(&g, XT_SLOT_BP);
  if (xt_cur->gemm && !s.bp) return;
  xt_run(lstm_fwd_task, &s);
}

static void lstm_bwd_task(void *p, int part, int nparts) {
  lstm_t *s = (lstm_t *)p;
  const int64_t B = s->B, H = s->H, G = 4 * H;
  const int64_t b0 = xt_range(B, 1, part, nparts), b1 = xt_range(B, 1, part + 1, nparts);
  if (b0 >= b1) return;
  for (int64_t t = s->T - 1; t >= 0; t--) {
    float *dzt = s->dz + t * B * G;
    xt_cur->lstm_bwd_rows(s->act + t * B * G, s->c + (t + 1) * B * H, s->c + t * B * H, s->dhs + t * B * H, s->dh,
                          s->dc, dzt, b0, b1, H);
    const xt_gemm_t g = {0, 0, B, H, G, dzt, G, s->whh, H, s->dh, H, 0, NULL};
    xt_gemm_rows(&g, s->bp, b0, b1, part);
  }
}

void xt_lstm_backward(const float *act, const float *c, const float *dhs, const float *whh, float *dz, float *dh,
                      float *dc, int64_t B, int64_t H, int64_t T) {
  const int64_t G = 4 * H;
  lstm_t s = {0};
  s.act = act;
  s.c = (float *)c;
  s.dhs = dhs;
  s.whh = whh;
  s.dz = dz;
  s.dh = dh;
  s.dc = dc;
  s.B = B;
  s.H = H;
  s.T = T;
  /* dh = dz_t · W_hh: B operand W_hh [4H, H] as it is */
  const xt_gemm_t g = {0, 0, B, H, G, dz, G, whh, H, dh, H, 0, NULL};
  s.bp = xt_gemm_pack_b_all(&g, XT_SLOT_BP);
  if (xt_cur->gemm && !s.bp) return;
  xt_run(lstm_bwd_task, &s);
}

/* ---------- reductions and updates ---------- */

void xt_col_sum(float *out, const float *a, int64_t M, int64_t N, int accumulate) {
  colsum_t c = {out, a, M, N, N, accumulate};
  xt_run(col_sum_task, &c);
}

typedef struct {
  float *x;
  const float *g;
  float *m, *v;
  int64_t n;
  float k;
  const float *coef;
  double *partial;
} flat_t;

static void sum_sq_task(void *p, int part, int nparts) {
  flat_t *f = (flat_t *)p;
  const int64_t nb = (f->n + XT_SUMSQ_BLOCK - 1) / XT_SUMSQ_BLOCK;
  for (int64_t b = xt_range(nb, 1, part, nparts); b < xt_range(nb, 1, part + 1, nparts); b++) {
    const int64_t i = b * XT_SUMSQ_BLOCK;
    f->partial[b] = xt_cur->sum_sq(f->x + i, f->n - i < XT_SUMSQ_BLOCK ? f->n - i : XT_SUMSQ_BLOCK);
  }
}

double xt_sum_sq(const float *x, int64_t n) {
  const int64_t nb = (n + XT_SUMSQ_BLOCK - 1) / XT_SUMSQ_BLOCK;
  flat_t f = {0};
  f.x = (float *)x;
  f.n = n;
  f.partial = (double *)xt_scratch(XT_SLOT_ROWS, (size_t)(2 * nb + 2));
  if (!f.partial) return NAN;
  xt_run(sum_sq_task, &f);
  double s = 0.0;
  for (int64_t b = 0; b < nb; b++) s += f.partial[b];
  return s;
}

static void scale_task(void *p, int part, int nparts) {
  flat_t *f = (flat_t *)p;
  const int64_t i0 = xt_range(f->n, 64, part, nparts), i1 = xt_range(f->n, 64, part + 1, nparts);
  if (i0 < i1) xt_cur->scale(f->x + i0, i1 - i0, f->k);
}

void xt_scale(float *x, int64_t n, float k) {
  flat_t f = {0};
  f.x = x;
  f.n = n;
  f.k = k;
  xt_run(scale_task, &f);
}

static void adam_task(void *p, int part, int nparts) {
  flat_t *f = (flat_t *)p;
  const int64_t i0 = xt_range(f->n, 64, part, nparts), i1 = xt_range(f->n, 64, part + 1, nparts);
  if (i0 < i1) xt_cur->adam(f->x + i0, f->g + i0, f->m + i0, f->v + i0, i1 - i0, f->coef);
}

void xt_adam(float *p, const float *g, float *m, float *v, int64_t n, const double *h) {
  /* float32 constants as the reference kernels use them: β and 1 − β rounded once from float64 */
  float k[XT_ADAM_N];
  k[XT_ADAM_STEP] = (float)h[0];
  k[XT_ADAM_B1] = (float)h[1];
  k[XT_ADAM_NB1] = (float)(1.0 - h[1]);
  k[XT_ADAM_B2] = (float)h[2];
  k[XT_ADAM_NB2] = (float)(1.0 - h[2]);
  k[XT_ADAM_EPS] = (float)h[3];
  k[XT_ADAM_BC2] = (float)h[4];
  k[XT_ADAM_DECAY] = (float)h[5];
  k[XT_ADAM_L2] = (float)h[6];
  flat_t f = {0};
  f.x = p;
  f.g = g;
  f.m = m;
  f.v = v;
  f.n = n;
  f.coef = k;
  xt_run(adam_task, &f);
}
