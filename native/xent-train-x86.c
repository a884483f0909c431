/*
 * The AVX2 + FMA and AVX-512 instantiations of the vector kernels (xent-train-vec.inc):
 * each block of macros below maps the template's operations onto one instruction set,
 * including the masked loads and stores of tails and the float64 lane sums.
 */
#include <math.h>
#include <string.h>

#include "xent-train.h"

#ifdef XT_X86
#include <immintrin.h>

/* ---------- AVX-512 (F, VL, BW, DQ): 16 lanes ---------- */

XT_INLINE XT_TARGET_AVX512 __mmask16 mask16(int t) { return t >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << t) - 1u); }

#define W 16
#define VF __m512
#define VD __m512d
#define TGT XT_TARGET_AVX512
#define FN(x) x##_avx512
#define ISA_NAME "avx512"
#define GEMM_KERNEL xt_gemm_kernel_avx512
#define VSET1 _mm512_set1_ps
#define VZERO _mm512_setzero_ps
#define VLOAD _mm512_loadu_ps
#define VSTORE _mm512_storeu_ps
#define VADD _mm512_add_ps
#define VSUB _mm512_sub_ps
#define VMUL _mm512_mul_ps
#define VDIV _mm512_div_ps
#define VMAX _mm512_max_ps
#define VMIN _mm512_min_ps
#define VSQRT _mm512_sqrt_ps
#define VFMADD _mm512_fmadd_ps
#define VFNMADD _mm512_fnmadd_ps
#define VROUND(x) _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VSCALE2N(p, n) _mm512_scalef_ps(p, n)
#define VABS _mm512_abs_ps
#define VCOPYSIGN(mag, sgn)                                                                      \
  _mm512_or_ps(_mm512_andnot_ps(_mm512_set1_ps(-0.0f), mag), _mm512_and_ps(_mm512_set1_ps(-0.0f), sgn))
#define VSELECT_LT(a, b, x, y) _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x)
#define VLOADN(p, t) _mm512_maskz_loadu_ps(mask16(t), p)
#define VLOADN_FILL(p, t, f) _mm512_mask_loadu_ps(_mm512_set1_ps(f), mask16(t), p)
#define VSTOREN(p, v, t) _mm512_mask_storeu_ps(p, mask16(t), v)
#define VLOADT VLOADN
#define VSTORET VSTOREN
#define VHMAX _mm512_reduce_max_ps
#define VDZERO _mm512_setzero_pd
#define VDADD _mm512_add_pd
#define VD_LO(x) _mm512_cvtps_pd(_mm512_castps512_ps256(x))
#define VD_HI(x) _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1))
#define VD_ACC(s0, s1, x)                  \
  do {                                     \
    const VF x_ = (x);                     \
    s0 = _mm512_add_pd(s0, VD_LO(x_));     \
    s1 = _mm512_add_pd(s1, VD_HI(x_));     \
  } while (0)
#define VD_ACC_MUL(s0, s1, x, w)                                  \
  do {                                                            \
    const VF x_ = (x), w_ = (w);                                  \
    s0 = _mm512_add_pd(s0, _mm512_mul_pd(VD_LO(w_), VD_LO(x_)));  \
    s1 = _mm512_add_pd(s1, _mm512_mul_pd(VD_HI(w_), VD_HI(x_)));  \
  } while (0)
#define VD_ACC_SQ(s0, s1, x)                         \
  do {                                               \
    const VF x_ = (x);                               \
    const VD l_ = VD_LO(x_), h_ = VD_HI(x_);         \
    s0 = _mm512_add_pd(s0, _mm512_mul_pd(l_, l_));   \
    s1 = _mm512_add_pd(s1, _mm512_mul_pd(h_, h_));   \
  } while (0)
#define VD_HSUM _mm512_reduce_add_pd

#include "xent-train-vec.inc"

#undef W
#undef VF
#undef VD
#undef TGT
#undef FN
#undef ISA_NAME
#undef GEMM_KERNEL
#undef VSET1
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VADD
#undef VSUB
#undef VMUL
#undef VDIV
#undef VMAX
#undef VMIN
#undef VSQRT
#undef VFMADD
#undef VFNMADD
#undef VROUND
#undef VSCALE2N
#undef VABS
#undef VCOPYSIGN
#undef VSELECT_LT
#undef VLOADN
#undef VLOADN_FILL
#undef VSTOREN
#undef VLOADT
#undef VSTORET
#undef VHMAX
#undef VDZERO
#undef VDADD
#undef VD_LO
#undef VD_HI
#undef VD_ACC
#undef VD_ACC_MUL
#undef VD_ACC_SQ
#undef VD_HSUM
#undef MAP_BLOCK

/* ---------- AVX2 + FMA: 8 lanes ---------- */

XT_INLINE XT_TARGET_AVX2 __m256i mask8(int t) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(t), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* p·2^n (n integral) with one rounding: 2^n = 2^a·2^b, a = ⌊n/2⌋, b = n − a, both normal for
   n in [−150, 128]; p·2^a is exact, so only the second product rounds (as scalef does). */
XT_INLINE XT_TARGET_AVX2 __m256 scale2n_avx2(__m256 p, __m256 n) {
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i a = _mm256_srai_epi32(ni, 1), b = _mm256_sub_epi32(ni, a);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 fa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23));
  const __m256 fb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, fa), fb);
}

XT_INLINE XT_TARGET_AVX2 float hmax_avx2(__m256 v) {
  float l[8];
  _mm256_storeu_ps(l, v);
  float m = l[0];
  for (int i = 1; i < 8; i++) m = l[i] > m ? l[i] : m;
  return m;
}

XT_INLINE XT_TARGET_AVX2 double hsum_avx2(__m256d v) {
  double l[4];
  _mm256_storeu_pd(l, v);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

#define W 8
#define VF __m256
#define VD __m256d
#define TGT XT_TARGET_AVX2
#define FN(x) x##_avx2
#define ISA_NAME "avx2"
#define GEMM_KERNEL xt_gemm_kernel_avx2
#define VSET1 _mm256_set1_ps
#define VZERO _mm256_setzero_ps
#define VLOAD _mm256_loadu_ps
#define VSTORE _mm256_storeu_ps
#define VADD _mm256_add_ps
#define VSUB _mm256_sub_ps
#define VMUL _mm256_mul_ps
#define VDIV _mm256_div_ps
#define VMAX _mm256_max_ps
#define VMIN _mm256_min_ps
#define VSQRT _mm256_sqrt_ps
#define VFMADD _mm256_fmadd_ps
#define VFNMADD _mm256_fnmadd_ps
#define VROUND(x) _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VSCALE2N scale2n_avx2
#define VABS(x) _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x)
#define VCOPYSIGN(mag, sgn)                                                                      \
  _mm256_or_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), mag), _mm256_and_ps(_mm256_set1_ps(-0.0f), sgn))
#define VSELECT_LT(a, b, x, y) _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ))
#define VLOADN(p, t) _mm256_maskload_ps(p, mask8(t))
#define VLOADN_FILL(p, t, f) \
  _mm256_blendv_ps(_mm256_set1_ps(f), _mm256_maskload_ps(p, mask8(t)), _mm256_castsi256_ps(mask8(t)))
#define VSTOREN(p, v, t) _mm256_maskstore_ps(p, mask8(t), v)
#define VLOADT VLOADN
#define VSTORET VSTOREN
#define VHMAX hmax_avx2
#define VDZERO _mm256_setzero_pd
#define VDADD _mm256_add_pd
#define VD_LO(x) _mm256_cvtps_pd(_mm256_castps256_ps128(x))
#define VD_HI(x) _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))
#define VD_ACC(s0, s1, x)                  \
  do {                                     \
    const VF x_ = (x);                     \
    s0 = _mm256_add_pd(s0, VD_LO(x_));     \
    s1 = _mm256_add_pd(s1, VD_HI(x_));     \
  } while (0)
#define VD_ACC_MUL(s0, s1, x, w)                                  \
  do {                                                            \
    const VF x_ = (x), w_ = (w);                                  \
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(VD_LO(w_), VD_LO(x_)));  \
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(VD_HI(w_), VD_HI(x_)));  \
  } while (0)
#define VD_ACC_SQ(s0, s1, x)                         \
  do {                                               \
    const VF x_ = (x);                               \
    const VD l_ = VD_LO(x_), h_ = VD_HI(x_);         \
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(l_, l_));   \
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(h_, h_));   \
  } while (0)
#define VD_HSUM hsum_avx2

#include "xent-train-vec.inc"
#endif
