# Reliability: hostile inputs, numerical edge cases, determinism, and the fuzz targets.
moem_test(test_bad_inputs SOURCES test_bad_inputs.c LABELS reliability cli)
add_dependencies(test_bad_inputs moem)
moem_test(test_numeric_edges SOURCES test_numeric_edges.c LABELS reliability engine)
moem_test(test_determinism SOURCES test_determinism.c LABELS reliability cli)
add_dependencies(test_determinism moem)

# Fuzz targets (tests/fuzz/fuzz_*.c). Every build replays the seed corpus and the regression
# inputs through each target (fuzz_replay_*); with -DMOEM_FUZZ=ON and clang (ci/fuzz, whose
# CMAKE_C_FLAGS carry -fsanitize=fuzzer-no-link,address,undefined) the libFuzzer binaries
# fuzz_* are built as well.
option(MOEM_FUZZ "Build the libFuzzer targets (clang)" OFF)
set(MOEM_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
foreach(t csv idx cifar model)
  add_executable(fuzz_replay_${t} fuzz/fuzz_${t}.c fuzz/fuzz_util.c fuzz/replay.c)
  target_link_libraries(fuzz_replay_${t} PRIVATE moem_lib)
  add_test(NAME fuzz_replay_${t} COMMAND fuzz_replay_${t}
           ${MOEM_FUZZ_DIR}/corpus/${t} ${MOEM_FUZZ_DIR}/regressions/${t})
  set_tests_properties(fuzz_replay_${t} PROPERTIES LABELS "reliability;fuzz")
  if(MOEM_FUZZ)
    add_executable(fuzz_${t} fuzz/fuzz_${t}.c fuzz/fuzz_util.c)
    target_link_libraries(fuzz_${t} PRIVATE moem_lib)
    target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer)
  endif()
endforeach()

# Issue 16 (Reliability II): one shell-driven regression test per case (tests/issue16.sh).
foreach(c 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17)
  add_test(NAME issue16_case${c} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/issue16.sh case${c} $<TARGET_FILE:moem>)
  set_tests_properties(issue16_case${c} PROPERTIES LABELS "reliability;cli")
endforeach()
