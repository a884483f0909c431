/*
 * The plain scalar references of the training kernels (libm's expf and tanhf, one element
 * at a time, sums in index order). They define the arithmetic the vector versions
 * (xent-train-vec.inc) follow operation for operation, except for exp, σ and tanh, whose
 * vector approximations are checked against these within stated bounds
 * (xent-train-select.c). Shapes and formulas: native/xent-train.c and xent-train-ops.c.
 */
#include <math.h>
#include <string.h>

#include "xent-train.h"

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

static void exp_block(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void sigmoid_block(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = sigm(x[i]);
}

static void tanh_block(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}

/* One block of rows: merge the block's maximum and Σ exp(z − max) into the running values
   (st[0], st[1]), pick the target logit (st[2]), add Σ w·z (st[3]). Ignored rows are skipped. */
static void ce_block_stats(const xt_ce_block_t *a, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    const int32_t y = a->targets[r];
    if (y == a->ignore) continue;
    const float *z = a->z + r * a->ldz;
    double *st = a->stats + r * 4;
    float mb = -INFINITY;
    double wz = 0.0;
    for (int64_t j = 0; j < a->vb; j++) {
      if (z[j] > mb) mb = z[j];
      wz += a->weight ? (double)a->weight[a->v0 + j] * (double)z[j] : (double)z[j];
    }
    const double m = st[0];
    const double M = (double)mb > m ? (double)mb : m;
    if (M != -INFINITY) {
      const float Mf = (float)M;
      double s = 0.0;
      for (int64_t j = 0; j < a->vb; j++) s += (double)expf(z[j] - Mf);
      st[1] = st[1] * exp(m - M) + s;
      st[0] = M;
    }
    st[3] += wz;
    if (y >= a->v0 && y < a->v0 + a->vb) st[2] = (double)z[y - a->v0];
  }
}

/* d loss / d z over one block: α·exp((z − max) − log Σ) − γ·w, minus β at the target,
   whose entry is formed in double (α·expm1 + (α − β) − γ·w) so that p ≈ 1 does not cancel. */
static void ce_block_grad(const xt_ce_grad_t *a, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    float *z = a->z + r * a->ldz;
    const int32_t y = a->targets[r];
    if (y == a->ignore) {
      memset(z, 0, (size_t)a->vb * sizeof(float));
      continue;
    }
    const float m = (float)a->stats[r * 4], ls = (float)a->stats[r * 4 + 1];
    const float al = (float)a->alpha[r], ga = (float)a->gamma[r];
    const int hit = y >= a->v0 && y < a->v0 + a->vb;
    const float zy = hit ? z[y - a->v0] : 0.0f;
    for (int64_t j = 0; j < a->vb; j++) {
      const float p = expf((z[j] - m) - ls);
      z[j] = al * p - ga * (a->weight ? a->weight[a->v0 + j] : 1.0f);
    }
    if (hit) {
      const double d = (double)((zy - m) - ls);
      const double wy = a->weight ? (double)a->weight[y] : 1.0;
      z[y - a->v0] = (float)(a->alpha[r] * expm1(d) + (a->alpha[r] - a->beta[r]) - a->gamma[r] * wy);
    }
  }
}

static void lstm_fwd_rows(const float *gh, const float *xg, float *act, const float *cprev, float *c, float *h,
                          int64_t b0, int64_t b1, int64_t H) {
  const int64_t G = 4 * H;
  for (int64_t b = b0; b < b1; b++) {
    const float *pg = gh + b * G, *px = xg + b * G;
    float *pa = act + b * G;
    for (int64_t j = 0; j < H; j++) {
      const float gi = sigm(pg[j] + px[j]);
      const float gf = sigm(pg[H + j] + px[H + j]);
      const float gg = tanhf(pg[2 * H + j] + px[2 * H + j]);
      const float go = sigm(pg[3 * H + j] + px[3 * H + j]);
      pa[j] = gi;
      pa[H + j] = gf;
      pa[2 * H + j] = gg;
      pa[3 * H + j] = go;
      const float cn = gf * cprev[b * H + j] + gi * gg;
      c[b * H + j] = cn;
      h[b * H + j] = go * tanhf(cn);
    }
  }
}

static void lstm_bwd_rows(const float *act, const float *c, const float *cprev, const float *dhs, const float *dh,
                          float *dc, float *dz, int64_t b0, int64_t b1, int64_t H) {
  const int64_t G = 4 * H;
  for (int64_t b = b0; b < b1; b++) {
    const float *pa = act + b * G;
    float *pz = dz + b * G;
    for (int64_t j = 0; j < H; j++) {
      const int64_t o = b * H + j;
      const float gi = pa[j], gf = pa[H + j], gg = pa[2 * H + j], go = pa[3 * H + j];
      const float tc = tanhf(c[o]);
      const float d = dhs[o] + dh[o];
      const float dcn = dc[o] + d * go * (1.0f - tc * tc);
      pz[j] = dcn * gg * gi * (1.0f - gi);
      pz[H + j] = dcn * cprev[o] * gf * (1.0f - gf);
      pz[2 * H + j] = dcn * gi * (1.0f - gg * gg);
      pz[3 * H + j] = d * tc * go * (1.0f - go);
      dc[o] = dcn * gf;
    }
  }
}

static void col_sum(float *out, const float *a, int64_t M, int64_t N, int64_t ld, int64_t n0, int64_t n1, int acc) {
  (void)N;
  for (int64_t n = n0; n < n1; n++) {
    float s = acc ? out[n] : 0.0f;
    for (int64_t m = 0; m < M; m++) s = s + a[m * ld + n];
    out[n] = s;
  }
}

static double sum_sq(const float *x, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
  return s;
}

static void scale(float *x, int64_t n, float k) {
  for (int64_t i = 0; i < n; i++) x[i] = x[i] * k;
}

static void adam(float *p, const float *g, float *m, float *v, int64_t n, const float *k) {
  for (int64_t i = 0; i < n; i++) {
    const float th = p[i] * k[XT_ADAM_DECAY];
    const float gr = g[i] + k[XT_ADAM_L2] * th;
    const float mi = k[XT_ADAM_B1] * m[i] + k[XT_ADAM_NB1] * gr;
    const float vi = k[XT_ADAM_B2] * v[i] + k[XT_ADAM_NB2] * gr * gr;
    m[i] = mi;
    v[i] = vi;
    p[i] = th - (k[XT_ADAM_STEP] * mi) / (sqrtf(vi) / k[XT_ADAM_BC2] + k[XT_ADAM_EPS]);
  }
}

const xt_isa_t xt_isa_scalar = {
    "scalar",      NULL,          exp_block, sigmoid_block, tanh_block, ce_block_stats, ce_block_grad,
    lstm_fwd_rows, lstm_bwd_rows, col_sum,   sum_sq,        scale,      adam,
};
