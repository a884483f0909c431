/*
 * Internal declarations of xent's native training kernels (native/xent-train*.c). What each
 * kernel computes, the shapes and the blocking are described in native/xent-train.c, which
 * also holds the N-API surface; this header is what the translation units share.
 *
 * Dimension letters as in src/core/tensor.ts: N rows, V vocabulary, B batch, T time,
 * E embedding, H hidden (G = 4H gate rows). Every matrix is float32 row-major unless named.
 */
#ifndef XENT_TRAIN_H
#define XENT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

/* The vector kernels rely on the compiler not fusing a·b + c written as two operations
   (the references use fmaf where they mean a fused multiply-add): GCC contracts only in
   its GNU dialects, and scripts/build-native.mjs compiles with -std=c11. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__STRICT_ANSI__)
#error "native/xent-train*.c must be compiled in an ISO C mode (-std=c11): GNU modes contract a*b+c into fma"
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define XT_X86 1
#define XT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define XT_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#endif
#define XT_INLINE static inline __attribute__((always_inline))

/* ---------- thread pool (xent-train-pool.c) ---------- */

/* fn(arg, part, nparts) on every pool thread (the caller runs part 0), then waits. */
typedef void (*xt_task_fn)(void *arg, int part, int nparts);
void xt_run(xt_task_fn fn, void *arg);
int xt_threads(void);
/* Sets the thread count (1 … XT_MAX_THREADS); workers start on first use and persist. */
void xt_set_threads(int n);
#define XT_MAX_THREADS 64
/* [lo, hi) of n items for this part, in multiples of align (the last part takes the rest). */
int64_t xt_range(int64_t n, int64_t align, int part, int nparts);
/* A 64-byte aligned scratch buffer per slot, grown as needed and kept (no allocation per
   call). NULL when memory runs out: xt_out_of_memory is then set, the kernel skips its work,
   and the N-API layer reports the failure instead of returning results. */
float *xt_scratch(int slot, size_t floats);
extern _Atomic int xt_out_of_memory;
enum { XT_SLOT_BP = 0, XT_SLOT_AP = 1, XT_SLOT_LCE = 1 + XT_MAX_THREADS, XT_SLOT_ROWS, XT_SLOTS };

/* ---------- matrix product (xent-train-gemm.c) ---------- */

/*
 * C[M, N] = (accumulate ? C : 0) (+ bias[n]) + Σ_k A(m, k)·B(k, n), with
 *   A(m, k) = transA ? A[k·lda + m] : A[m·lda + k],  B(k, n) = transB ? B[n·ldb + k] : B[k·ldb + n].
 * Every implementation computes each element as one fused multiply-add chain over k in
 * increasing order, starting from (accumulate ? C : 0) + bias: the scalar reference with
 * fmaf, the vector kernels with vfmadd. The results are therefore identical bit for bit
 * across instruction sets, blockings and thread counts.
 */
typedef struct {
  int transA, transB;
  int64_t M, N, K;
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  float *C;
  int64_t ldc;
  int accumulate;
  const float *bias;
} xt_gemm_t;

/* A register-blocked micro-kernel and its packing, per instruction set. */
typedef struct {
  int mr, nr;     /* register tile: mr rows × nr columns of C */
  int kc, mc, nc; /* cache blocks: kc (B micro-panel kc×nr in L1), mc (A block mc×kc in L2), nc (B panel kc×nc in L3) */
  /* A(i0 … i0+mc, p0 … p0+kc) into ceil(mc/mr) micro-panels dst[panel][k][mr], zero-padded rows. */
  void (*pack_a)(const xt_gemm_t *g, int64_t i0, int mc, int64_t p0, int kc, float *dst);
  /* Micro-panels [q0, q1) of B(p0 … p0+kc, j0 … j0+nc): dst[q][k][nr], zero-padded columns. */
  void (*pack_b)(const xt_gemm_t *g, int64_t p0, int kc, int64_t j0, int nc, int q0, int q1, float *dst);
  /* c[i, j] (i < mr ≤ MR, j < ncols ≤ NR) = (load_c ? c : 0) (+ bias[j]) + Σ_k a[k][i]·b[k][j]. */
  void (*ukr)(int mr, int ncols, int kc, const float *a, const float *b, float *c, int64_t ldc, int load_c,
              const float *bias);
} xt_gemm_kernel_t;

void xt_gemm(const xt_gemm_t *g);
#ifdef XT_X86
extern const xt_gemm_kernel_t xt_gemm_kernel_avx512, xt_gemm_kernel_avx2; /* xent-train-gemm-x86.c */
#endif
void xt_gemm_ref(const xt_gemm_t *g); /* the plain triple loop, for the self-check */
/* For products repeated on one B (the LSTM's per-step h·W_hhᵀ): pack all of B into scratch
   slot `slot` (all threads; NULL with the scalar implementation, which reads B in place), then
   compute rows [m0, m1) of C on the calling pool thread `part`. */
float *xt_gemm_pack_b_all(const xt_gemm_t *g, int slot);
void xt_gemm_rows(const xt_gemm_t *g, const float *bp, int64_t m0, int64_t m1, int part);

/* ---------- instruction sets (xent-train-select.c) ---------- */

/* Per-row cross-entropy statistics of one block of logits, merged into running values
   (online log-sum-exp): see xent-train-ops.c. */
typedef struct {
  const float *z;    /* [rows, vb] logits block, row stride ldz */
  int64_t ldz;
  int64_t rows, vb;  /* block shape */
  int64_t v0;        /* first vocabulary index of the block */
  const int32_t *targets; /* [rows] */
  int32_t ignore;
  const float *weight; /* [V] class weights or NULL */
  double *stats;     /* [rows, 4]: running max, running Σ exp(z − max), z_target, Σ w·z */
} xt_ce_block_t;

typedef struct {
  float *z; /* [rows, vb] logits block, overwritten with d loss / d z */
  int64_t ldz;
  int64_t rows, vb, v0;
  const int32_t *targets;
  int32_t ignore;
  const float *weight;
  const double *stats; /* [rows, 4] from the forward: max, log Σ exp(z − max), … */
  const double *alpha, *beta, *gamma; /* [rows] gradient coefficients (see xent-train-ops.c) */
} xt_ce_grad_t;

typedef struct {
  const char *name;
  const xt_gemm_kernel_t *gemm; /* NULL: the plain triple loop */
  void (*exp_block)(const float *x, float *y, int64_t n);
  void (*sigmoid_block)(const float *x, float *y, int64_t n);
  void (*tanh_block)(const float *x, float *y, int64_t n);
  void (*ce_block_stats)(const xt_ce_block_t *a, int64_t r0, int64_t r1);
  void (*ce_block_grad)(const xt_ce_grad_t *a, int64_t r0, int64_t r1);
  /* LSTM pointwise step for rows [b0, b1) of one time step; see xent-train-ops.c. */
  void (*lstm_fwd_rows)(const float *gh, const float *xg, float *act, const float *cprev, float *c, float *h,
                        int64_t b0, int64_t b1, int64_t H);
  void (*lstm_bwd_rows)(const float *act, const float *c, const float *cprev, const float *dhs, const float *dh,
                        float *dc, float *dz, int64_t b0, int64_t b1, int64_t H);
  void (*col_sum)(float *out, const float *a, int64_t M, int64_t N, int64_t ld, int64_t n0, int64_t n1, int acc);
  double (*sum_sq)(const float *x, int64_t n);
  void (*scale)(float *x, int64_t n, float k);
  void (*adam)(float *p, const float *g, float *m, float *v, int64_t n, const float *coef);
} xt_isa_t;

extern const xt_isa_t xt_isa_scalar;
#ifdef XT_X86
extern const xt_isa_t xt_isa_avx2, xt_isa_avx512;
#endif
/* The implementation in use (scalar until xt_select runs). */
extern const xt_isa_t *xt_cur;
/* Chooses once: the widest instruction set this CPU has, capped by XENT_NATIVE_TRAIN, that
   passes the self-check against the scalar reference. */
void xt_select(void);
/* Switches to an implementation by name; 0 when it is unavailable or refused. */
int xt_use(const char *name);
/* Names of the usable implementations, and why any was refused ("" when none was). */
int xt_available(const char **names, int cap);
const char *xt_refused(void);

/* Adam's float32 constants, in the order xt_isa_t.adam reads them. */
enum { XT_ADAM_STEP, XT_ADAM_B1, XT_ADAM_NB1, XT_ADAM_B2, XT_ADAM_NB2, XT_ADAM_EPS, XT_ADAM_BC2, XT_ADAM_DECAY, XT_ADAM_L2, XT_ADAM_N };

/* ---------- operations over whole buffers (xent-train-ops.c): threads + dispatch ---------- */

void xt_ce_rows(float *z, int64_t rows, int64_t V, const int32_t *targets, float eps, int32_t ignore, float scale,
                int grad, double *loss_out, double *ce_out);
void xt_ce_stats(const float *z, int64_t rows, int64_t V, const int32_t *targets, int32_t ignore, const float *weight,
                 double *stats);
void xt_ce_grad(float *z, int64_t rows, int64_t V, const int32_t *targets, int32_t ignore, const float *weight,
                const double *stats, const double *alpha, const double *beta, const double *gamma);
typedef struct {
  const float *h;       /* [N, D] */
  const float *w;       /* [V, D] */
  const float *bias;    /* [V] or NULL */
  const int32_t *targets; /* [N] */
  int32_t ignore;
  const float *weight;  /* [V] or NULL */
  int64_t N, D, V, vb;
} xt_lce_t;
void xt_lce_forward(const xt_lce_t *a, double *stats);
void xt_lce_backward(const xt_lce_t *a, const double *stats, const double *alpha, const double *beta,
                     const double *gamma, float *dh, float *dw, float *db, int accumulate);
void xt_lstm_forward(const float *xg, const float *whh, float *h, float *c, float *act, int64_t B, int64_t H,
                     int64_t T);
void xt_lstm_backward(const float *act, const float *c, const float *dhs, const float *whh, float *dz, float *dh,
                      float *dc, int64_t B, int64_t H, int64_t T);
void xt_col_sum(float *out, const float *a, int64_t M, int64_t N, int accumulate);
double xt_sum_sq(const float *x, int64_t n);
void xt_scale(float *x, int64_t n, float k);
void xt_adam(float *p, const float *g, float *m, float *v, int64_t n, const double *h /* step, b1, b2, eps, bc2, decay, l2 */);

/* Elements summed per block by sum_sq: blocks are fixed, so the result does not depend on the thread count. */
#define XT_SUMSQ_BLOCK 16384

#endif
