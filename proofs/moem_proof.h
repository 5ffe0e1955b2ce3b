/* Force-included (cpp -include) before every source file ci/proofs analyses.
 *
 * SMT provers are weak at non-linear integer arithmetic, and every row-major index needs one
 * non-linear fact: i < n implies i*d + d <= n*d. moem_mul_le is that fact as a ghost lemma
 * function: WP proves its contract once, and an annotation `//@ ghost moem_mul_le(i + 1, n, d);`
 * in a kernel hands the instance (i+1)*d <= n*d to the goals that follow, which then only need
 * linear arithmetic. Ghost code is a comment to the compiler. */
#ifndef MOEM_PROOF_H
#define MOEM_PROOF_H
/* the public header's export attribute (visibility, for the shared library) is nothing here */
#define MOEM_NO_VISIBILITY 1
#include <stddef.h>
#include <stdint.h>

/*@ ghost
  /@ requires a_le_b: a <= b;
     assigns \nothing;
     ensures mul_le: a * m <= b * m; @/
  static void moem_mul_le(size_t a, size_t b, size_t m) {}
*/

/* The same fact for a loop whose body is a single statement (no room for a ghost call): a
 * loop invariant `moem_mul(j, ld) + ld <= moem_mul(m, ld)` names the products through
 * moem_mul, whose terms let the provers instantiate moem_mul_row (at the invariant's
 * establishment) and the defining axiom (at each access). The axiom only names a * b. */
/*@ axiomatic MoemMul {
      logic integer moem_mul(integer a, integer b);
      axiom moem_mul_def: \forall integer a, b; moem_mul(a, b) == a * b;
    }
    lemma moem_mul_row: \forall integer a, b, m;
      0 <= a < b && 0 <= m ==> moem_mul(a, m) + m <= moem_mul(b, m);
    lemma moem_mul_mono: \forall integer a, b, m;
      0 <= a <= b && 0 <= m ==> moem_mul(a, m) <= moem_mul(b, m);
*/
#endif
