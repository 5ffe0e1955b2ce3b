#!/bin/sh
# Regression tests of issue 16 ("Reliability II"), one per case: tests/issue16.sh CASE MOEM
# (ctest runs each case as issue16_CASE). Each case ran against the command of 44c175f and
# failed there; the comment above it says how.
set -u
case_name=$1
MOEM=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/moem-issue16-$case_name.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1

fail() { echo "FAIL $case_name: $*"; echo "--- last output:"; cat out 2>/dev/null; exit 1; }
# run: the command's output (stdout and stderr) goes to ./out, its exit status to $rc
run() { "$@" > out 2>&1; rc=$?; }
expect() { want=$1; shift; run "$@"; [ "$rc" = "$want" ] || fail "exit $rc, want $want: $*"; }
has() { grep -qF -- "$1" out || fail "output lacks '$1'"; }
lacks() { ! grep -qF -- "$1" out || fail "output has '$1'"; }
# capped MB CMD...: CMD run with its memory capped at MB megabytes, output to ./out, status to $rc.
# A binary built with AddressSanitizer cannot start under ulimit -v (its shadow memory is a
# multi-terabyte reservation); there the cap is the sanitizer's own largest allocation instead.
capped() {
    mb=$1; shift
    if grep -q __asan_init "$MOEM" 2>/dev/null; then
        ASAN_OPTIONS="${ASAN_OPTIONS:-}:max_allocation_size_mb=$mb:allocator_may_return_null=1" "$@" > out 2>&1
    else
        (ulimit -v $((mb * 1000)); exec "$@") > out 2>&1
    fi
    rc=$?
}

"$MOEM" generate --model linear --n 200 --d 3 --seed 1 --out d.csv > /dev/null 2>&1 || fail "generate"
cp d.csv d.orig
F="$MOEM fit --data d.csv --model linear --algo em --iters 5 --quiet"

case $case_name in
case01)   # outputs onto devices, FIFOs, sockets, directories: refused, the node kept (was: renamed over)
    mkfifo fifo
    for opt in --out --trace --checkpoint; do
        o="--out m.json"; [ $opt = --out ] && o=
        expect 1 $F $o $opt fifo; has "fifo: cannot write: it is a FIFO"; [ -p fifo ] || fail "$opt: the FIFO was replaced"
    done
    expect 1 "$MOEM" generate --model linear --n 5 --d 2 --out fifo; [ -p fifo ] || fail "generate replaced the FIFO"
    mkdir dir.json
    expect 1 $F --out dir.json; has "it is a directory"
    if python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")' 2> /dev/null; then
        expect 1 $F --out sock; has "it is a socket"; [ -S sock ] || fail "the socket was replaced"
    fi
    if [ "$(id -u)" = 0 ] && mknod full c 1 7 2> /dev/null; then
        expect 1 $F --out full; has "character device"; [ -c full ] || fail "the device was replaced"
        expect 1 $F --out m.json --trace full; [ -c full ] || fail "--trace replaced the device"
    fi
    [ ! -e m.json ] || fail "a model was written although an output was refused" ;;
case02)   # an output that is an input or another output: refused (was: the data overwritten)
    for opt in --out --trace --checkpoint; do
        o="--out m.json"; [ $opt = --out ] && o=
        expect 1 $F $o $opt d.csv; has "is the same file as --data d.csv"
        cmp -s d.csv d.orig || fail "$opt overwrote the data"
    done
    ln -s d.csv link.csv
    expect 1 $F --out link.csv; has "same file as --data"; cmp -s d.csv d.orig || fail "written through a link to the data"
    expect 1 $F --out m.json --trace m.json; has "--trace m.json is the same file as --out m.json"
    expect 1 $F --out ./m.json --trace m.json; has "same file"
    [ ! -e m.json ] || fail "m.json written"
    expect 1 "$MOEM" generate --model linear --n 5 --d 2 --out a.json --truth a.json; has "same file" ;;
case03)   # an output that is a symbolic link: written through to its target (was: the link replaced)
    echo old > target.json
    ln -s target.json link.json
    expect 0 $F --out link.json --trace trace-link.csv
    [ -L link.json ] || fail "the link was replaced by a file"
    grep -q moem-model target.json || fail "the target does not hold the model"
    ln -s target.csv trace-link.csv 2> /dev/null; echo old > target.csv; rm trace-link.csv; ln -s target.csv trace-link.csv
    expect 0 $F --out m.json --trace trace-link.csv
    [ -L trace-link.csv ] && grep -q objective target.csv || fail "the trace was not written through its link"
    ln -s missing.json dangling.json
    expect 1 $F --out dangling.json; has "a symbolic link to a missing file" ;;
case04)   # --resume with other data: refused, naming both (was: ran on from the old objective)
    "$MOEM" generate --model linear --n 200 --d 3 --seed 2 --out d2.csv > /dev/null 2>&1
    expect 0 $F --checkpoint run.ck --checkpoint-every 2 --out m.json
    expect 1 "$MOEM" fit --data d2.csv --model linear --iters 8 --quiet --resume run.ck --out m2.json
    has "--data d2.csv"; has "is not the data of the checkpoint run.ck"
    [ ! -e m2.json ] || fail "m2.json written"
    expect 0 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume run.ck --out m2.json ;;
case05)   # --resume with an option that differs from the checkpoint: refused, naming both values
    expect 0 "$MOEM" fit --data d.csv --model linear --algo gd --lr 0.1 --iters 4 --quiet --checkpoint run.ck --out m.json
    expect 1 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume run.ck --lr 0.01 --out m2.json
    has "--lr 0.01 conflicts with the checkpoint run.ck (0.1)"
    expect 1 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume run.ck --ridge 1 --out m2.json
    has "--ridge 1 conflicts"
    expect 1 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume run.ck --precision f32 --out m2.json
    has "--precision f32 conflicts"
    expect 1 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume run.ck --experts 3 --out m2.json
    has "--experts 3 conflicts"
    [ ! -e m2.json ] || fail "m2.json written"
    expect 0 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume run.ck --lr 0.1 --out m2.json ;;
case06)   # --algo md blowing up on separable logistic data: an error; verify prints no NaN
    awk -F, 'NR == 1 { print; next } { $1 = 1; print }' OFS=, d.csv > ones.csv
    expect 1 "$MOEM" fit --data ones.csv --model logistic --algo md --iters 100 --quiet --out m.json
    has "md: the objective"; has "iteration"; has "separable"
    [ ! -e m.json ] || fail "the model of a failed run was written"
    run "$MOEM" verify --data ones.csv --model logistic --iters 10
    [ "$rc" = 1 ] || fail "verify exit $rc, want 1"
    ! grep -qi nan out || fail "verify printed a NaN" ;;
case07)   # one stray softmax label: an error naming it, its line and the classes (was: 10^6 classes)
    awk -F, 'NR == 1 { print; next } { $1 = NR % 2; if (NR == 50) $1 = 999999; print }' OFS=, d.csv > s.csv
    capped 4000 timeout 60 "$MOEM" fit --data s.csv --model softmax --algo em --iters 2 --quiet --out m.json
    [ "$rc" = 1 ] || fail "exit $rc, want 1"
    has "s.csv:50:1: label 999999 implies 1000000 classes"; has "--classes"
    # with --classes, a count that size is taken as meant (and a small one just runs)
    awk -F, 'NR == 1 { print; next } { $1 = NR % 3; print }' OFS=, d.csv > s3.csv
    expect 0 "$MOEM" fit --data s3.csv --model softmax --algo gd --lr 0.1 --iters 2 --quiet --out m.json ;;
case08)   # gradient descent that diverges (finite): exit 1, no model (was: exit 0 and a model)
    expect 1 "$MOEM" fit --data d.csv --model linear --algo gd --lr 10 --iters 20 --quiet --out m.json --trace t.csv
    has "gd: the objective ended above its start at iteration 20"; has "--lr"
    [ ! -e m.json ] && [ ! -e t.csv ] || fail "outputs of a failed run written"
    expect 1 "$MOEM" fit --data d.csv --model linear --algo gd --lr 10 --iters 20 --quiet --out m.json --keep-failed
    [ -e m.json ] || fail "--keep-failed did not keep the model" ;;
case09)   # an allocation that fails names what it was for and its size (was: "for the trace")
    "$MOEM" generate --model linear --n 100000 --d 3 --seed 3 --out big.csv > /dev/null 2>&1
    capped 8000 "$MOEM" fit --data big.csv --model linear --experts 100000 --algo em --iters 1 --quiet --out m.json
    [ "$rc" = 1 ] || fail "exit $rc, want 1"
    has "out of memory for the responsibilities"; has "GB"; has "K = 100000" ;;
case10)   # an --init whose objective is not finite: the file named, the cause the start
    cat > huge.json <<'EOF'
{"format":"moem-model","version":1,"family":"linear","symmetric":false,"K":2,"d":3,"C":1,
 "gate":[[1e308,1e308,1e308],[0,0,0]],"experts":[{"beta":[1e308,1e308,1e308],"sigma2":1},{"beta":[1,1,1],"sigma2":1}]}
EOF
    expect 1 $F --init huge.json --out m.json
    has "huge.json: the objective at the start is not finite"; lacks "step size" ;;
case11)   # verify's data errors name the file and the line
    awk -F, 'NR == 1 { print; next } { $1 = (NR == 7 ? 2 : NR % 2); print }' OFS=, d.csv > lab.csv
    expect 1 "$MOEM" verify --data lab.csv --model logistic --iters 1
    has "lab.csv:7:1:"
    expect 0 $F --out k.json
    "$MOEM" generate --model linear --n 50 --d 4 --out d4.csv > /dev/null 2>&1
    expect 1 "$MOEM" verify --data d4.csv --model linear --experts 2 --init k.json --iters 1
    has "d4.csv:"; has "data d = 4" ;;
case12)   # --experts that differs from --init's K: that option named (was: "--model linear")
    expect 0 $F --out k2.json
    expect 1 $F --experts 3 --init k2.json --out m.json
    has "--init k2.json has K = 2 experts, not --experts 3"; lacks "--model" ;;
case13)   # a checkpoint whose settings are invalid: the checkpoint named (was: the data file)
    expect 0 "$MOEM" fit --data d.csv --model linear --algo gd --lr 0.1 --iters 4 --quiet --checkpoint run.ck --out m.json
    sed 's/^params [^ ]*/params -0x1p+0/' run.ck > bad.ck && cp run.ck.trace bad.ck.trace 2> /dev/null
    expect 1 "$MOEM" fit --data d.csv --model linear --iters 8 --quiet --resume bad.ck --out m2.json
    has "bad.ck"; lacks "d.csv:" ;;
case14)   # --help and --version do not depend on MOEM_ISA
    for isa in neon sse9; do
        for c in "" fit generate verify experiment "experiment synthetic" "experiment fmnist"; do
            expect 0 env MOEM_ISA=$isa "$MOEM" $c --help; has "usage"
        done
        expect 0 env MOEM_ISA=$isa "$MOEM" --version; has "moem "
    done
    # and a run that needs the kernels is refused as a usage error (an unsupported ISA on x86)
    if [ "$(uname -m)" = x86_64 ]; then expect 2 env MOEM_ISA=neon $F --out m.json; has "MOEM_ISA"; fi ;;
case15)   # CR-only line endings: a clear error naming the cause
    printf 'y,x1,x2\r1,2,3\r4,5,6\r7,8,9\r' > cr.csv
    expect 1 "$MOEM" fit --data cr.csv --model linear --algo em --iters 2 --out m.json
    has "cr.csv: lines end in a carriage return alone"
    expect 1 "$MOEM" verify --data cr.csv --model linear
    has "carriage return" ;;
case16)   # checkpoints: O(model) writes, and a resumed run keeps checkpointing to its file
    G="$MOEM fit --data d.csv --model linear --algo gd --lr 0.1 --quiet"
    expect 0 $G --iters 20 --checkpoint a.ck --checkpoint-every 10 --out m.json
    expect 0 $G --iters 400 --checkpoint b.ck --checkpoint-every 10 --out m.json
    sa=$(wc -c < a.ck); sb=$(wc -c < b.ck)
    [ $((sb - sa)) -lt 8 ] || fail "the checkpoint grows with the trace: $sa bytes at 20 iterations, $sb at 400"
    expect 0 $G --iters 4 --checkpoint run.ck --checkpoint-every 2 --out m.json
    expect 0 "$MOEM" fit --data d.csv --model linear --iters 10 --quiet --checkpoint-every 2 --resume run.ck --out m2.json
    grep -q "iter 10" run.ck || fail "the resumed run did not checkpoint to run.ck"
    # and resuming the resumed checkpoint still gives the uninterrupted run, bit for bit
    expect 0 "$MOEM" fit --data d.csv --model linear --iters 12 --quiet --resume run.ck --out m3.json --trace t3.csv
    expect 0 $G --iters 12 --out full.json --trace full.csv
    cmp -s m3.json full.json || fail "resumed model differs from the uninterrupted run"
    cut -d, -f1,2 t3.csv | tail -n +2 > a; cut -d, -f1,2 full.csv | tail -n +2 > b
    cmp -s a b || fail "resumed objectives differ" ;;
case17)   # the command line agrees with itself
    S="$MOEM experiment synthetic --instances 1 --iters 2 --tune 1 --n 50 --d 2"
    expect 0 $S --no-plots --lr-gd 1 --lr-gem 1,1 --out syn
    expect 2 $S --no-plot --out syn2; has "unknown option '--no-plot'"
    expect 2 "$MOEM" experiment fmnist --no-plot; has "unknown option '--no-plot'"
    expect 2 $S --gd-lr 1 --out syn2
    expect 2 $F --ite 3 --out m.json; has "never abbreviated"
    expect 0 "$MOEM" fit -h; has "usage"
    expect 0 "$MOEM" verify -h; expect 0 $S -h; expect 0 "$MOEM" experiment fmnist -h
    expect 1 "$MOEM" generate --model linear --n 5 --d 2 --out no/such/dir/x.csv
    expect 1 $F --out no/such/dir/m.json
    expect 0 $S --no-plots --out syn3; lacks "1 tuning instances"; has "1 tuning instance)" ;;
*) fail "no such case" ;;
esac
echo "ok $case_name"
