/*
 * The vector micro-kernels of the matrix product and their packing (driver:
 * xent-train-gemm.c). Each computes a tile of C = mr rows × nr columns held in registers:
 * per k it loads one row of the packed B micro-panel (nr floats, nr/lanes vectors),
 * broadcasts each of the mr values of the packed A micro-panel and does mr·nr/lanes fused
 * multiply-adds — an outer product, no horizontal sums.
 *
 *   AVX-512: mr = 12, nr = 32 — 24 zmm accumulators + 2 B vectors (the broadcasts are
 *     memory operands), 30 of 32 registers; per k 14 loads for 24 FMAs, so the two FMA pipes
 *     stay the limit.
 *   AVX2 + FMA: mr = 6, nr = 16 — 12 ymm accumulators + 2 B + 1 broadcast = 15 of 16.
 *
 * Cache blocks (this machine: 48 KiB L1d, 1 MiB L2 per core): kc = 256 makes the B
 * micro-panel kc·nr·4 = 32 KiB (AVX-512; 16 KiB AVX2), which stays in L1 while the mr-row
 * tiles of an A block stream past it; mc = 240 (120) rows make the A block mc·kc·4 = 240 KiB
 * (120 KiB), a quarter of L2, reused across every micro-panel; nc = 4096 columns make the
 * B panel kc·nc·4 = 4 MiB per kc-block, held in L3 across the A blocks.
 *
 * Partial tiles: rows by instantiating the kernel for every row count 1 … mr (the packed A
 * keeps the full mr stride, zero-padded), columns by masked loads and stores of C.
 */
#include <string.h>

#include "xent-train.h"

#ifdef XT_X86
#include <immintrin.h>

/* ---------- packing (shared by both instruction sets; MR and NR are constants per instantiation) ---------- */

/* dst[k·ldd + i] = src[i·lds + k] for i < rows, k < cols: a transposing copy, 4×4 blocks at a
   time through SSE registers (4 loads, 8 shuffles, 4 stores per 16 floats), the edges one by one. */
XT_INLINE void transpose_copy(const float *src, int64_t lds, float *dst, int ldd, int rows, int cols) {
  int i = 0;
  for (; i + 4 <= rows; i += 4) {
    const float *s0 = src + i * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
    int k = 0;
    for (; k + 4 <= cols; k += 4) {
      __m128 r0 = _mm_loadu_ps(s0 + k), r1 = _mm_loadu_ps(s1 + k), r2 = _mm_loadu_ps(s2 + k), r3 = _mm_loadu_ps(s3 + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + (size_t)k * ldd + i, r0);
      _mm_storeu_ps(dst + (size_t)(k + 1) * ldd + i, r1);
      _mm_storeu_ps(dst + (size_t)(k + 2) * ldd + i, r2);
      _mm_storeu_ps(dst + (size_t)(k + 3) * ldd + i, r3);
    }
    for (; k < cols; k++) {
      float *o = dst + (size_t)k * ldd + i;
      o[0] = s0[k];
      o[1] = s1[k];
      o[2] = s2[k];
      o[3] = s3[k];
    }
  }
  for (; i < rows; i++)
    for (int k = 0; k < cols; k++) dst[(size_t)k * ldd + i] = src[i * lds + k];
}

XT_INLINE void pack_a_body(const xt_gemm_t *g, int64_t i0, int mc, int64_t p0, int kc, float *dst, const int MR) {
  for (int p = 0; p * MR < mc; p++) {
    float *d = dst + (size_t)p * (size_t)kc * MR;
    const int rows = mc - p * MR < MR ? mc - p * MR : MR;
    const int64_t m = i0 + (int64_t)p * MR;
    if (g->transA) {
      /* A(m, k) = A[k·lda + m]: the panel's MR values of one k are adjacent */
      const float *src = g->A + p0 * g->lda + m;
      for (int k = 0; k < kc; k++) {
        const float *s = src + k * g->lda;
        float *o = d + (size_t)k * MR;
        int i = 0;
        for (; i < rows; i++) o[i] = s[i];
        for (; i < MR; i++) o[i] = 0.0f;
      }
    } else {
      /* A(m, k) = A[m·lda + k]: the panel is the transpose of rows × kc of A */
      transpose_copy(g->A + m * g->lda + p0, g->lda, d, MR, rows, kc);
      for (int i = rows; i < MR; i++)
        for (int k = 0; k < kc; k++) d[(size_t)k * MR + i] = 0.0f;
    }
  }
}

XT_INLINE void pack_b_body(const xt_gemm_t *g, int64_t p0, int kc, int64_t j0, int nc, int q0, int q1, float *dst,
                           const int NR) {
  for (int q = q0; q < q1; q++) {
    float *d = dst + (size_t)q * (size_t)kc * NR;
    const int64_t n = j0 + (int64_t)q * NR;
    const int w = nc - q * NR < NR ? nc - q * NR : NR;
    if (!g->transB) {
      /* B(k, n) = B[k·ldb + n]: NR contiguous floats per k */
      const float *src = g->B + p0 * g->ldb + n;
      for (int k = 0; k < kc; k++) {
        float *o = d + (size_t)k * NR;
        memcpy(o, src + k * g->ldb, (size_t)w * sizeof(float));
        for (int j = w; j < NR; j++) o[j] = 0.0f;
      }
    } else {
      /* B(k, n) = B[n·ldb + k]: the panel is the transpose of w × kc of the stored matrix */
      transpose_copy(g->B + n * g->ldb + p0, g->ldb, d, NR, w, kc);
      for (int j = w; j < NR; j++)
        for (int k = 0; k < kc; k++) d[(size_t)k * NR + j] = 0.0f;
    }
  }
}

/* ---------- AVX-512: 12 × 32 ---------- */

#define MR512 12
#define NR512 32

/* A stored transposed (the weight-gradient products dW = dZᵀ·X): the 12 values of one k are
   adjacent, so each k is one masked vector copy. */
XT_TARGET_AVX512 static void pack_a_512(const xt_gemm_t *g, int64_t i0, int mc, int64_t p0, int kc, float *dst) {
  if (!g->transA) {
    pack_a_body(g, i0, mc, p0, kc, dst, MR512);
    return;
  }
  for (int p = 0; p * MR512 < mc; p++) {
    const int rows = mc - p * MR512 < MR512 ? mc - p * MR512 : MR512;
    const __mmask16 m = (__mmask16)((1u << rows) - 1u);
    const float *src = g->A + p0 * g->lda + i0 + (int64_t)p * MR512;
    float *d = dst + (size_t)p * (size_t)kc * MR512;
    for (int k = 0; k < kc; k++) _mm512_mask_storeu_ps(d + (size_t)k * MR512, 0x0FFF, _mm512_maskz_loadu_ps(m, src + k * g->lda));
  }
}

XT_TARGET_AVX512 static void pack_b_512(const xt_gemm_t *g, int64_t p0, int kc, int64_t j0, int nc, int q0, int q1,
                                        float *dst) {
  pack_b_body(g, p0, kc, j0, nc, q0, q1, dst, NR512);
}

XT_INLINE XT_TARGET_AVX512 void ukr512_body(const int MR, int ncols, int kc, const float *a, const float *b, float *c,
                                            int64_t ldc, int load_c, const float *bias) {
  const __mmask16 k0 = ncols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << ncols) - 1u);
  const __mmask16 k1 = ncols >= 32 ? (__mmask16)0xFFFF : ncols > 16 ? (__mmask16)((1u << (ncols - 16)) - 1u) : 0;
  __m512 c0[MR512], c1[MR512];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    c0[i] = load_c ? _mm512_maskz_loadu_ps(k0, c + i * ldc) : _mm512_setzero_ps();
    c1[i] = load_c ? _mm512_maskz_loadu_ps(k1, c + i * ldc + 16) : _mm512_setzero_ps();
  }
  if (bias) {
    const __m512 b0 = _mm512_maskz_loadu_ps(k0, bias), b1 = _mm512_maskz_loadu_ps(k1, bias + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      c0[i] = _mm512_add_ps(c0[i], b0);
      c1[i] = _mm512_add_ps(c1[i], b1);
    }
  }
  for (int k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      const __m512 av = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
    a += MR512;
    b += NR512;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    _mm512_mask_storeu_ps(c + i * ldc, k0, c0[i]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, k1, c1[i]);
  }
}

#define UKR512(R)                                                                                                     \
  XT_TARGET_AVX512 static void ukr512_##R(int ncols, int kc, const float *a, const float *b, float *c, int64_t ldc,  \
                                          int load_c, const float *bias) {                                            \
    ukr512_body(R, ncols, kc, a, b, c, ldc, load_c, bias);                                                           \
  }
UKR512(1) UKR512(2) UKR512(3) UKR512(4) UKR512(5) UKR512(6)
UKR512(7) UKR512(8) UKR512(9) UKR512(10) UKR512(11) UKR512(12)

typedef void (*ukr_fn)(int, int, const float *, const float *, float *, int64_t, int, const float *);
static const ukr_fn ukr512_by_rows[MR512 + 1] = {NULL,      ukr512_1, ukr512_2,  ukr512_3,  ukr512_4,
                                                 ukr512_5,  ukr512_6, ukr512_7,  ukr512_8,  ukr512_9,
                                                 ukr512_10, ukr512_11, ukr512_12};

static void ukr512(int mr, int ncols, int kc, const float *a, const float *b, float *c, int64_t ldc, int load_c,
                   const float *bias) {
  ukr512_by_rows[mr](ncols, kc, a, b, c, ldc, load_c, bias);
}

const xt_gemm_kernel_t xt_gemm_kernel_avx512 = {MR512, NR512, 256, 240, 4096, pack_a_512, pack_b_512, ukr512};

/* ---------- AVX2 + FMA: 6 × 16 ---------- */

#define MR256 6
#define NR256 16

XT_TARGET_AVX2 static void pack_a_256(const xt_gemm_t *g, int64_t i0, int mc, int64_t p0, int kc, float *dst) {
  if (!g->transA) {
    pack_a_body(g, i0, mc, p0, kc, dst, MR256);
    return;
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), six = _mm256_cmpgt_epi32(_mm256_set1_epi32(MR256), lane);
  for (int p = 0; p * MR256 < mc; p++) {
    const int rows = mc - p * MR256 < MR256 ? mc - p * MR256 : MR256;
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows), lane);
    const float *src = g->A + p0 * g->lda + i0 + (int64_t)p * MR256;
    float *d = dst + (size_t)p * (size_t)kc * MR256;
    for (int k = 0; k < kc; k++) _mm256_maskstore_ps(d + (size_t)k * MR256, six, _mm256_maskload_ps(src + k * g->lda, m));
  }
}

XT_TARGET_AVX2 static void pack_b_256(const xt_gemm_t *g, int64_t p0, int kc, int64_t j0, int nc, int q0, int q1,
                                      float *dst) {
  pack_b_body(g, p0, kc, j0, nc, q0, q1, dst, NR256);
}

XT_INLINE XT_TARGET_AVX2 void ukr256_body(const int MR, int ncols, int kc, const float *a, const float *b, float *c,
                                          int64_t ldc, int load_c, const float *bias) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i k0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(ncols), lane);
  const __m256i k1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(ncols - 8), lane);
  __m256 c0[MR256], c1[MR256];
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    c0[i] = load_c ? _mm256_maskload_ps(c + i * ldc, k0) : _mm256_setzero_ps();
    c1[i] = load_c ? _mm256_maskload_ps(c + i * ldc + 8, k1) : _mm256_setzero_ps();
  }
  if (bias) {
    const __m256 b0 = _mm256_maskload_ps(bias, k0), b1 = _mm256_maskload_ps(bias + 8, k1);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      c0[i] = _mm256_add_ps(c0[i], b0);
      c1[i] = _mm256_add_ps(c1[i], b1);
    }
  }
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      const __m256 av = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
    a += MR256;
    b += NR256;
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    _mm256_maskstore_ps(c + i * ldc, k0, c0[i]);
    _mm256_maskstore_ps(c + i * ldc + 8, k1, c1[i]);
  }
}

#define UKR256(R)                                                                                                     \
  XT_TARGET_AVX2 static void ukr256_##R(int ncols, int kc, const float *a, const float *b, float *c, int64_t ldc,    \
                                        int load_c, const float *bias) {                                              \
    ukr256_body(R, ncols, kc, a, b, c, ldc, load_c, bias);                                                           \
  }
UKR256(1) UKR256(2) UKR256(3) UKR256(4) UKR256(5) UKR256(6)

static const ukr_fn ukr256_by_rows[MR256 + 1] = {NULL, ukr256_1, ukr256_2, ukr256_3, ukr256_4, ukr256_5, ukr256_6};

static void ukr256(int mr, int ncols, int kc, const float *a, const float *b, float *c, int64_t ldc, int load_c,
                   const float *bias) {
  ukr256_by_rows[mr](ncols, kc, a, b, c, ldc, load_c, bias);
}

const xt_gemm_kernel_t xt_gemm_kernel_avx2 = {MR256, NR256, 256, 120, 4096, pack_a_256, pack_b_256, ukr256};

#endif
