#!/bin/sh
# The layers of the library, in one direction (README "Layout"): every quoted #include of a file
# in simd/, data/, engine/, engine/experiments/ and engine/cli/ must resolve to a file of the same or a lower layer.
#   0 include/moem/        the public header (declarations only: every layer may include it)
#   1 base                 data/base.[ch], data/output.[ch]: errors, size arithmetic, the clock,
#                          atomic output files
#   2 simd/                kernel tables and dispatch
#   3 data/                readers, writers, synthetic data
#   4 engine/              model, E- and M-steps, algorithms, the mirror-descent reference
#   5 engine/experiments/  the paper's experiments (synthetic, Fashion-MNIST)
#   6 engine/cli/          the command: options and printing
# An include resolves as the compiler resolves it: the including file's directory first, then
# the build's include directories (include/moem, engine, simd, data). usage: layers_check.sh SRC
set -eu
src=$1
cd "$src"
layer() {
    case $1 in
        include/moem/*) echo 0 ;;
        data/base.[ch] | data/output.[ch]) echo 1 ;;
        simd/*) echo 2 ;;
        data/*) echo 3 ;;
        engine/experiments/*) echo 5 ;;
        engine/cli/*) echo 6 ;;
        engine/*) echo 4 ;;
        *) echo 9 ;;
    esac
}
bad=0
n=0
for f in simd/*.[ch] data/*.[ch] engine/*.[ch] engine/experiments/*.[ch] engine/cli/*.[ch]; do
    lf=$(layer "$f")
    dir=$(dirname "$f")
    for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        r=""
        for cand in "$dir/$h" "include/moem/$h" "engine/$h" "simd/$h" "data/$h"; do
            if [ -f "$cand" ]; then r=$(realpath --relative-to=. "$cand"); break; fi
        done
        if [ -z "$r" ]; then echo "layers_check: $f includes \"$h\", found nowhere" >&2; bad=1; continue; fi
        n=$((n + 1))
        lh=$(layer "$r")
        if [ "$lh" -gt "$lf" ]; then
            echo "layers_check: $f (layer $lf) includes $r (layer $lh): an include may not point up a layer" >&2
            bad=1
        fi
    done
done
[ "$n" -gt 50 ] || { echo "layers_check: only $n includes found: the scan is broken" >&2; exit 1; }
[ "$bad" -eq 0 ] || exit 1
echo "layers_check: $n includes, none points up a layer"
