// The C++ that llama-perplexity's task selection and output rest on, compiled with g++ and
// libstdc++ (the toolchain llama.cpp is built with on these machines); its output is
// test/tasks/data/cxx-anchor.json, which test/tasks/cxx-anchors.test.ts checks xent's
// TypeScript against. Regenerate with `node scripts/tasks-fixtures.mjs --only cxx`
// (test/tasks/data/README.md).
//
//   raw <seed> <count>   std::mt19937(seed)'s first count outputs
//   uniform <seed>       then lines "n": uniform_int_distribution<size_t>(0, n-1) draws on one mt19937(seed)
//   subset <count> <take>  perplexity.cpp's float-scaled swap-and-pop selection (winogrande_score,
//                          multiple_choice_score), std::mt19937(1)
//   printf               then lines "<hex bits of a double> <decimals> <width>": printf("%*.*f")
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
  if (argc < 2) return 2;
  std::string what = argv[1];
  if (what == "raw") {
    std::mt19937 rng(std::stoul(argv[2]));
    for (long i = 0, n = std::stol(argv[3]); i < n; i++) printf("%u\n", (unsigned) rng());
  } else if (what == "uniform") {
    std::mt19937 rng(std::stoul(argv[2]));
    size_t n;
    while (std::cin >> n) {
      std::uniform_int_distribution<size_t> dist(0, n - 1);
      printf("%zu\n", dist(rng));
    }
  } else if (what == "subset") {
    std::mt19937 rng(1);
    int count = std::stoi(argv[2]), take = std::stoi(argv[3]);
    std::vector<int> aux(count);
    for (int i = 0; i < count; ++i) aux[i] = i;
    float scale = 1 / (1.f + (float) rng.max());
    for (int i = 0; i < take; ++i) {
      int j = int(scale * rng() * aux.size());
      printf("%d\n", aux[j]);
      aux[j] = aux.back();
      aux.pop_back();
    }
  } else if (what == "printf") {
    std::string hex;
    int d, w;
    while (std::cin >> hex >> d >> w) {
      uint64_t bits = std::stoull(hex, nullptr, 16);
      double x;
      memcpy(&x, &bits, 8);
      printf("%*.*f\n", w, d, x);
    }
  } else {
    return 2;
  }
  return 0;
}
