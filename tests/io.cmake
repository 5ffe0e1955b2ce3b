# Data and model files, synthetic data, `moem generate`.
moem_test(test_csv SOURCES test_csv.c LABELS io)
moem_test(test_model_io SOURCES test_model_io.c LABELS io)
moem_test(test_synth SOURCES test_synth.c LABELS io)
moem_test(test_cli_generate SOURCES test_cli_generate.c LABELS io cli)
add_dependencies(test_cli_generate moem)
