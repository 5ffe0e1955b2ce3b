/* moem: mixtures of experts trained by EM, Gradient EM, gradient descent and mirror descent.
 *
 * Public C API (liblinear style): a problem (moem_data), a model (moem_model), parameters
 * (moem_params) checked by moem_check_params, and moem_fit, which fills a trace.
 * Library functions never print and never exit: they return 0 / NULL on success and write a
 * one-line message into a caller-provided buffer (err, errlen) otherwise.
 *
 * Installed as <moem/moem.h>, which includes every public header; each can also be included
 * alone:
 *   moem/core.h        the export macro, the release, the kernel table, the thread setting
 *   moem/data.h        moem_data: a data set in memory
 *   moem/model.h       moem_model: families, allocation, checks, a random start
 *   moem/evaluate.h    the objective, its gradient, the responsibilities
 *   moem/fit.h         algorithms, parameters, moem_fit and single steps
 *   moem/io.h          CSV data, JSON models, checkpoints
 *   moem/experiment.h  the paper's experiments (synthetic, Fashion-MNIST)
 * Link with libmoem (pkg-config moem, or CMake find_package(moem) and the target moem::moem).
 * Only the functions marked MOEM_API are exported by the shared library. */
#ifndef MOEM_H
#define MOEM_H

#include "core.h"
#include "data.h"
#include "model.h"
#include "evaluate.h"
#include "fit.h"
#include "io.h"
#include "experiment.h"

#endif
