# Benchmark suite checks (targets defined in bench/CMakeLists.txt). Fast: a few seconds.
if(MOEM_BUILD_BENCH AND EXISTS ${CMAKE_SOURCE_DIR}/bench/CMakeLists.txt)
  # the C shim over Google Benchmark
  add_test(NAME bench_shim COMMAND moem_bench_shim_test)
  # every gate workload runs natively and succeeds (the callgrind gate itself is ci/bench-gate)
  add_test(NAME bench_gate_workloads COMMAND moem_bench_gate)
  # the timed suite runs end to end on shrunken problems without a skipped benchmark, with
  # every entry of every kernel table (BM_<kernel>/<isa>)
  add_test(NAME bench_suite_smoke COMMAND moem_bench --benchmark_min_time=0.001
           "--benchmark_filter=symlin|_lin/|triad|BM_exp|BM_(xm|atx|wgram|xm_cols|atx_cols|estep|softmax0_cols|to_rows)/")
  set_tests_properties(bench_suite_smoke PROPERTIES ENVIRONMENT "MOEM_BENCH_SMALL=1"
                       FAIL_REGULAR_EXPRESSION "ERROR OCCURRED")
  set_tests_properties(bench_shim bench_gate_workloads bench_suite_smoke PROPERTIES LABELS bench)
endif()
