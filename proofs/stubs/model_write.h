/* Force-included before engine/model_io.c (run model_write): the contract of the one engine
 * function of engine/model.c (not in the proof runs) that the writer calls. */
#ifndef MOEM_PROOF_MODEL_WRITE_H
#define MOEM_PROOF_MODEL_WRITE_H
#include "moem.h"

/* the family's name: a string constant */
/*@ assigns \result \from f;
    ensures name: valid_read_string(\result); */
const char *moem_family_name(moem_family f);
#endif
