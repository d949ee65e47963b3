/* common/array.h - the one growth rule for dynamic arrays. */
#ifndef GOSSAMER_COMMON_ARRAY_H
#define GOSSAMER_COMMON_ARRAY_H

#include <stddef.h>

/* Make *arrp (a pointer to a T* variable, elements of `elem` bytes) hold at
 * least `need` elements: when *cap < need the array is realloc'ed to the
 * first of 16, 32, 64, ... that is >= need and *cap is updated.  New
 * elements are not initialised.  0, -ENOMEM or -EOVERFLOW (the array and
 * *cap are then unchanged). */
int gsc_grow(void *arrp, size_t *cap, size_t need, size_t elem);

#endif
