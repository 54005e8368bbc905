#!/usr/bin/env bash
# The speed benchmark of record (issue 14), for an idle machine: bench/recipe.py on both presets (2000
# iterations, TinyShakespeare: set MINITORCH_DATA to its folder), each framework in its own process, the load
# average printed around every phase. Two settings, one after the other:
#   1. each framework as a user runs it: minitorch.train's default (--procs auto, --threads auto), PyTorch's own
#      default;
#   2. --threads 2 for both (BLAS and torch.set_num_threads; minitorch then trains in one process);
# then bench/components.py: where the time goes, per component, on one thread (process CPU time).
# Reports: $OUT_DIR/recipe-{gpt,lstm}-TAG.txt, $OUT_DIR/recipe-{gpt,lstm}-TAG-2threads.txt and
# $OUT_DIR/components-1thread-TAG.txt (OUT_DIR defaults to bench/results; existing reports are kept unless
# --force is given).
#   usage: bash bench/run_recipes.sh [TAG] [more bench/recipe.py options, e.g. --force or --max-iters 200]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-idle}"
if [ $# -gt 0 ]; then shift; fi
out="${OUT_DIR:-bench/results}"
echo "bench/run_recipes.sh: load average (1, 5, 15 min) at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
python bench/recipe.py --model gpt lstm --out-dir "$out" --tag "$tag" "$@"
python bench/recipe.py --model gpt lstm --threads 2 --out-dir "$out" --tag "$tag-2threads" "$@"
force=()
for a in "$@"; do if [ "$a" = "--force" ]; then force=(--force); fi; done
python bench/components.py --out "$out/components-1thread-$tag.txt" ${force[@]+"${force[@]}"}
