#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every cargo-fuzz target of fuzz/ (the hunt_* targets
# included) into $OUT, each with its seed corpus (corpora/fuzz/<target>/ zipped as
# <target>_seed_corpus.zip) and dictionary (fuzz/dict/*.dict) when there is one.
#
# Inside the container (base-builder-rust) the repository is $SRC/tcp-harness, the toolchain is
# nightly and the sanitizer flags come from the environment. Outside it, set SRC and OUT and run
# this file from a checkout: it finds the repository next to itself, uses `cargo +nightly` when
# the default toolchain is stable, and builds with AddressSanitizer. CFLITE_TARGETS="a b"
# restricts the build to some targets (tests use it to stay short).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -d "$here/../fuzz/fuzz_targets" ]; then
  ROOT=$(cd "$here/.." && pwd)
else
  ROOT="${SRC:?set SRC}/tcp-harness"
fi
: "${OUT:?set OUT to the directory that receives the fuzzers}"
mkdir -p "$OUT"

CARGO=(cargo)
if ! rustc --version | grep -q nightly && cargo +nightly --version >/dev/null 2>&1; then
  CARGO=(cargo +nightly)
fi

cd "$ROOT/fuzz"
targets=${CFLITE_TARGETS:-$(ls fuzz_targets | sed -n 's/\.rs$//p')}
# -O: release with debug assertions (integer overflow checks), as OSS-Fuzz builds Rust.
"${CARGO[@]}" fuzz build -O --debug-assertions $targets
bin="$ROOT/fuzz/target/x86_64-unknown-linux-gnu/release"
for t in $targets; do
  cp "$bin/$t" "$OUT/$t"
  if [ -d "$ROOT/corpora/fuzz/$t" ] && [ -n "$(ls -A "$ROOT/corpora/fuzz/$t")" ]; then
    rm -f "$OUT/${t}_seed_corpus.zip"
    if command -v zip >/dev/null; then
      (cd "$ROOT/corpora/fuzz/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
    else
      python3 -c 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])' \
        "$OUT/${t}_seed_corpus" "$ROOT/corpora/fuzz/$t"
    fi
  fi
  case "$t" in
    script_parse) cp "$ROOT/fuzz/dict/script.dict" "$OUT/$t.dict" ;;
  esac
done
echo "build.sh: built $(echo $targets | wc -w) fuzz targets into $OUT"
