#!/bin/bash
# Regenerates the llama-perplexity outputs that test/eval/llama-parity.test.ts and
# test/models/gguf-batches.test.ts assert xent's figures against (README.md says why two
# builds). Run from the repository root after `npm ci`; takes a few minutes on 2 cores:
#
#   LLAMA_PERPLEXITY=/work/llama.cpp/build/bin/llama-perplexity test/eval/data/make-fixtures.sh [NAME]
#
# NAME: only the fixtures whose name contains it.
# LLAMA_PERPLEXITY: llama-perplexity built natively (cmake -DGGML_NATIVE=ON) from the
# llama.cpp sources node-llama-cpp 3.21.1 bundles (node_modules/node-llama-cpp/llama/
# gitRelease.bundle). XENT_SHARED: the ../shared folder (models, data).
set -euo pipefail
cd "$(dirname "$0")"
ONLY=${1:-}
LP=${LLAMA_PERPLEXITY:?set LLAMA_PERPLEXITY to a llama-perplexity binary}
SHARED=${XENT_SHARED:-$(cd ../../.. && pwd)/../shared}
M=$SHARED/models
TINY=$SHARED/data/tinystories_valid_600k.txt
WIKI=$SHARED/data/wikitext2_test.raw
LIBS=$(node -p "require('../../../build/native/xent-llama.json').libDir")
# "shipped": the same llama-perplexity on the libraries node-llama-cpp ships (libllama,
# libllama-common, libggml and its CPU backends, the ones xent's binding loads), found
# through LD_LIBRARY_PATH and, for the dynamically loaded CPU backends, the working folder.
SHIM=$(mktemp -d)
trap 'rm -rf "$SHIM"' EXIT
ln -s "$LIBS/libllama.v0.4.0.so" "$SHIM/libllama.so.0"
ln -s "$LIBS/libllama-common.so" "$SHIM/libllama-common.so.0"
ln -s "$LIBS/libggml-base.so" "$SHIM/libggml-base.so.0"
ln -s "$LIBS/libggml.v0.4.0.so" "$SHIM/libggml.so.0"

lp() { # lp native|shipped args…
  local how=$1
  shift
  if [ "$how" = shipped ]; then (cd "$LIBS" && LD_LIBRARY_PATH=$SHIM "$LP" "$@"); else "$LP" "$@"; fi
}
# The lines the tests read: layout, running values, final estimate, the KLD summary.
keep() {
  sed -E 's/^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+ [IWE] //' |
    grep -E 'over [0-9]+ chunks, n_ctx=|^\[[0-9]+\]|^Final estimate|^====|^(Mean|Cor|Maximum|Median|Minimum|RMS|Same top|[ 0-9.]+% +(KLD|Δp))'
}
# llama.cpp's logger runs on its own thread and now and then loses or repeats part of a
# line at exit: rerun until the final estimate and every chunk's running value are there.
complete() { # complete file chunks
  grep -q '^Final estimate' "$1" && [ "$(grep -o '\[[0-9]*\]' "$1" | sort -u | wc -l)" -eq "$2" ]
}
ppl() { # ppl name native|shipped model data ctx chunks extra…
  local name=$1 how=$2 model=$3 data=$4 ctx=$5 chunks=$6
  shift 6
  [[ -n $ONLY && $name != *$ONLY* ]] && return
  for try in 1 2 3 4 5; do
    {
      echo "# llama-perplexity -m ${model#"$SHARED"/} -f ${data#"$SHARED"/} -c $ctx --chunks $chunks -t 2 $* ($how build)"
      lp "$how" -m "$model" -f "$data" -c "$ctx" --chunks "$chunks" -t 2 "$@" 2>&1 | keep
    } >"$name.log"
    complete "$name.log" "$chunks" && return
  done
  echo "make-fixtures: $name.log stayed incomplete" >&2
  exit 1
}
kld() { # kld name native|shipped base model data ctx chunks extra…
  local name=$1 how=$2 base=$3 model=$4 data=$5 ctx=$6 chunks=$7
  shift 7
  [[ -n $ONLY && $name != *$ONLY* ]] && return
  local file=$SHIM/base.kld
  for try in 1 2 3 4 5; do
    {
      echo "# llama-perplexity -m ${base#"$SHARED"/} -f ${data#"$SHARED"/} -c $ctx --chunks $chunks -t 2 $* --kl-divergence-base base.kld ($how build)"
      lp "$how" -m "$base" -f "$data" -c "$ctx" --chunks "$chunks" -t 2 "$@" --kl-divergence-base "$file" 2>&1 | keep
      # The base pass's output is the file itself: its hash (xent --save-base writes the same bytes, then its trailer).
      echo "# base.kld $(stat -c %s "$file") bytes, sha256 $(sha256sum "$file" | cut -d' ' -f1)"
      echo "# llama-perplexity -m ${model#"$SHARED"/} -c $ctx -t 2 $* --kl-divergence-base base.kld --kl-divergence ($how build)"
      lp "$how" -m "$model" -c "$ctx" -t 2 "$@" --kl-divergence-base "$file" --kl-divergence 2>&1 | keep
    } >"$name.log"
    rm -f "$file"
    grep -q '^Same top p' "$name.log" && grep -q '^Final estimate' "$name.log" && return
  done
  echo "make-fixtures: $name.log stayed incomplete" >&2
  exit 1
}

# Perplexity, llama-perplexity's defaults (-b 2048, -fa auto) and -fa off, at ctx 128
# (16 chunks per decode), 1024 (2 per decode) and 2048 (one chunk in 512-token pieces).
for model in stories260K llama-2-tiny-random; do
  for cc in "128 40" "1024 6" "2048 3"; do
    set -- $cc
    ppl "$model-c$1-fa_off" native "$M/$model.gguf" "$TINY" "$1" "$2" -fa off
    ppl "$model-c$1-fa_auto" native "$M/$model.gguf" "$TINY" "$1" "$2"
  done
  ppl "$model-c1024-fa_on" native "$M/$model.gguf" "$TINY" 1024 6 -fa on
done
# stories260K (head size 8) with flash attention: the natively built CPU backend and the
# one node-llama-cpp ships round differently (README.md); the shipped one is xent's.
for cc in "128 40" "1024 6" "2048 3"; do
  set -- $cc
  ppl "stories260K-c$1-fa_auto.shipped" shipped "$M/stories260K.gguf" "$TINY" "$1" "$2"
done
ppl "stories260K-c1024-fa_on.shipped" shipped "$M/stories260K.gguf" "$TINY" 1024 6 -fa on
# WikiText-2, and -b equal to -c (one chunk per decode, the older reference figures' setting).
ppl "stories260K-wiki-c512-fa_off" native "$M/stories260K.gguf" "$WIKI" 512 20 -fa off
ppl "stories260K-wiki-c512-fa_auto.shipped" shipped "$M/stories260K.gguf" "$WIKI" 512 20
ppl "llama-2-tiny-random-wiki-c1024-fa_auto" native "$M/llama-2-tiny-random.gguf" "$WIKI" 1024 4
ppl "llama-2-tiny-random-c128-b128-fa_auto" native "$M/llama-2-tiny-random.gguf" "$TINY" 128 40 -b 128

# KL divergence (base pass, then the comparison): stories260K → its BF16 copy at ctx 128
# (packed), llama-2-tiny-random against itself at ctx 2048 (pieces; V = 32000; 2 chunks,
# a 131 MB base file).
kld "kld-stories260K-bf16-c128-fa_off" native "$M/stories260K.gguf" "$M/stories260K-bf16.gguf" "$TINY" 128 60 -fa off
kld "kld-stories260K-bf16-c128-fa_auto.shipped" shipped "$M/stories260K.gguf" "$M/stories260K-bf16.gguf" "$TINY" 128 60
kld "kld-llama-2-tiny-random-c2048-fa_off" native "$M/llama-2-tiny-random.gguf" "$M/llama-2-tiny-random.gguf" "$TINY" 2048 2 -fa off
kld "kld-llama-2-tiny-random-c2048-fa_auto" native "$M/llama-2-tiny-random.gguf" "$M/llama-2-tiny-random.gguf" "$TINY" 2048 2
