# Fashion-MNIST / CIFAR-10 loaders, the Newton-CG M-step and the fmnist experiment.
moem_test(test_idx SOURCES test_idx.c LABELS fmnist)
moem_test(test_cifar SOURCES test_cifar.c LABELS fmnist)
moem_test(test_fmnist_cg SOURCES test_fmnist_cg.c LABELS fmnist)
moem_test(test_fmnist_cli SOURCES test_fmnist_cli.c LABELS fmnist)
add_dependencies(test_fmnist_cli moem)
