# The moem command end to end.
moem_test(test_cli SOURCES test_cli.c LABELS cli)
add_dependencies(test_cli moem)
# The README's command examples, in order, as a script (so that they can never drift).
add_test(NAME readme_examples COMMAND ${CMAKE_SOURCE_DIR}/ci/readme-examples $<TARGET_FILE:moem>)
set_tests_properties(readme_examples PROPERTIES LABELS cli)
# moem predict and moem score: against the library, a file without y, their errors.
moem_test(test_cli_predict SOURCES test_cli_predict.c LABELS cli)
add_dependencies(test_cli_predict moem)
