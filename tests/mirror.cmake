# Mirror-descent reference: EM == unit-step mirror descent and the identities of MATH.md T1-T11.
# Each binary runs once per ISA (MOEM_ISA forced; a test skips itself when that ISA is not the
# active one).
foreach(t test_md_identities test_md_properties)
  moem_test(${t} SOURCES ${t}.c test_md_util.c LABELS mirror scalar ENV MOEM_ISA=scalar)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/engine)
  foreach(isa avx2 avx512)
    add_test(NAME ${t}_${isa} COMMAND ${t})
    set_tests_properties(${t}_${isa} PROPERTIES LABELS "mirror;${isa}" ENVIRONMENT MOEM_ISA=${isa}
      SKIP_REGULAR_EXPRESSION "not available \\(active:")
  endforeach()
endforeach()
moem_test(test_md_verify_cli SOURCES test_md_verify_cli.c LABELS mirror cli)
add_dependencies(test_md_verify_cli moem)
