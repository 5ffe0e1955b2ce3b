# Engine: objective, gradients, EM / Gradient EM / GD, M-steps, golden trajectories.
moem_test(test_engine SOURCES test_engine.c LABELS engine)
# float32 storage of X: trajectories against float64 on the same numbers, range errors, --precision.
moem_test(test_precision SOURCES test_precision.c LABELS engine)
