# Kernel equivalence against the scalar oracle, MOEM_ISA forcing and whole-engine agreement,
# each registered once per ISA of this build (label = the ISA; a CPU without it skips).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  set(MOEM_TEST_ISAS scalar neon)
else()
  set(MOEM_TEST_ISAS scalar avx2 avx512)
endif()
add_executable(test_kernels test_kernels.c)
target_link_libraries(test_kernels PRIVATE moem_lib cmocka)
add_executable(test_isa test_isa.c)
target_link_libraries(test_isa PRIVATE moem_lib cmocka)
foreach(isa ${MOEM_TEST_ISAS})
  add_test(NAME test_kernels_${isa} COMMAND test_kernels ${isa})
  add_test(NAME test_isa_${isa} COMMAND test_isa ${isa})
  set_tests_properties(test_kernels_${isa} test_isa_${isa} PROPERTIES
    LABELS "simd;${isa}" ENVIRONMENT "MOEM_ISA=${isa}" SKIP_REGULAR_EXPRESSION "not supported by this")
endforeach()
add_test(NAME test_isa_bogus COMMAND test_isa bogus)
set_tests_properties(test_isa_bogus PROPERTIES LABELS "simd" ENVIRONMENT "MOEM_ISA=sse9")
