/*
 * Exhaustive check of the binding's vector expf (xent-llama.c, expf4_avx2 / expf8_avx512)
 * against this machine's libm expf: every float x in [−103.28, 0], the inputs row_stats
 * passes (l − max ≤ 0; below −103.28 both give at most the smallest subnormal).
 * Not part of the build or the tests (it takes ~10 s); run by hand after changing the
 * vector code or on a new libc:
 *
 *   INC=$(ls -d build/native/include-* | head -1)
 *   cc -O2 -std=gnu11 -I"$(dirname "$(which node)")/../include/node" -I"$INC" native/check-expf.c \
 *      -o build/check-expf -lm -Wl,--unresolved-symbols=ignore-all && build/check-expf
 *
 * (The binding's N-API entry points are compiled in but never called.)
 */
#include <node_api.h>
#undef NAPI_MODULE
#define NAPI_MODULE(a, b)
#include "xent-llama.c"

int main(void) {
  exp2f_table_init();
  const int wide = __builtin_cpu_supports("avx512f");
  long bad4 = 0, bad8 = 0, n = 0;
  float xs[8];
  double g4[8], g8[8];
  uint32_t hi;
  const float lim = -103.28f;
  memcpy(&hi, &lim, 4);
  for (uint64_t b = 0x80000000u; b <= hi; b += 8) {
    for (int k = 0; k < 8; k++) {
      const uint32_t u = (uint32_t)(b + (uint64_t)k);
      memcpy(&xs[k], &u, 4);
    }
    expf4_avx2_store(xs, g4);
    expf4_avx2_store(xs + 4, g4 + 4);
    if (wide) expf8_avx512_store(xs, g8);
    for (int k = 0; k < 8; k++) {
      if (xs[k] < lim) continue;
      const float w = expf(xs[k]);
      n++;
      if (g4[k] != (double)w && bad4++ < 5) printf("avx2   x = %a: %a, libm %a\n", xs[k], g4[k], w);
      if (wide && g8[k] != (double)w && bad8++ < 5) printf("avx512 x = %a: %a, libm %a\n", xs[k], g8[k], w);
    }
  }
  printf("%ld inputs: avx2 %ld differences, avx512 %s\n", n, bad4, wide ? (bad8 ? "differs" : "0 differences") : "not supported here");
  return bad4 || bad8;
}
