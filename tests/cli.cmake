# The moem command end to end.
moem_test(test_cli SOURCES test_cli.c LABELS cli)
add_dependencies(test_cli moem)
