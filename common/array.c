/* common/array.c - see array.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"

int gsc_grow(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void *arr, *p;
	size_t nc;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > SIZE_MAX / 2)
			return -EOVERFLOW;
		nc *= 2;
	}
	if (elem && nc > SIZE_MAX / elem)
		return -EOVERFLOW;
	memcpy(&arr, arrp, sizeof(arr));
	p = realloc(arr, nc * elem);
	if (!p)
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = nc;
	return 0;
}

size_t gsc_lower_bound(size_t n, int (*cmp)(const void *ctx, size_t i), const void *ctx,
		       bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp(ctx, mid) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (found)
		*found = lo < n && cmp(ctx, lo) == 0;
	return lo;
}
