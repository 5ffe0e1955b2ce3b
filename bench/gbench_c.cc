// The C API of gbench_c.h over Google Benchmark 1.7.
#include "gbench_c.h"

#include <benchmark/benchmark.h>

#include <vector>

struct gbc_state {
    benchmark::State *s;
};

static benchmark::TimeUnit unit_of(int u)
{
    switch (u) {
    case GBC_US: return benchmark::kMicrosecond;
    case GBC_MS: return benchmark::kMillisecond;
    case GBC_S: return benchmark::kSecond;
    default: return benchmark::kNanosecond;
    }
}

extern "C" int gbc_register(const char *name, gbc_fn fn, void *ctx, const int64_t *args,
                            size_t nargs, int unit)
{
    if (!name || !fn || (nargs && !args)) return -1;
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, ctx](benchmark::State &s) {
            gbc_state st{&s};
            fn(&st, ctx);
        });
    if (nargs) b->Args(std::vector<int64_t>(args, args + nargs));
    b->MeasureProcessCPUTime()->UseRealTime()->Unit(unit_of(unit));
    return 0;
}

extern "C" int gbc_keep_running(gbc_state *st) { return st->s->KeepRunning(); }
extern "C" int64_t gbc_arg(const gbc_state *st, size_t i) { return st->s->range(i); }
extern "C" int64_t gbc_iterations(const gbc_state *st) { return (int64_t)st->s->iterations(); }
extern "C" void gbc_do_not_optimize(const void *p) { benchmark::DoNotOptimize(p); }
extern "C" void gbc_do_not_optimize_double(double v) { benchmark::DoNotOptimize(v); }
extern "C" void gbc_clobber_memory(void) { benchmark::ClobberMemory(); }
extern "C" void gbc_pause(gbc_state *st) { st->s->PauseTiming(); }
extern "C" void gbc_resume(gbc_state *st) { st->s->ResumeTiming(); }
extern "C" void gbc_set_bytes_processed(gbc_state *st, int64_t b) { st->s->SetBytesProcessed(b); }
extern "C" void gbc_set_items_processed(gbc_state *st, int64_t n) { st->s->SetItemsProcessed(n); }
extern "C" void gbc_set_label(gbc_state *st, const char *label) { st->s->SetLabel(label); }
extern "C" void gbc_skip_with_error(gbc_state *st, const char *msg) { st->s->SkipWithError(msg); }

extern "C" void gbc_counter(gbc_state *st, const char *name, double value, int flags)
{
    int f = benchmark::Counter::kDefaults;
    if (flags & GBC_RATE) f |= benchmark::Counter::kIsRate;
    if (flags & GBC_PER_ITER) f |= benchmark::Counter::kAvgIterations;
    if (flags & GBC_INVERT) f |= benchmark::Counter::kInvert;
    st->s->counters[name] = benchmark::Counter(value, (benchmark::Counter::Flags)f);
}

extern "C" void gbc_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value);
}

extern "C" int gbc_initialize(int *argc, char **argv)
{
    benchmark::Initialize(argc, argv);
    return benchmark::ReportUnrecognizedArguments(*argc, argv) ? -1 : 0;
}

extern "C" size_t gbc_run(void) { return benchmark::RunSpecifiedBenchmarks(); }
extern "C" void gbc_shutdown(void) { benchmark::Shutdown(); }
