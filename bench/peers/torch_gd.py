"""PyTorch side of the peer comparison: full-batch gradient descent on the same mixture of
experts (softmax gate with the last row pinned to 0; linear experts with sigma^2 = 1, or softmax
experts of C classes), float64, from moem's start (gate 0, expert weights 0.1 sin(1 + index)).

usage: python3 torch_gd.py DATA.bin FAMILY K C ITERS LR THREADS
prints "torch gd iters=T sec_per_iter=S cpu_per_iter=U objective=L" (mean wall and process
CPU time of steps 2..T)."""
import math
import sys
import time

import numpy as np
import torch


def main(argv):
    if len(argv) != 8:
        sys.exit(__doc__)
    path, family, K, C, iters, lr, threads = argv[1], argv[2], int(argv[3]), int(argv[4]), \
        int(argv[5]), float(argv[6]), int(argv[7])
    torch.set_num_threads(threads)
    a = np.fromfile(path, dtype="<f8")
    n, d = int(a[0]), int(a[1])
    y = torch.from_numpy(a[2:2 + n].copy())
    X = torch.from_numpy(a[2 + n:2 + n + n * d].reshape(n, d).copy())
    P = C if family == "softmax" else 1
    W = torch.zeros(K - 1, d, dtype=torch.float64, requires_grad=True)
    B = torch.tensor(0.1 * np.sin(1.0 + np.arange(K * P * d)).reshape(K * P, d),
                     dtype=torch.float64, requires_grad=True)
    zero = torch.zeros(n, 1, dtype=torch.float64)
    yl = y.long().view(n, 1, 1).expand(n, K, 1)
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def objective():
        logpi = torch.log_softmax(torch.cat([X @ W.T, zero], 1), 1)       # n x K
        S = X @ B.T                                                        # n x K*P
        if family == "softmax":
            le = torch.log_softmax(S.view(n, K, C), 2).gather(2, yl).squeeze(2)
        else:
            le = -0.5 * (y.view(n, 1) - S) ** 2 - half_log_2pi
        return -torch.logsumexp(logpi + le, 1).mean()

    rest = first = crest = cfirst = 0.0
    for t in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        W.grad = None
        B.grad = None
        objective().backward()
        with torch.no_grad():
            W -= lr * W.grad
            B -= lr * B.grad
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if t == 0:
            first, cfirst = dt, dc
        else:
            rest, crest = rest + dt, crest + dc
    with torch.no_grad():
        L = objective().item()
    per = rest / (iters - 1) if iters > 1 else first
    cper = crest / (iters - 1) if iters > 1 else cfirst
    print(f"torch gd iters={iters} sec_per_iter={per:.6g} cpu_per_iter={cper:.6g} objective={L:.10g}")


if __name__ == "__main__":
    main(sys.argv)
