# Engine: objective, gradients, EM / Gradient EM / GD, M-steps, golden trajectories.
moem_test(test_engine SOURCES test_engine.c LABELS engine)
# float32 storage of X: trajectories against float64 on the same numbers, range errors, --precision.
moem_test(test_precision SOURCES test_precision.c LABELS engine)
# EM with inner gradient steps never raises L (synthetic models, a Fashion-MNIST subset) and
# catches a step that does not descend.
moem_test(test_inner_descent SOURCES test_inner_descent.c LABELS engine)
# The scratch pool that keeps a fit's blocks from one iteration to the next.
moem_test(test_pool SOURCES test_pool.c LABELS engine)
# The experiments and the random start as library calls (moem/experiment.h, moem/model.h).
moem_test(test_experiments SOURCES test_experiments.c LABELS engine)
# Using a fitted model: predictions of every kind against a computation by hand, posteriors,
# scores against the fit's objective, the parameter count, bad inputs.
moem_test(test_predict SOURCES test_predict.c LABELS engine)
