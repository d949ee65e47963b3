/* common/array.h - the one growth rule for dynamic arrays. */
#ifndef GOSSAMER_COMMON_ARRAY_H
#define GOSSAMER_COMMON_ARRAY_H

#include <stdbool.h>
#include <stddef.h>

/* Make *arrp (a pointer to a T* variable, elements of `elem` bytes) hold at
 * least `need` elements: when *cap < need the array is realloc'ed to the
 * first of 16, 32, 64, ... that is >= need and *cap is updated.  New
 * elements are not initialised.  0, -ENOMEM or -EOVERFLOW (the array and
 * *cap are then unchanged). */
int gsc_grow(void *arrp, size_t *cap, size_t need, size_t elem);

/* Binary search over n sorted elements that only the caller can compare:
 * cmp(ctx, i) < 0 when the key sorts before element i, 0 when equal, > 0
 * after.  Returns the first position whose element is not below the key
 * (n when none), i.e. where the key is or would be inserted; *found (may be
 * NULL) tells whether the element there equals the key. */
size_t gsc_lower_bound(size_t n, int (*cmp)(const void *ctx, size_t i), const void *ctx,
		       bool *found);

#endif
