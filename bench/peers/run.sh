#!/bin/sh
# Peer comparison on identical data and thread counts (see bench/README.md).
# usage: bench/peers/run.sh MOEM_PEER_BINARY [THREADS] [ITERS]
#   1. SymMoLinE data of the paper's size (N = 1000, d = 10), fitted as a softmax-gated mixture
#      of K = 2 linear experts with learned variances: moem EM vs flexmix EM (same start).
#   2. The same data, full-batch GD (sigma^2 = 1): moem vs PyTorch.
#   3. MoLogE of the Fashion-MNIST shape (N = 60000, d = 785, C = 10, K = 2), generated:
#      full-batch GD, moem vs PyTorch.
# Prints per-iteration wall time of both, the ratio moem / peer (wall and process CPU time) and
# the final objectives.
set -eu
bin=$1
threads=${2:-$(nproc)}
iters=${3:-50}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3                      # Debian's python3-torch lives here
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

row() {     # row LABEL MOEM_LINE PEER_LINE
    printf '%s\n%s\n' "$2" "$3" | awk -v label="$1" '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] }; who[NR] = $1 }
        END {
            r = v[1, "sec_per_iter"] / v[2, "sec_per_iter"]
            c = v[1, "cpu_per_iter"] / v[2, "cpu_per_iter"]
            printf "%-48s %10.4g %10.4g %9.4g %7.1fx %9.4g %7.1fx %12.8g %12.8g\n", label,
                v[1, "sec_per_iter"], v[2, "sec_per_iter"], r, 1 / r, c, 1 / c,
                v[1, "objective"], v[2, "objective"]
        }'
}

"$bin" gen symlin 1000 10 2 1 1 "$work/symlin"
"$bin" gen fmnist 60000 785 2 10 1 "$work/fmnist"

em_moem=$("$bin" fit linear 2 1 em "$iters" 1 "$threads" 1 0 "$work/symlin" "$work/resp.csv")
em_flex=$(Rscript "$here/flexmix.R" "$work/symlin.csv" 2 "$iters" "$work/resp.csv")
gd_moem=$("$bin" fit linear 2 1 gd "$iters" 0.5 "$threads" 0 0 "$work/symlin")
gd_torch=$("$py" "$here/torch_gd.py" "$work/symlin.bin" linear 2 1 "$iters" 0.5 "$threads")
fm_iters=$(( iters < 20 ? iters : 20 ))
fm_moem=$("$bin" fit softmax 2 10 gd "$fm_iters" 0.5 "$threads" 0 0 "$work/fmnist")
fm_torch=$("$py" "$here/torch_gd.py" "$work/fmnist.bin" softmax 2 10 "$fm_iters" 0.5 "$threads")

echo "threads=$threads iterations: $iters (Fashion-MNIST shape: $fm_iters); seconds per iteration (wall);"
echo "cpu: the same ratio in process CPU time (all threads), steadier on a shared machine"
printf "%-48s %10s %10s %9s %8s %9s %8s %12s %12s\n" comparison moem peer moem/peer speedup \
    cpu-ratio cpu-spd "moem L" "peer L"
row "EM symlin N=1000 d=10 K=2 vs flexmix" "$em_moem" "$em_flex"
row "GD symlin N=1000 d=10 K=2 vs torch" "$gd_moem" "$gd_torch"
row "GD fmnist-shape N=60000 d=785 C=10 K=2 vs torch" "$fm_moem" "$fm_torch"
