"""Summarise moem_bench JSON files (ci/bench writes them): the measured machine limits, every
kernel's roofline fractions, and the per-iteration time of every algorithm.
usage: python3 bench/summary.py FILE.json..."""
import json
import sys


def rows(doc):
    """one row per benchmark: the mean aggregate where repetitions ran, else the run itself"""
    seen = {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            seen[b["run_name"]] = b
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "mean":
            continue
        if b.get("run_type") == "aggregate" or b["run_name"] not in seen:
            seen[b["run_name"]] = b
    return list(seen.values())


def secs(b, key="real_time"):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
    return b[key] * scale


def cpu_bound_frac(b, ctx):
    """roofline fraction in CPU time: the bound from the limits per CPU-second of each thread
    (context cpu_limit_*) over the process CPU time per thread"""
    isa = ctx.get("moem_isa", "scalar")
    threads = float(ctx.get("moem_threads", 1))
    lim = [(b.get("work_bytes", 0), ctx.get("cpu_limit_triad_bytes_per_s")),
           (b.get("work_exps", 0), ctx.get(f"cpu_limit_exp_per_s_{isa}")),
           (b.get("work_flops", 0), ctx.get(f"cpu_limit_flops_per_s_{isa}"))]
    t = max([w / float(r) for w, r in lim if r and float(r) > 0] or [0.0])
    c = secs(b, "cpu_time") / threads
    return t / c if c > 0 else 0.0


def main(paths):
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        ctx = doc["context"]
        print(f"== {path}: isa {ctx.get('moem_isa')}, {ctx.get('moem_threads')} threads, "
              f"{ctx.get('num_cpus')} cpus at {ctx.get('mhz_per_cpu')} MHz")
        lim = [f"triad {float(ctx.get('limit_triad_bytes_per_s', 0)) / 1e9:.3g} GB/s"]
        lim_cpu = [f"triad {float(ctx.get('cpu_limit_triad_bytes_per_s', 0)) / 1e9:.3g} GB/s"]
        for isa in ("scalar", "avx2", "avx512"):
            e = ctx.get(f"limit_exp_per_s_{isa}")
            if e:
                fl = float(ctx.get(f"limit_flops_per_s_{isa}", 0))
                lim.append(f"{isa}: {float(e) / 1e9:.3g} Gexp/s, {fl / 1e9:.3g} GFLOP/s")
                ec = float(ctx.get(f"cpu_limit_exp_per_s_{isa}", 0))
                fc = float(ctx.get(f"cpu_limit_flops_per_s_{isa}", 0))
                lim_cpu.append(f"{isa}: {ec / 1e9:.3g} Gexp/s, {fc / 1e9:.3g} GFLOP/s")
        print("   limits (wall): " + "; ".join(lim))
        print("   limits (cpu):  " + "; ".join(lim_cpu))
        kern, algo, other = [], [], []
        for b in sorted(rows(doc), key=lambda b: b["run_name"]):
            name = b["run_name"]
            if b.get("error_occurred"):
                other.append(f"   {name}: skipped: {b.get('error_message', '')}")
            elif "bound_frac" in b:
                kern.append(b)
            elif "ns_per_sample" in b:
                algo.append(b)
            else:
                rate = b.get("bytes_per_second") or b.get("exps_per_s") or b.get("flops_per_s") or 0
                other.append(f"   {name:52s} {rate / 1e9:10.3g} G/s")
        if kern:
            print(f"   {'kernel':52s} {'time':>10s} {'GB/s':>7s} {'ns/row':>8s} "
                  f"{'bw':>6s} {'exp':>6s} {'flop':>6s} {'bound':>6s} {'(cpu)':>6s}")
            for b in kern:
                cb = cpu_bound_frac(b, ctx)
                flag = "" if max(b["bound_frac"], cb) >= 0.5 else "  < 50% of bound"
                print(f"   {b['run_name']:52s} {secs(b) * 1e3:8.3f}ms "
                      f"{b.get('bytes_per_second', 0) / 1e9:7.2f} {b['ns_per_sample']:8.2f} "
                      f"{b['bw_frac']:6.1%} {b['exp_frac']:6.1%} {b['flop_frac']:6.1%} "
                      f"{b['bound_frac']:6.1%} {cb:6.1%}{flag}")
        if algo:
            print(f"   {'algorithm iteration':52s} {'time':>12s} {'cpu time':>12s} {'ns/row':>10s}")
            for b in algo:
                print(f"   {b['run_name']:52s} {secs(b) * 1e3:10.3f}ms "
                      f"{secs(b, 'cpu_time') * 1e3:10.3f}ms {b['ns_per_sample']:10.1f}")
        for line in other:
            print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
