# Engine: objective, gradients, EM / Gradient EM / GD, M-steps, golden trajectories.
moem_test(test_engine SOURCES test_engine.c LABELS engine)
